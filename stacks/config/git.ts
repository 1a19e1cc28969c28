import { DerivationError, UrlProblem, checkRepoUrl, isDerivationError, validateRecipe } from "../../derive";
import { Obj, asObject, bool, dnsLabel, dnsSubdomain, duration, fail, onlyFields, optStr, str, strList, vaultPath } from "./readers";
import type { GitAuth, GitCredentialSpec } from "./types";

/**
 * Git credentials in stack config → the recipes derive/ accepts (formats tekton-git, argocd, kargo). No format is
 * re-implemented here: every derived secret is checked with derive's own validateRecipe at preview, and the URL
 * transport (which decides basic-auth vs ssh-auth) comes from derive's parseGitHost.
 */

/** One derived secret of a git credential: the recipe and where config decides it (pure data). */
export interface GitTarget {
    consumer: "tekton" | "argocd" | "kargo";
    /** Suffix of the Pulumi resource name: `tekton`, `argocd`, `argocd-1`, ... (the first URL keeps the plain name). */
    resource: string;
    format: "tekton-git" | "argocd" | "kargo";
    target: { namespace: string; name: string };
    /** derive/ options of the format, exactly as the provider wrappers send them. */
    options: Record<string, unknown>;
    /** Config key (below the credential) of the URL behind `options`, for messages. */
    urlKey: string;
}

/** `secretName` for the first URL, `secretName-<i>` after it: appending a URL never renames an existing secret. */
function nth(base: string, i: number): string {
    return i === 0 ? base : `${base}-${i}`;
}

/** Every derived secret a credential declares (pure), in a stable order. */
export function gitTargets(c: GitCredentialSpec): GitTarget[] {
    const out: GitTarget[] = [];
    if (c.tekton) {
        out.push({ consumer: "tekton", resource: "tekton", format: "tekton-git", target: { namespace: c.tekton.namespace, name: c.tekton.secretName }, options: { gitUrls: [...c.urls] }, urlKey: "urls" });
    }
    const a = c.argocd;
    if (a) {
        const one = (url: string) => ({ secretType: a.secretType, url, type: "git", ...(a.project !== undefined ? { project: a.project } : {}) });
        if (a.url !== undefined) out.push({ consumer: "argocd", resource: "argocd", format: "argocd", target: { namespace: a.namespace, name: a.secretName }, options: one(a.url), urlKey: "argocd.url" });
        else c.urls.forEach((u, i) => out.push({ consumer: "argocd", resource: nth("argocd", i), format: "argocd", target: { namespace: a.namespace, name: nth(a.secretName, i) }, options: one(u), urlKey: `urls[${i}]` }));
    }
    const k = c.kargo;
    if (k) {
        const one = (repoURL: string, isRegex: boolean) => ({ credType: "git", repoURL, repoURLIsRegex: isRegex });
        if (k.repoURL !== undefined) out.push({ consumer: "kargo", resource: "kargo", format: "kargo", target: { namespace: k.namespace, name: k.secretName }, options: one(k.repoURL, k.repoURLIsRegex), urlKey: "kargo.repoURL" });
        else c.urls.forEach((u, i) => out.push({ consumer: "kargo", resource: nth("kargo", i), format: "kargo", target: { namespace: k.namespace, name: nth(k.secretName, i) }, options: one(u, false), urlKey: `urls[${i}]` }));
    }
    return out;
}

/** A URL problem from derive/ (it never quotes the URL, which may hold credentials) as a ConfigError. */
function urlProblem(key: string, e: unknown): never {
    if (!(e instanceof UrlProblem)) throw e;
    const fix = e.code === "credentials-in-url" ? "remove the user:password@ part (the credential comes from Vault)" : 'write e.g. "https://github.com/org/repo.git" or "git@github.com:org/repo.git"';
    return fail(key, e.problem, fix);
}

function repoUrl(url: string, key: string): "http" | "ssh" {
    try {
        return checkRepoUrl(url, ["http", "ssh"]) as "http" | "ssh";
    } catch (e) {
        return urlProblem(key, e);
    }
}

/** derive's verdict on one recipe, re-keyed onto the config (its message minus the object prefix). */
function checkWithDerive(path: string, c: GitCredentialSpec, t: GitTarget): void {
    try {
        validateRecipe({ format: t.format, source: { namespace: c.sourceNamespace, name: c.name }, target: t.target, options: t.options });
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        const d = e as DerivationError;
        const where = d.key === undefined ? d.object : `${d.object} key "${d.key}"`;
        const problem = d.message.slice(`${where}: `.length).replace(/\. Fix: [\s\S]*$/, "");
        const key = d.key?.startsWith("options.")
            ? `${path}.${t.urlKey}`
            : d.key === "target.namespace"
              ? `${path}.${t.consumer}.namespace`
              : d.key?.startsWith("target")
                ? `${path}.${t.consumer}.secretName`
                : d.key?.startsWith("source")
                  ? `${path}.sourceNamespace`
                  : `${path}.${t.consumer}`;
        fail(key, `${t.consumer} secret ${t.target.namespace}/${t.target.name}: ${problem}`, d.fix);
    }
}

