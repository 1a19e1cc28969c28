/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries of many clients spread
 * out while each still waits at least half the nominal delay. `rand` is injectable for tests.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, rand: () => number = Math.random): number {
    if (!(baseMs > 0) || !(maxMs >= baseMs)) {
        throw new Error(`backoffDelay: need 0 < baseMs <= maxMs (got baseMs=${baseMs}, maxMs=${maxMs})`);
    }
    const nominal = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 40)));
    const half = nominal / 2;
    return Math.round(half + half * Math.min(1, Math.max(0, rand())));
}

/**
 * Global token bucket (reservation style): `take` always succeeds and returns how long the caller must wait
 * before acting, so concurrent callers queue up fairly instead of polling.
 */
export class TokenBucket {
    private tokens: number;
    private last: number;

    constructor(
        private readonly ratePerSec: number,
        private readonly burst: number,
        now: number,
    ) {
        if (!(ratePerSec > 0) || !(burst >= 1)) {
            throw new Error(`TokenBucket: need rate > 0 and burst >= 1 (got rate=${ratePerSec}, burst=${burst}); fix the rate-limit options`);
        }
        this.tokens = burst;
        this.last = now;
    }

    /** Reserves one token; returns the wait in ms (0 when a token was available). */
    take(now: number): number {
        const elapsed = Math.max(0, now - this.last);
        this.last = Math.max(this.last, now);
        this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSec) / 1000);
        this.tokens -= 1;
        return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSec);
    }
}
