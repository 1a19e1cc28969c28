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
 * sha256 of the canonical form of what a derivation consumed: the source type and the consumed keys' base64
 * values. A change to a key the format ignores does not change the hash (needsUpdate stays exact).
 */
export function sourceHash(type: string, data: Record<string, string>, consumedKeys: readonly string[]): string {
    const consumed: Record<string, string> = {};
    for (const k of consumedKeys) if (Object.prototype.hasOwnProperty.call(data, k)) consumed[k] = data[k];
    return createHash("sha256").update(canonicalJson({ type, data: consumed })).digest("hex");
}
