import { isDnsLabel, isDnsSubdomain, matchRequirements, requirementsOf } from "../../derive";
import { ConfigError, configKey } from "./errors";
import type { LabelSelector, LabelSelectorRequirement, RefreshPolicy } from "./types";
import { REFRESH_POLICIES } from "./types";

/** Field readers over the JSON config: each throws a ConfigError naming the full key path and the fix. */
export type Obj = Record<string, unknown>;

const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const VAULT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/** `path.field`, or just `field` at the top level. */
export function join(path: string, f: string): string {
    return path ? `${path}.${f}` : f;
}

export function fail(path: string, problem: string, fix: string): never {
    throw new ConfigError(configKey(path), problem, fix);
}

/** Levenshtein distance, for "did you mean" hints on misspelt keys. */
export function editDistance(x: string, y: string): number {
    const d: number[] = Array.from({ length: y.length + 1 }, (_, j) => j);
    for (let i = 1; i <= x.length; i++) {
        let prev = d[0];
        d[0] = i;
        for (let j = 1; j <= y.length; j++) {
            const tmp = d[j];
            d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (x[i - 1].toLowerCase() === y[j - 1].toLowerCase() ? 0 : 1));
            prev = tmp;
        }
    }
    return d[y.length];
}

export function closest(needle: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestD = 4;
    for (const c of candidates) {
        const dist = editDistance(needle, c);
        if (dist < bestD) {
            bestD = dist;
            best = c;
        }
    }
    return best;
}

/** Rejects fields the schema does not know, so a typo fails preview instead of silently taking the default. */
export function onlyFields(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
        if (!allowed.includes(k)) {
            const hint = closest(k, allowed);
            fail(`${path}.${k}`, "unknown field", hint ? `did you mean "${hint}"? (allowed: ${allowed.join(", ")})` : `remove it (allowed: ${allowed.join(", ")})`);
        }
    }
}

export function asObject(v: unknown, path: string): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(path, "must be an object", "write it as a YAML mapping");
    return v as Obj;
}

export function asArray(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) fail(path, "must be a list", "write it as a YAML sequence");
    return v;
}

export function str(o: Obj, f: string, path: string, def?: string): string {
    const v = o[f];
    if (v === undefined || v === null) {
        if (def !== undefined) return def;
        fail(join(path, f), "is required", `set ${f}`);
    }
    if (typeof v !== "string") fail(join(path, f), "must be a string", "quote the value");
    return v;
}

export function optStr(o: Obj, f: string, path: string): string | undefined {
    return o[f] === undefined || o[f] === null ? undefined : str(o, f, path);
}

export function int(o: Obj, f: string, path: string, def: number, min = 0): number {
    const v = o[f] ?? def;
    const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isInteger(n)) fail(join(path, f), "must be an integer", `set ${f} to a whole number`);
    if (n < min) fail(join(path, f), `must be >= ${min}`, `set ${f} to ${min} or more`);
    return n;
}

export function bool(o: Obj, f: string, path: string, def: boolean): boolean {
    const v = o[f] ?? def;
    if (v === "true" || v === "false") return v === "true";
    if (typeof v !== "boolean") fail(join(path, f), "must be true or false", `set ${f}: true or ${f}: false`);
    return v;
}

export function strList(o: Obj, f: string, path: string): string[] {
    const v = o[f] ?? [];
    return asArray(v, join(path, f)).map((x, idx) => {
        if (typeof x !== "string") fail(`${path}.${f}[${idx}]`, "must be a string", "quote the value");
        return x;
    });
}

export function dnsLabel(v: string, path: string): string {
    if (!isDnsLabel(v)) fail(path, `"${v}" is not a DNS-1123 label`, "use lower-case letters, digits and '-', at most 63 characters");
    return v;
}

export function dnsSubdomain(v: string, path: string): string {
    if (!isDnsSubdomain(v)) fail(path, `"${v}" is not a DNS-1123 subdomain`, "use lower-case letters, digits, '-' and '.'");
    return v;
}

export function duration(v: string, path: string): string {
    if (!DURATION.test(v)) fail(path, `"${v}" is not a Go duration`, 'write e.g. "1h", "30m" or "0s"');
    return v;
}

export function vaultPath(v: string, path: string): string {
    if (!VAULT_PATH.test(v)) fail(path, `"${v}" is not a Vault path relative to the KV mount`, 'write e.g. "dns/powerdns-api-key" (no leading "/", no mount, no "data/")');
    return v;
}

export function refreshPolicy(o: Obj, f: string, path: string, def: RefreshPolicy): RefreshPolicy {
    const v = str(o, f, path, def);
    if (!(REFRESH_POLICIES as readonly string[]).includes(v)) fail(join(path, f), `"${v}" is not a refresh policy`, `use one of ${REFRESH_POLICIES.join(", ")}`);
    return v as RefreshPolicy;
}

export function labelMap(v: unknown, path: string): Record<string, string> {
    const o = asObject(v ?? {}, path);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
        if (!LABEL_KEY.test(k)) fail(`${path}.${k}`, "is not a valid label key", "use [prefix/]name with letters, digits, '-', '_', '.'");
        if (typeof val !== "string" || val.length > 63 || !LABEL_VALUE.test(val)) {
            fail(`${path}.${k}`, "is not a valid label value", 'quote it (e.g. "true"); letters, digits, "-", "_", ".", at most 63 characters');
        }
        out[k] = val;
    }
    return out;
}

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

export function labelSelector(v: unknown, path: string): LabelSelector {
    const o = asObject(v, path);
    onlyFields(o, path, ["matchLabels", "matchExpressions"]);
    const sel: LabelSelector = {};
    if (o.matchLabels !== undefined) sel.matchLabels = labelMap(o.matchLabels, `${path}.matchLabels`);
    if (o.matchExpressions !== undefined) {
        sel.matchExpressions = asArray(o.matchExpressions, `${path}.matchExpressions`).map((e, idx) => {
            const p = `${path}.matchExpressions[${idx}]`;
            const eo = asObject(e, p);
            onlyFields(eo, p, ["key", "operator", "values"]);
            const key = str(eo, "key", p);
            if (!LABEL_KEY.test(key)) fail(`${p}.key`, "is not a valid label key", "use [prefix/]name");
            const operator = str(eo, "operator", p);
            if (!(OPERATORS as readonly string[]).includes(operator)) fail(`${p}.operator`, `"${operator}" is not a selector operator`, `use one of ${OPERATORS.join(", ")}`);
            const values = strList(eo, "values", p);
            const needsValues = operator === "In" || operator === "NotIn";
            if (needsValues && values.length === 0) fail(`${p}.values`, `must be non-empty for ${operator}`, "list at least one value");
            if (!needsValues && values.length > 0) fail(`${p}.values`, `must be empty for ${operator}`, "remove values");
            const req: LabelSelectorRequirement = { key, operator: operator as LabelSelectorRequirement["operator"] };
            if (needsValues) req.values = values;
            return req;
        });
    }
    if (!sel.matchLabels && !sel.matchExpressions?.length) {
        fail(path, "selects every namespace", "give matchLabels or matchExpressions (an empty selector would fan a secret out cluster-wide)");
    }
    return sel;
}

/** Does a namespace with these labels match the selector (Kubernetes semantics: everything ANDed)? derive's one matcher. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
    return matchRequirements(labels, requirementsOf(sel));
}
