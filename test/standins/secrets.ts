/**
 * The engine's wire form of a secret value inside provider RPCs (acceptSecrets is on in @pulumi/pulumi's provider
 * host): `{ <sig>: <secret sig>, value }`. Stand-ins unwrap before using a value and wrap what must stay secret.
 */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export function isSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

export function secret<T>(value: T): { [SIG_KEY]: string; value: T } {
    return { [SIG_KEY]: SECRET_SIG, value };
}

/** The engine's placeholder for a value not known yet (preview: an input computed from another resource's output). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (isSecret(v)) return containsUnknown(v.value);
    if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
    return false;
}

/** Deep copy with every secret wrapper replaced by its plain value. */
export function reveal(v: unknown): unknown {
    if (isSecret(v)) return reveal(v.value);
    if (Array.isArray(v)) return v.map(reveal);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
    return v;
}

/** Structural equality of two plain (revealed) values; key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The one notice every stand-in prints (stderr of the plugin, and the runner prints it too). */
export function standInNotice(pkg: string, version: string, what: string): string {
    return (
        `NOTICE: STAND-IN provider "${pkg}" v${version} (test/standins, NOT the published pulumi-${pkg} plugin): ${what}. ` +
        `It is used only because no real resource-${pkg}-v${version} plugin is installed; install the real plugin to use it instead.`
    );
}