const FIELDS = ["name", "url", "urls", "vaultPath", "usernameProperty", "passwordProperty", "sshPrivateKeyProperty", "knownHostsProperty", "sourceNamespace", "refreshInterval", "tekton", "argocd", "kargo"];

/** A consumer block (tekton, argocd, kargo) as read: its object `t` and config key `p` (for its own fields), namespace and secretName. */
interface ConsumerBlock {
    t: Obj;
    p: string;
    namespace: string;
    secretName: string;
}

/** The credential's URLs (`url` or `urls`) and their one transport: present, not empty, each once, not mixing https and ssh. */
function gitUrls(o: Obj, path: string): { urls: string[]; transport: "http" | "ssh" } {
    if (o.url !== undefined && o.urls !== undefined) fail(`${path}.url`, "is set together with urls", "list every URL under urls and remove url");
    const urlsKey = o.url !== undefined ? "url" : "urls";
    if (o.url === undefined && o.urls === undefined) fail(`${path}.urls`, "is required", 'list the repository URLs, e.g. ["https://github.com/org/repo.git"]');
    const urls = o.url !== undefined ? [str(o, "url", path)] : strList(o, "urls", path);
    if (urls.length === 0) fail(`${path}.urls`, "is empty", "list at least one repository URL");
    const keyOf = (i: number) => (urlsKey === "url" ? `${path}.url` : `${path}.urls[${i}]`);
    const transports = urls.map((u, i) => repoUrl(u, keyOf(i)));
    urls.forEach((u, i) => {
        if (urls.indexOf(u) !== i) fail(keyOf(i), `repeats ${keyOf(urls.indexOf(u))}`, "list each URL once");
    });
    // One source secret serves every URL, and its type (basic-auth or ssh-auth) must suit each: no mixing.
    const mixed = transports.findIndex((t) => t !== transports[0]);
    if (mixed > 0) fail(keyOf(mixed), `is an ${transports[mixed]} URL but ${keyOf(0)} is ${transports[0]}; one credential is either https (username/password) or ssh (a key)`, "split them into two gitCredentials entries");
    return { urls, transport: transports[0] };
}

/** Refuses the Vault properties of the other transport: an ssh credential takes no username/password, an https one no key. */
function checkForeignProperties(o: Obj, path: string, auth: GitAuth): void {
    const foreign = auth === "ssh" ? ["usernameProperty", "passwordProperty"] : ["sshPrivateKeyProperty", "knownHostsProperty"];
    for (const f of foreign) {
        if (o[f] !== undefined) fail(`${path}.${f}`, `does not apply to ${auth === "ssh" ? "an ssh" : "an https"} credential (the URLs decide: ${auth === "ssh" ? "ssh URLs take a key" : "https URLs take username/password"})`, `remove ${f}, or use ${auth === "ssh" ? "https" : "ssh (git@host:org/repo)"} URLs`);
    }
}

/** The consumer block `f` of credential `name` with its namespace (default `defNs`) and secretName (default `<name>-<f>`); undefined when unset. */
function consumerBlock(o: Obj, path: string, name: string, f: "tekton" | "argocd" | "kargo", defNs: string, extra: string[] = []): ConsumerBlock | undefined {
    if (o[f] === undefined) return undefined;
    const p = `${path}.${f}`;
    const t = asObject(o[f], p);
    onlyFields(t, p, ["namespace", "secretName", ...extra]);
    return { t, p, namespace: dnsLabel(str(t, "namespace", p, defNs), `${p}.namespace`), secretName: dnsSubdomain(str(t, "secretName", p, `${name}-${f}`), `${p}.secretName`) };
}

/** The argocd spec: secretType, and the repo-creds URL prefix, which must be of the credential's `transport`. */
function argocdSpec(ac: ConsumerBlock, transport: "http" | "ssh"): NonNullable<GitCredentialSpec["argocd"]> {
    const secretType = str(ac.t, "secretType", ac.p, "repository");
    if (secretType !== "repository" && secretType !== "repo-creds") fail(`${ac.p}.secretType`, `"${secretType}" is not an Argo CD secret type`, "use repository (one secret per URL) or repo-creds (a credential template for argocd.url, a URL prefix)");
    const url = optStr(ac.t, "url", ac.p);
    if (secretType === "repo-creds" && url === undefined) fail(`${ac.p}.url`, "is required for repo-creds (the URL prefix the template serves)", 'set e.g. url: "https://github.com/example-org" (or git@github.com:example-org for ssh)');
    if (url !== undefined && repoUrl(url, `${ac.p}.url`) !== transport) fail(`${ac.p}.url`, `is not an ${transport} URL like the credential's urls`, "use the same kind of URL as urls");
    const project = optStr(ac.t, "project", ac.p);
    return { namespace: ac.namespace, secretName: ac.secretName, secretType, ...(url !== undefined ? { url } : {}), ...(project !== undefined ? { project } : {}) };
}

