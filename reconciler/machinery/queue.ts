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
    /** The share a key belongs to; default its namespace ("ns/name" or "<kind>:ns/name"; "" for other keys). */
    shardOf?: (key: string) => string;
}

/** The namespace of a queue key ("ns/name", "<kind>:ns/name"); "" when it has none. */
export function namespaceShard(key: string): string {
    const rest = key.slice(key.indexOf(":") + 1);
    const slash = rest.indexOf("/");
    return slash > 0 ? rest.slice(0, slash) : "";
}

/** A FIFO of one share (array + head: O(1) take, compacted as it drains). */
class Fifo {
    private items: string[] = [];
    private head = 0;
    get size(): number {
        return this.items.length - this.head;
    }
    push(k: string): void {
        this.items.push(k);
    }
    take(): string {
        const k = this.items[this.head++]!;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
            this.items = this.items.slice(this.head);
            this.head = 0;
        }
        return k;
    }
}

/**
 * A de-duplicating queue of keys (client-go semantics): a key is queued at most once; a key added while it is
 * being processed is re-queued once when `done` is called; failed keys are retried with per-key exponential
 * backoff (unbounded attempts by default, capped delay); `get` is paced by a global token bucket.
 * Fair across namespaces (issue 21): each namespace has its own FIFO and `get` takes from them in turn, so one
 * namespace's ten thousand queued keys delay another namespace's key by at most one turn of the active namespaces,
 * not by ten thousand reconciles.
 */
export class WorkQueue {
    private readonly clock: Clock;
    private readonly shards = new Map<string, Fifo>();
    /** Shards with queued keys, in turn order; `turn` is the next one to take from. */
    private readonly ring: string[] = [];
    private turn = 0;
    private queued = 0;
    private readonly shardOf: (key: string) => string;
    private readonly dirty = new Set<string>();
    private readonly processing = new Set<string>();
    private readonly failures = new Map<string, number>();
    private readonly delayed = new Map<string, { at: number; cancel: () => void }>();
    private readonly waiters: (() => void)[] = [];
    private readonly drainWaiters: (() => void)[] = [];
    private readonly bucket: TokenBucket;
    private shuttingDown = false;
    readonly opts: Required<Omit<WorkQueueOptions, "clock" | "rand" | "shardOf">> & { rand: () => number };

    constructor(opts: WorkQueueOptions = {}) {
        this.clock = opts.clock ?? realClock;
        this.shardOf = opts.shardOf ?? namespaceShard;
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
        return this.queued;
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
        this.enqueue(key);
    }

    private enqueue(key: string): void {
        const shard = this.shardOf(key);
        let f = this.shards.get(shard);
        if (!f) {
            f = new Fifo();
            this.shards.set(shard, f);
            this.ring.push(shard);
        }
        f.push(key);
        this.queued++;
        this.waiters.shift()?.();
    }

    /** The next key, round-robin over the shards that have one. */
    private dequeue(): string {
        if (this.turn >= this.ring.length) this.turn = 0;
        const shard = this.ring[this.turn]!;
        const f = this.shards.get(shard)!;
        const key = f.take();
        this.queued--;
        if (f.size === 0) {
            // Emptied: out of the ring (and the map), so idle namespaces cost nothing; the next shard moves into this slot.
            this.shards.delete(shard);
            this.ring.splice(this.turn, 1);
        } else this.turn++;
        return key;
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
        const key = this.dequeue();
        this.dirty.delete(key);
        this.processing.add(key);
        const wait = this.bucket.take(this.clock.now());
        if (wait > 0) await sleep(this.clock, wait);
        return key;
    }

    /** Marks `key` processed; if it was re-added meanwhile it goes back on the queue (once). */
    done(key: string): void {
        this.processing.delete(key);
        if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
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
