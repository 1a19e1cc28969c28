/** Never schedule refreshes closer together than this, whatever REFRESH_BEFORE_SECONDS says. */
export const MIN_REFRESH_INTERVAL_MS = 30_000;

/**
 * When the sidecar replaces a token expiring at `expiresAtMs`: REFRESH_BEFORE_SECONDS ahead of expiry, but
 * never sooner than MIN_REFRESH_INTERVAL_MS from now (a token that comes back with a short life must not make
 * the loop spin) and always strictly before expiry (half the remaining life when that is less than the
 * interval). An already expired token is refreshed now.
 */
export function refreshAtMs(expiresAtMs: number, refreshBeforeSeconds: number, nowMs: number, minIntervalMs = MIN_REFRESH_INTERVAL_MS): number {
    const remaining = expiresAtMs - nowMs;
    if (remaining <= 0) return nowMs;
    const target = expiresAtMs - refreshBeforeSeconds * 1000;
    const floor = nowMs + Math.min(minIntervalMs, Math.floor(remaining / 2));
    return Math.min(Math.max(target, floor), expiresAtMs - 1);
}

/**
 * How long the sidecar waits after a failed refresh: exponential (5 s doubling up to 5 min), jittered into
 * the upper half so it never spins, and capped at half of the old token's remaining life so a last try still
 * happens while readers hold a valid token.
 */
export function refreshRetryDelayMs(failures: number, expiresAtMs: number | undefined, nowMs: number, random: () => number): number {
    const ceiling = Math.min(300_000, 5000 * 2 ** Math.min(Math.max(failures - 1, 0), 20));
    const r = Math.min(Math.max(random(), 0), 1);
    let d = Math.floor(ceiling / 2 + (r * ceiling) / 2);
    if (expiresAtMs !== undefined && expiresAtMs > nowMs) d = Math.min(d, Math.max(1000, Math.floor((expiresAtMs - nowMs) / 2)));
    return Math.max(1000, d);
}

/** `ms` from now, in whole seconds, for logs. */
export function secondsUntil(atMs: number, nowMs: number): number {
    return Math.round((atMs - nowMs) / 1000);
}
