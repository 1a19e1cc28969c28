export { backoffDelay } from "../../lib/backoff";

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
