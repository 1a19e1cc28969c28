import { ANNOTATION_FAN_OUT } from "./constants";
import { DerivationError } from "./errors";
import { objectKey } from "./source";
import { FORMATS, Format, Recipe, SecretLike } from "./types";
import { validateRecipe } from "./recipe";

/**
 * One entry of the SOURCE secret's fan-out annotation: derive `format` into each namespace of `namespaces`
 * and/or each namespace matching `namespaceSelector` (Kubernetes label-selector syntax), named `targetName`
 * (default: the source's name).
 */
export interface FanOutSpec {
    format: Format;
    targetName?: string;
    namespaces?: string[];
    namespaceSelector?: string;
    options?: Record<string, unknown>;
}

/**
 * What one source's fan-out annotation may ask for (issue 21 §2). Why caps: the plan is rebuilt on every change of the
 * source, its dependants, namespaces and policy; a tenant's 229 KB selector or ten thousand entries would stall the
 * event loop past the Lease for every namespace. Past a cap the source is refused, naming the cap and the fix.
 */
export const FAN_OUT_LIMITS = { annotationBytes: 16 * 1024, entries: 32, namespacesPerEntry: 256, selectorChars: 1024, targets: 512 } as const;

/** One requirement of a label selector, as the apiserver evaluates it (every requirement ANDed). */
export type Requirement =
    | { op: "in" | "notin"; key: string; values: string[] }
    | { op: "exists" | "!exists"; key: string };

/** The structured form (`matchLabels` + `matchExpressions`, as in a namespaceSelector) as requirements. */
export function requirementsOf(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[] }): Requirement[] {
    const reqs: Requirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({ op: "in", key, values: [v] }));
    for (const e of sel.matchExpressions ?? []) {
        switch (e.operator) {
            case "In":
                reqs.push({ op: "in", key: e.key, values: e.values ?? [] });
                break;
            case "NotIn":
                reqs.push({ op: "notin", key: e.key, values: e.values ?? [] });
                break;
            case "Exists":
                reqs.push({ op: "exists", key: e.key });
                break;
            case "DoesNotExist":
                reqs.push({ op: "!exists", key: e.key });
                break;
            default: {
                const never: never = e.operator;
                throw new Error(`unknown selector operator ${String(never)}`);
            }
        }
    }
    return reqs;
}

const KEY = "[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?";
const VALUE = "([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?";

