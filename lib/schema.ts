/**
 * The product's one schema library is zod (issue 23 §4): the stack config's structured entries, the reconciler's
 * policy document and the hook lists are zod schemas, and this module turns zod's first issue into what every
 * error of the product says: WHERE (the key path), WHAT, and the FIX. Schemas state their own problem and fix as
 * `withFix(problem, fix)`; zod's built-in issues (a missing field, a wrong type, an unknown key) get a fix here, so
 * no schema has to repeat "quote the value".
 *
 * Values are never echoed: an issue's input is used only to tell "missing" from "wrong type" (a stack's documents
 * may hold a CA or a token in a field next to the one that is wrong).
 */
import { z } from "zod";

export { z };

/** The separator between a problem and its fix, the form of every configuration error of the product. */
export const FIX_SEPARATOR = "; fix: ";

/** A refinement's message: what is wrong and how to fix it. */
export function withFix(problem: string, fix: string): string {
    return `${problem}${FIX_SEPARATOR}${fix}`;
}

/** One problem of a document: the path of the offending key, what is wrong, and the fix. */
export interface SchemaProblem {
    path: PropertyKey[];
    problem: string;
    fix: string;
}

/** `a[0].b` for ["a", 0, "b"]; "" for the document itself. */
export function formatPath(path: readonly PropertyKey[], base = ""): string {
    let out = base;
    for (const seg of path) {
        if (typeof seg === "number") out += `[${seg}]`;
        else out += out ? `.${String(seg)}` : String(seg);
    }
    return out;
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

/** The candidate at most 3 edits away from `needle`, if any. */
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

/** The fix for an unknown field: the closest allowed name, and the list. */
export function unknownFieldFix(key: string, allowed: readonly string[]): string {
    const hint = closest(key, allowed);
    return hint ? `did you mean "${hint}"? (allowed: ${allowed.join(", ")})` : `remove it (allowed: ${allowed.join(", ")})`;
}

/**
 * An object that refuses fields it does not know (a typo must fail, not silently take the default), with a
 * "did you mean" fix computed from its own shape; `notAnObject` (a `withFix` message) replaces "must be an object".
 */
export function closedObject<S extends z.core.$ZodLooseShape>(shape: S, notAnObject?: string): z.ZodObject<S, z.core.$strict> {
    const allowed = Object.keys(shape);
    return z.strictObject(shape, {
        error: (iss) => {
            if (iss.code === "unrecognized_keys") return withFix("unknown field", unknownFieldFix(String(iss.keys[0]), allowed));
            return iss.code === "invalid_type" ? notAnObject : undefined;
        },
    });
}

const TYPE_WORDS: Record<string, [problem: string, fix: string]> = {
    string: ["must be a string", "quote the value"],
    number: ["must be a number", "write a number"],
    int: ["must be an integer", "write a whole number"],
    boolean: ["must be true or false", "write true or false"],
    array: ["must be a list", "write it as a list (a YAML sequence or a JSON array)"],
    object: ["must be an object", "write it as a mapping (a YAML mapping or a JSON object)"],
};

function split(message: string): [string, string] | undefined {
    const at = message.indexOf(FIX_SEPARATOR);
    return at < 0 ? undefined : [message.slice(0, at), message.slice(at + FIX_SEPARATOR.length)];
}

/** What the product says for one zod issue. */
export function describeIssue(issue: z.core.$ZodIssue): SchemaProblem {
    const path = [...issue.path];
    const own = split(issue.message);
    if (issue.code === "unrecognized_keys") {
        path.push(issue.keys[0]);
        return { path, problem: own?.[0] ?? "unknown field", fix: own?.[1] ?? "remove it" };
    }
    if (own) return { path, problem: own[0], fix: own[1] };
    const field = String(path[path.length - 1] ?? "it");
    switch (issue.code) {
        case "invalid_type": {
            if (issue.input === undefined) return { path, problem: "is required", fix: `set ${field}` };
            const [problem, fix] = TYPE_WORDS[issue.expected] ?? [`must be ${issue.expected}`, `write ${issue.expected}`];
            return { path, problem, fix };
        }
        case "invalid_value":
            return { path, problem: "is not an allowed value", fix: `use one of ${issue.values.map(String).join(", ")}` };
        case "too_small":
            if (issue.origin === "string") return { path, problem: "must not be empty", fix: `set ${field}` };
            if (issue.origin === "array") return { path, problem: "is empty", fix: "list at least one entry" };
            return { path, problem: `must be >= ${String(issue.minimum)}`, fix: `set ${field} to ${String(issue.minimum)} or more` };
        case "too_big":
            if (issue.origin === "string" || issue.origin === "array") return { path, problem: `is longer than ${String(issue.maximum)}`, fix: "shorten it" };
            return { path, problem: `must be <= ${String(issue.maximum)}`, fix: `set ${field} to ${String(issue.maximum)} or less` };
        case "invalid_union":
            return { path, problem: "matches none of the allowed forms", fix: "see the documented forms of this key" };
        default:
            return { path, problem: issue.message, fix: "see the documented form of this key" };
    }
}

/**
 * Parses `value` with `schema`; on failure calls `fail` with the first problem (zod reports in document order, and
 * one clear error beats a list). `fail` throws the caller's typed error.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, fail: (p: SchemaProblem) => never, at: readonly PropertyKey[] = []): z.output<S> {
    const r = schema.safeParse(value, { reportInput: true });
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    // `at`: where `value` sits in its document (one field read on its own still names itself in "set <field>").
    return fail(describeIssue(at.length ? { ...issue, path: [...at, ...issue.path] } : issue));
}

/**
 * One schema per key, built on first use: schemas that take parameters (a default, a minimum) are built once per
 * distinct parameters instead of once per read.
 */
export function memoize<A extends unknown[], T>(build: (...args: A) => T): (...args: A) => T {
    const cache = new Map<string, T>();
    return (...args: A): T => {
        const key = JSON.stringify(args);
        let v = cache.get(key);
        if (v === undefined) {
            v = build(...args);
            cache.set(key, v);
        }
        return v;
    };
}
