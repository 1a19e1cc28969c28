import { backoffDelay, TokenBucket } from "./backoff";
import { Clock, realClock, sleep } from "./clock";

export interface WorkQueueOptions {
    clock?: Clock;
    /** First retry delay; default 50 ms. */
    retryBaseMs?: number;
    /** Retry delay cap; default 5 min (an outage during a rotation converges at most this long after it ends). */
    retryMaxMs?: number;
    /**
     * Attempts per key before it is dropped; default unlimited: a failing key is retried for as long as it fails
     * (PostgreSQL or the apiserver down during a rotation must not leave things stale until someone edits them).
     */
    maxAttempts?: number;
    /** Global reconcile rate (tokens/s); default 500. */
    ratePerSec?: number;
    /** Token bucket burst; default 1000. */
    burst?: number;
    rand?: () => number;
}

/**
 * A de-duplicating queue of keys (client-go semantics): a key is queued at most once; a key added while it is
 * being processed is re-queued once when `done` is called; failed keys are retried with per-key exponential
 * backoff (unbounded attempts by default, capped delay); `get` is paced by a global token bucket.
 */
export class WorkQueue {
    private readonly clock: Clock;
    private readonly queue: string[] = [];
    private head = 0;
    private readonly dirty = new Set<string>();
    private readonly processing = new Set<string>();
    private readonly failures = new Map<string, number>();
    private readonly delayed = new Map<string, { at: number; cancel: () => void }>();
    private readonly waiters: (() => void)[] = [];
    private readonly drainWaiters: (() => void)[] = [];
    private readonly bucket: TokenBucket;
    private shuttingDown = false;
    readonly opts: Required<Omit<WorkQueueOptions, "clock" | "rand">> & { rand: () => number };

    constructor(opts: WorkQueueOptions = {}) {
        this.clock = opts.clock ?? realClock;
        this.opts = {
            retryBaseMs: opts.retryBaseMs ?? 50,
            retryMaxMs: opts.retryMaxMs ?? 300_000,
            maxAttempts: opts.maxAttempts ?? Number.POSITIVE_INFINITY,
            ratePerSec: opts.ratePerSec ?? 500,
            burst: opts.burst ?? 1000,
            rand: opts.rand ?? Math.random,
        };
        if (!(this.opts.maxAttempts >= 1)) throw new Error(`WorkQueue: maxAttempts must be >= 1 (got ${this.opts.maxAttempts})`);
        if (!(this.opts.retryBaseMs > 0 && this.opts.retryMaxMs >= this.opts.retryBaseMs)) throw new Error(`WorkQueue: need 0 < retryBaseMs <= retryMaxMs (got ${this.opts.retryBaseMs}, ${this.opts.retryMaxMs})`);
        this.bucket = new TokenBucket(this.opts.ratePerSec, this.opts.burst, this.clock.now());
    }

    /** Keys waiting (not counting delayed retries or keys in flight). */
    get length(): number {
        return this.queue.length - this.head;
    }
    get inFlight(): number {
        return this.processing.size;
    }
    get delayedCount(): number {
        return this.delayed.size;
    }
    /** Keys whose last attempt failed and that wait for a retry (exported as a metric). */
    get retrying(): number {
        return this.failures.size;
    }

    add(key: string): void {
        if (this.shuttingDown || this.dirty.has(key)) return;
        const d = this.delayed.get(key);
        if (d) {
            d.cancel();
            this.delayed.delete(key);
        }
        this.dirty.add(key);
        if (this.processing.has(key)) return;
        this.queue.push(key);
        this.waiters.shift()?.();
    }

    /** Adds `key` after `ms`; an earlier pending delayed add of the same key wins. */
    addAfter(key: string, ms: number): void {
        if (this.shuttingDown) return;
        if (ms <= 0) return this.add(key);
        const at = this.clock.now() + ms;
        const existing = this.delayed.get(key);
        if (existing && existing.at <= at) return;
        existing?.cancel();
        const cancel = this.clock.setTimer(ms, () => {
            this.delayed.delete(key);
            this.add(key);
        });
        this.delayed.set(key, { at, cancel });
    }

    /**
     * Schedules a retry with per-key exponential backoff. Returns false (and forgets the key) when the key has
     * used up its attempts: the caller reports the error and drops it.
     */
    addRateLimited(key: string): boolean {
        const n = (this.failures.get(key) ?? 0) + 1;
        if (n >= this.opts.maxAttempts) {
            this.failures.delete(key);
            return false;
        }
        this.failures.set(key, n);
        this.addAfter(key, backoffDelay(n - 1, this.opts.retryBaseMs, this.opts.retryMaxMs, this.opts.rand));
        return true;
    }

    /** Clears a key's failure count after a successful reconcile. */
    forget(key: string): void {
        this.failures.delete(key);
    }

    attempts(key: string): number {
        return this.failures.get(key) ?? 0;
    }

    /** Next key to process (paced by the rate limit), or undefined once shut down. */
    async get(): Promise<string | undefined> {
        for (;;) {
            if (this.shuttingDown) return undefined;
            if (this.length > 0) break;
            await new Promise<void>((r) => this.waiters.push(r));
        }
        const key = this.queue[this.head++];
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
            this.queue.splice(0, this.head);
            this.head = 0;
        }
        this.dirty.delete(key);
        this.processing.add(key);
        const wait = this.bucket.take(this.clock.now());
        if (wait > 0) await sleep(this.clock, wait);
        return key;
    }

    /** Marks `key` processed; if it was re-added meanwhile it goes back on the queue (once). */
    done(key: string): void {
        this.processing.delete(key);
        if (this.dirty.has(key) && !this.shuttingDown) {
            this.queue.push(key);
            this.waiters.shift()?.();
        }
        if (this.processing.size === 0) for (const w of this.drainWaiters.splice(0)) w();
    }

    /** Stops handing out keys; resolves once in-flight keys are done (the drain of a graceful shutdown). */
    async shutDown(): Promise<void> {
        this.shuttingDown = true;
        for (const d of this.delayed.values()) d.cancel();
        this.delayed.clear();
        for (const w of this.waiters.splice(0)) w();
        if (this.processing.size > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
    }

    get isShutDown(): boolean {
        return this.shuttingDown;
    }
}