/** Parses a label selector ("a=b,c!=d,e in (x,y),!f"). Throws Error naming the offending term. */
export function parseLabelSelector(selector: string): Requirement[] {
    // Kubernetes keys and values are at most 317 and 63 characters; a longer selector is an attack on the parser.
    if (selector.length > FAN_OUT_LIMITS.selectorChars) throw new Error(`selector is ${selector.length} characters, more than ${FAN_OUT_LIMITS.selectorChars}`);
    const terms: string[] = [];
    let depth = 0;
    let cur = "";
    for (const ch of selector) {
        if (ch === "(") depth++;
        if (ch === ")") depth--;
        if (ch === "," && depth === 0) {
            terms.push(cur);
            cur = "";
        } else cur += ch;
    }
    terms.push(cur);
    return terms.map((raw) => {
        const t = raw.trim();
        let m: RegExpExecArray | null;
        if ((m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`).exec(t))) {
            return { op: m[3] === "!=" ? "notin" : "in", key: m[1], values: [m[4]] } as Requirement;
        }
        if ((m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(t))) {
            const values = m[4].split(",").map((v) => v.trim());
            if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) throw new Error(`invalid value in selector term "${t}"`);
            return { op: m[3] as "in" | "notin", key: m[1], values };
        }
        if ((m = new RegExp(`^!\\s*(${KEY})$`).exec(t))) return { op: "!exists", key: m[1] };
        if ((m = new RegExp(`^(${KEY})$`).exec(t))) return { op: "exists", key: m[1] };
        throw new Error(`invalid selector term "${t}"`);
    });
}

/** Whether `labels` match `selector` (same semantics as the apiserver; "" matches everything). */
export function matchesLabelSelector(labels: Record<string, string> | undefined, selector: string): boolean {
    return compileLabelSelector(selector)(labels);
}

/** `selector` parsed once, for matching many label sets (a plan over every namespace). Throws like parseLabelSelector. */
export function compileLabelSelector(selector: string): (labels: Record<string, string> | undefined) => boolean {
    if (selector.trim() === "") return () => true;
    const reqs = parseLabelSelector(selector);
    return (labels) => matchRequirements(labels ?? {}, reqs);
}

/** The one label-selector matcher (string selectors, structured selectors and fan-out plans all end here). */
export function matchRequirements(l: Record<string, string>, reqs: readonly Requirement[]): boolean {
    return reqs.every((r) => {
        const has = Object.prototype.hasOwnProperty.call(l, r.key);
        switch (r.op) {
            case "exists":
                return has;
            case "!exists":
                return !has;
            case "in":
                return has && r.values.includes(l[r.key]);
            case "notin":
                return !has || !r.values.includes(l[r.key]);
            default: {
                const never: never = r;
                throw new Error(`unreachable ${String(never)}`);
            }
        }
    });
}

/** The fan-out specs a source declares; [] when none. Throws DerivationError when the annotation is malformed. */
export function fanOutFromSource(source: SecretLike): FanOutSpec[] {
    const raw = source.metadata.annotations?.[ANNOTATION_FAN_OUT];
    if (raw === undefined) return [];
    const object = objectKey(source.metadata);
    const bad = (problem: string): never => {
        throw new DerivationError({ object, key: `annotations.${ANNOTATION_FAN_OUT}`, code: "invalid-json", problem, fix: 'set it to a JSON array like [{"format":"mirror","namespaceSelector":"team=a"}]' });
    };
    const tooLarge = (problem: string): never => {
        throw new DerivationError({ object, key: `annotations.${ANNOTATION_FAN_OUT}`, code: "too-large", problem, fix: "select the target namespaces with one namespaceSelector (a label the administrator sets) instead of listing them, or split the source" });
    };
    if (raw.length > FAN_OUT_LIMITS.annotationBytes) tooLarge(`the annotation is ${raw.length} bytes, more than ${FAN_OUT_LIMITS.annotationBytes}`);
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch {
        return bad("the annotation is not valid JSON");
    }
    if (!Array.isArray(parsed)) return bad("the annotation is not a JSON array");
    if (parsed.length > FAN_OUT_LIMITS.entries) tooLarge(`the annotation has ${parsed.length} entries, more than ${FAN_OUT_LIMITS.entries}`);
    return parsed.map((e, i) => {
        if (typeof e !== "object" || e === null) return bad(`entry ${i} is not an object`);
        const s = e as Record<string, unknown>;
        if (!(FORMATS as readonly unknown[]).includes(s.format)) return bad(`entry ${i} has an unknown format`);
        if (s.namespaces !== undefined && (!Array.isArray(s.namespaces) || s.namespaces.some((n) => typeof n !== "string"))) return bad(`entry ${i}: namespaces must be an array of names`);
        if (Array.isArray(s.namespaces) && s.namespaces.length > FAN_OUT_LIMITS.namespacesPerEntry) tooLarge(`entry ${i} lists ${s.namespaces.length} namespaces, more than ${FAN_OUT_LIMITS.namespacesPerEntry}`);
        if (s.namespaceSelector !== undefined) {
            if (typeof s.namespaceSelector !== "string") return bad(`entry ${i}: namespaceSelector must be a string`);
            if (s.namespaceSelector.length > FAN_OUT_LIMITS.selectorChars) tooLarge(`entry ${i}: namespaceSelector is ${s.namespaceSelector.length} characters, more than ${FAN_OUT_LIMITS.selectorChars}`);
            try {
                parseLabelSelector(s.namespaceSelector);
            } catch {
                return bad(`entry ${i}: namespaceSelector is not a valid label selector`);
            }
        }
        if (s.namespaces === undefined && s.namespaceSelector === undefined) return bad(`entry ${i} names neither namespaces nor namespaceSelector`);
        if (s.targetName !== undefined && typeof s.targetName !== "string") return bad(`entry ${i}: targetName must be a string`);
        if (s.options !== undefined && (typeof s.options !== "object" || s.options === null || Array.isArray(s.options))) return bad(`entry ${i}: options must be an object`);
        return s as unknown as FanOutSpec;
    });
}

/** The validated recipes a fan-out spec yields for the given target namespaces (the source's own namespace excluded when the names collide). */
export function recipesForFanOut(source: SecretLike, spec: FanOutSpec, namespaces: readonly string[]): Recipe[] {
    const srcRef = { namespace: source.metadata.namespace ?? "", name: source.metadata.name ?? "" };
    const name = spec.targetName ?? srcRef.name;
    return [...new Set(namespaces)]
        .sort()
        .filter((ns) => !(ns === srcRef.namespace && name === srcRef.name))
        .map((ns) => validateRecipe({ format: spec.format, source: srcRef, target: { namespace: ns, name }, options: spec.options ?? {} }));
}