/** The kargo spec: an optional repoURL (a pattern with repoURLIsRegex); not for an ssh credential. */
function kargoSpec(kg: ConsumerBlock, auth: GitAuth): NonNullable<GitCredentialSpec["kargo"]> {
    // derive/formats/kargo.ts reads username/password or GitHub App keys only: an ssh key would be refused there.
    if (auth === "ssh") fail(`${kg.p}`, "Kargo credentials take username/password (or GitHub App keys), not an ssh key (derive/formats/kargo)", "remove kargo from this ssh credential, or add an https credential for Kargo");
    const repoURL = optStr(kg.t, "repoURL", kg.p);
    const isRegex = bool(kg.t, "repoURLIsRegex", kg.p, false);
    if (isRegex && repoURL === undefined) fail(`${kg.p}.repoURLIsRegex`, "is true without repoURL", "set repoURL to the pattern, or remove repoURLIsRegex");
    return { namespace: kg.namespace, secretName: kg.secretName, repoURLIsRegex: isRegex, ...(repoURL !== undefined ? { repoURL } : {}) };
}

/** Checks every derived secret with derive/ and that no two of them (or one and the source secret) share a namespace/name. */
function checkGitTargets(path: string, spec: GitCredentialSpec): void {
    const seen = new Map<string, string>([[`${spec.sourceNamespace}/${spec.name}`, "the source secret"]]);
    for (const t of gitTargets(spec)) {
        checkWithDerive(path, spec, t);
        const id = `${t.target.namespace}/${t.target.name}`;
        const prev = seen.get(id);
        if (prev) fail(`${path}.${t.consumer}.secretName`, `${t.consumer} secret ${id} is also ${prev}`, "give each consumer its own secretName or namespace");
        seen.set(id, `the ${t.consumer} secret`);
    }
}

export function gitCredential(v: unknown, path: string, defInterval: string, defSourceNs: string): GitCredentialSpec {
    const o = asObject(v, path);
    onlyFields(o, path, FIELDS);
    const name = dnsSubdomain(str(o, "name", path), `${path}.name`);
    const { urls, transport } = gitUrls(o, path);
    const auth: GitAuth = transport === "ssh" ? "ssh" : "basic";
    checkForeignProperties(o, path, auth);
    const tk = consumerBlock(o, path, name, "tekton", "tekton-pipelines");
    const ac = consumerBlock(o, path, name, "argocd", "argocd", ["project", "secretType", "url"]);
    const kg = consumerBlock(o, path, name, "kargo", "kargo", ["repoURL", "repoURLIsRegex"]);
    if (!tk && !ac && !kg) fail(`${path}.tekton`, "no consumer is set", "add tekton, argocd and/or kargo (each takes namespace and secretName)");
    const spec: GitCredentialSpec = {
        name,
        urls,
        auth,
        vaultPath: vaultPath(str(o, "vaultPath", path), `${path}.vaultPath`),
        usernameProperty: str(o, "usernameProperty", path, "username"),
        passwordProperty: str(o, "passwordProperty", path, "password"),
        sshPrivateKeyProperty: str(o, "sshPrivateKeyProperty", path, "ssh-privatekey"),
        ...(o.knownHostsProperty !== undefined ? { knownHostsProperty: str(o, "knownHostsProperty", path) } : {}),
        sourceNamespace: dnsLabel(str(o, "sourceNamespace", path, defSourceNs), `${path}.sourceNamespace`),
        refreshInterval: duration(str(o, "refreshInterval", path, defInterval), `${path}.refreshInterval`),
        tekton: tk && { namespace: tk.namespace, secretName: tk.secretName },
    };
    if (ac) spec.argocd = argocdSpec(ac, transport);
    if (kg) spec.kargo = kargoSpec(kg, auth);
    checkGitTargets(path, spec);
    return spec;
}

/** Every derived secret of every credential, for the stack-wide collision check: [config key, namespace/name]. */
export function gitTargetKeys(creds: GitCredentialSpec[]): [string, string][] {
    return creds.flatMap((c, i) => gitTargets(c).map((t): [string, string] => [`gitCredentials[${i}].${t.consumer}.secretName`, `${t.target.namespace}/${t.target.name}`]));
}
