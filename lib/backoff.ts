/**
 * The one exponential backoff of the product (the reconciler's queue and informers, the token generator's GitHub
 * retries): nominal = min(maxMs, baseMs · 2^attempt), then jittered so that many clients spread out.
 * - "equal" (default): half fixed, half random: [nominal/2, nominal]; each retry still waits at least half (the
 *   reconciler: a failing apiserver is not hammered).
 * - "full": uniform in [0, nominal) (the token generator: pods started together must not hit GitHub in lockstep).
 * `rand` is injectable for tests.
 */
export type Jitter = "equal" | "full";

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, rand: () => number = Math.random, jitter: Jitter = "equal"): number {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) {
        throw new Error(`backoffDelay: need 0 < baseMs <= maxMs (got baseMs=${baseMs}, maxMs=${maxMs})`);
    }
    const nominal = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 40)));
    switch (jitter) {
        case "equal": {
            const half = nominal / 2;
            return Math.round(half + half * Math.min(1, Math.max(0, rand())));
        }
        case "full":
            return Math.floor(Math.min(Math.max(rand(), 0), 1 - Number.EPSILON) * nominal);
        default: {
            const never: never = jitter;
            throw new Error(`unknown jitter ${String(never)}`);
        }
    }
}
