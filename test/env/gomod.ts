/**
 * Pure go.mod handling for the wrapper-module build technique: a throwaway module requires the target at a pinned
 * version and copies the target's `replace` directives, because `replace` only takes effect in the main module.
 * A target's local-path replaces (`k8s.io/api => ./staging/src/k8s.io/api`) cannot be copied verbatim (the path is
 * relative to a checkout we do not have), so each is rewritten to the published module at a version.
 */

export interface GoModRequire {
    path: string;
    version: string;
    indirect: boolean;
}

export interface GoModReplace {
    from: string;
    /** Set when the directive only replaces one version (`a v1.1.1 => b v1.1.1`). */
    fromVersion?: string;
    to: string;
    /** Undefined when `to` is a local directory. */
    toVersion?: string;
}

export interface GoMod {
    module: string;
    go?: string;
    requires: GoModRequire[];
    replaces: GoModReplace[];
}

function stripComment(line: string): { code: string; comment: string } {
    const i = line.indexOf("//");
    if (i < 0) return { code: line.trim(), comment: "" };
    return { code: line.slice(0, i).trim(), comment: line.slice(i + 2).trim() };
}

function unquote(tok: string): string {
    return tok.startsWith('"') && tok.endsWith('"') ? tok.slice(1, -1) : tok;
}

function parseReplace(body: string, lineNo: number): GoModReplace {
    const [left, right] = body.split("=>").map((s) => s.trim());
    if (left === undefined || right === undefined || body.split("=>").length !== 2) {
        throw new Error(`go.mod line ${lineNo}: malformed replace "${body}"; expected "from [version] => to [version]"`);
    }
    const l = left.split(/\s+/).map(unquote);
    const r = right.split(/\s+/).map(unquote);
    if (l.length > 2 || r.length > 2 || !l[0] || !r[0]) {
        throw new Error(`go.mod line ${lineNo}: malformed replace "${body}"`);
    }
    return { from: l[0], fromVersion: l[1], to: r[0], toVersion: r[1] };
}

function parseRequire(body: string, comment: string, lineNo: number): GoModRequire {
    const t = body.split(/\s+/).map(unquote);
    if (t.length !== 2 || !t[0] || !t[1]) throw new Error(`go.mod line ${lineNo}: malformed require "${body}"`);
    return { path: t[0], version: t[1], indirect: /\bindirect\b/.test(comment) };
}

/** Parses the parts of a go.mod file the wrapper build needs: module, go, require and replace (single and blocks). */
export function parseGoMod(text: string): GoMod {
    const mod: GoMod = { module: "", requires: [], replaces: [] };
    let block: "require" | "replace" | "other" | undefined;
    text.split(/\r?\n/).forEach((raw, idx) => {
        const lineNo = idx + 1;
        const { code, comment } = stripComment(raw);
        if (!code) return;
        if (block) {
            if (code === ")") {
                block = undefined;
                return;
            }
            if (block === "require") mod.requires.push(parseRequire(code, comment, lineNo));
            else if (block === "replace") mod.replaces.push(parseReplace(code, lineNo));
            return;
        }
        const m = /^(\w+)\s*(.*)$/.exec(code);
        if (!m) return;
        const [, verb, rest] = m as unknown as [string, string, string];
        if (rest === "(") {
            block = verb === "require" ? "require" : verb === "replace" ? "replace" : "other";
            return;
        }
        switch (verb) {
            case "module":
                mod.module = unquote(rest);
                break;
            case "go":
                mod.go = rest;
                break;
            case "require":
                mod.requires.push(parseRequire(rest, comment, lineNo));
                break;
            case "replace":
                mod.replaces.push(parseReplace(rest, lineNo));
                break;
            default:
                break; // toolchain, godebug, exclude, retract, tool: irrelevant to the wrapper
        }
    });
    if (!mod.module) throw new Error("go.mod has no module directive; is this a go.mod file?");
    return mod;
}

export function isLocalPath(p: string): boolean {
    return p.startsWith("./") || p.startsWith("../") || p.startsWith("/");
}

/**
 * Decides the version a local-path replace of `module` is rewritten to, or `undefined` to drop the directive
 * (e.g. etcd's `=> ./FORBIDDEN_DEPENDENCY` guards).
 */
export type LocalReplaceResolver = (module: string, required: string | undefined) => string | undefined;

/**
 * The default resolver: the version the target itself requires, unless it is the `v0.0.0` placeholder that
 * monorepos with staging directories use (Kubernetes), in which case `placeholder(module)` decides.
 */
export function requiredVersionResolver(placeholder: (module: string) => string | undefined = () => undefined): LocalReplaceResolver {
    return (module, required) => {
        if (required === undefined) return placeholder(module);
        if (/^v0\.0\.0(-|$)/.test(required)) return placeholder(module);
        return required;
    };
}

/** Kubernetes publishes each staging module as v0.<minor>.<patch> of the release v1.<minor>.<patch>. */
export function kubernetesStagingVersion(kubeVersion: string): string {
    const m = /^v1\.(\d+)\.(\d+)$/.exec(kubeVersion);
    if (!m) throw new Error(`Kubernetes version "${kubeVersion}" is not of the form v1.<minor>.<patch>`);
    return `v0.${m[1]}.${m[2]}`;
}

/** The replace directives a wrapper module must carry for `target`: local paths rewritten, others copied. */
export function wrapperReplaces(target: GoMod, resolve: LocalReplaceResolver): GoModReplace[] {
    const required = new Map(target.requires.map((r) => [r.path, r.version]));
    const out: GoModReplace[] = [];
    for (const r of target.replaces) {
        if (!isLocalPath(r.to)) {
            out.push({ ...r });
            continue;
        }
        const version = resolve(r.from, required.get(r.from));
        if (version === undefined) continue;
        // The replaced module is the published one at `version`: same path, so no directory is needed.
        out.push({ from: r.from, fromVersion: r.fromVersion, to: r.from, toVersion: version });
    }
    return out;
}

export interface WrapperSpec {
    /** Module path of the throwaway wrapper. */
    module: string;
    /** go directive; must be at least the target's. */
    go: string;
    requires: { path: string; version: string }[];
    replaces: GoModReplace[];
}

function renderReplace(r: GoModReplace): string {
    const left = r.fromVersion ? `${r.from} ${r.fromVersion}` : r.from;
    const right = r.toVersion ? `${r.to} ${r.toVersion}` : r.to;
    return `${left} => ${right}`;
}

/** Renders the wrapper's go.mod. */
export function renderWrapperGoMod(spec: WrapperSpec): string {
    const lines = [`module ${spec.module}`, "", `go ${spec.go}`, ""];
    if (spec.requires.length) {
        lines.push("require (");
        for (const r of spec.requires) lines.push(`\t${r.path} ${r.version}`);
        lines.push(")", "");
    }
    if (spec.replaces.length) {
        lines.push("replace (");
        for (const r of spec.replaces) lines.push(`\t${renderReplace(r)}`);
        lines.push(")", "");
    }
    return lines.join("\n");
}

/** Compares two go directive versions ("1.24", "1.24.0", "1.25.3"); negative when a < b. */
export function compareGoVersions(a: string, b: string): number {
    const pa = a.split(".").map(Number);
    const pb = b.split(".").map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const d = (pa[i] ?? 0) - (pb[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}

/** The larger of several go directives; the wrapper needs the maximum of its targets'. */
export function maxGoVersion(versions: (string | undefined)[]): string {
    let best = "1.22";
    for (const v of versions) if (v && compareGoVersions(v, best) > 0) best = v;
    return best;
}
