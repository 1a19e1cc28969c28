import { createHash } from "node:crypto";

/** JSON with object keys sorted at every level: equal values always give equal strings. */
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
        return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    return JSON.stringify(value);
}

/**
 * JSON.stringify, then the escapes Go's encoding/json adds (`<`, `>`, `&`, U+2028, U+2029 as \u escapes; control
 * characters are already escaped the same way by both). Why: ESO renders the same formats from Go templates with
 * sprig's `toJson` (encoding/json), and a derived secret must be byte-for-byte what ESO writes for the same input,
 * or the reconciler and ESO would rewrite each other's output forever. The characters only ever occur inside
 * strings, so the result parses to the same value.
 */
export function goJson(value: unknown): string {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * sha256 of the canonical form of what a derivation consumed: the source type and the consumed keys' base64
 * values. A change to a key the format ignores does not change the hash (needsUpdate stays exact).
 */
export function sourceHash(type: string, data: Record<string, string>, consumedKeys: readonly string[]): string {
    const consumed: Record<string, string> = {};
    for (const k of consumedKeys) if (Object.prototype.hasOwnProperty.call(data, k)) consumed[k] = data[k];
    return createHash("sha256").update(canonicalJson({ type, data: consumed })).digest("hex");
}
