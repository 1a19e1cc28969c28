import { Logger } from "../../lib/log";
import { backoffDelay } from "./backoff";
import { Clock, realClock, WakeableSleep } from "./clock";
import { isKubeError, KubeClient, WatchEvent, WatchHandle } from "../../lib/kube";

/** Minimal object shape the informer keys and versions on. */
export interface KubeObject {
    metadata: { namespace?: string; name?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** What the apiserver sent, checked just enough to key and version it: an object whose metadata.name is a string. */
export function asKubeObject(o: unknown): KubeObject | undefined {
    if (typeof o !== "object" || o === null) return undefined;
    const m: unknown = (o as { metadata?: unknown }).metadata;
    if (typeof m !== "object" || m === null || typeof (m as { name?: unknown }).name !== "string") return undefined;
    return o as KubeObject;
}

/** A string field of an unchecked object, else undefined. */
function field(o: unknown, ...path: string[]): unknown {
    let cur: unknown = o;
    for (const p of path) cur = typeof cur === "object" && cur !== null ? (cur as Record<string, unknown>)[p] : undefined;
    return cur;
}

export function keyOf(o: KubeObject): string {
    return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : `${o.metadata.name}`;
}

export type Change<T> = { type: "add"; key: string; obj: T } | { type: "update"; key: string; obj: T; old: T } | { type: "delete"; key: string; old: T };

/** Diff of a fresh list against the cache: what a relist must report (deletes are the objects that vanished). */
export function diffRelist<T extends KubeObject>(cache: ReadonlyMap<string, T>, items: readonly T[]): Change<T>[] {
    const out: Change<T>[] = [];
    const seen = new Set<string>();
    for (const obj of items) {
        const key = keyOf(obj);
        seen.add(key);
        const old = cache.get(key);
        if (!old) out.push({ type: "add", key, obj });
        else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) out.push({ type: "update", key, obj, old });
    }
    for (const [key, old] of cache) if (!seen.has(key)) out.push({ type: "delete", key, old });
    return out;
}

export type WatchStep<T> =
    | { kind: "change"; change: Change<T>; resourceVersion?: string }
    | { kind: "bookmark"; resourceVersion?: string }
    | { kind: "gone" }
    | { kind: "error"; message: string }
    | { kind: "ignore" };

/** Interprets one watch event against the cache (pure). A 410 in an ERROR event means: relist. */
export function interpretWatchEvent<T extends KubeObject>(cache: ReadonlyMap<string, T>, ev: WatchEvent, transform: (o: KubeObject) => T): WatchStep<T> {
    const o = asKubeObject(ev.object);
    switch (ev.type) {
        case "ADDED":
        case "MODIFIED": {
            if (!o?.metadata.name) return { kind: "ignore" };
            const obj = transform(o);
            const key = keyOf(obj);
            const old = cache.get(key);
            const change: Change<T> = old ? { type: "update", key, obj, old } : { type: "add", key, obj };
            return { kind: "change", change, resourceVersion: o.metadata.resourceVersion };
        }
        case "DELETED": {
            if (!o?.metadata.name) return { kind: "ignore" };
            const key = keyOf(o);
            const old = cache.get(key) ?? transform(o);
            return { kind: "change", change: { type: "delete", key, old }, resourceVersion: o.metadata.resourceVersion };
        }
        case "BOOKMARK": {
            // A bookmark's object carries only metadata.resourceVersion (no name).
            const rv = field(ev.object, "metadata", "resourceVersion");
            return { kind: "bookmark", resourceVersion: typeof rv === "string" ? rv : undefined };
        }
        case "ERROR": {
            const code = field(ev.object, "code");
            const reason = field(ev.object, "reason");
            if (code === 410) return { kind: "gone" };
            return { kind: "error", message: `${typeof code === "number" ? code : "?"} ${typeof reason === "string" ? reason : ""}`.trim() };
        }
        default:
            return { kind: "ignore" };
    }
}

export type WatchEnd = "closed" | "gone" | "stalled" | "error" | "stopped";

/**
 * What to do after a watch ends (pure): a server-side close (timeoutSeconds) re-watches at once from the last
 * resourceVersion; 410 relists at once; errors and stalls back off (with jitter) and relist, because events may
 * have been lost in a way the resourceVersion cannot tell.
 */
export function nextAfterWatchEnd(end: WatchEnd, consecutiveFailures: number, baseMs: number, maxMs: number, rand: () => number = Math.random): { relist: boolean; delayMs: number } {
    switch (end) {
        case "closed":
            return { relist: false, delayMs: 0 };
        case "gone":
            return { relist: true, delayMs: 0 };
        case "stalled":
        case "error":
            return { relist: true, delayMs: backoffDelay(consecutiveFailures, baseMs, maxMs, rand) };
        case "stopped":
            return { relist: false, delayMs: 0 };
        default: {
            const never: never = end;
            throw new Error(`unknown watch end ${String(never)}`);
        }
    }
}

export interface InformerOptions<T extends KubeObject> {
    name: string;
    client: KubeClient;
    /** Collection path, e.g. /api/v1/secrets or /api/v1/namespaces/ns/secrets. */
    path: string;
    labelSelector?: string;
    /** e.g. "metadata.name=x" (the policy ConfigMap informer watches one object). */
    fieldSelector?: string;
    /** Slims each object before it is cached (drop managedFields, hash data): keeps RSS low at 10k objects. */
    transform?: (o: KubeObject) => T;
    onChange: (c: Change<T>) => void;
    /** Called after each watch ends (metrics: watch restarts by reason). */
    onWatchEnd?: (end: WatchEnd) => void;
    logger: Logger;
    clock?: Clock;
    /** Server-side watch timeout; default 240 s (jittered +-20 %) so the server, not the client, ends each watch. */
    timeoutSeconds?: number;
    /** Abort a watch with no event/bookmark/byte for this long; default timeoutSeconds + 30 s. */
    stallMs?: number;
    backoffBaseMs?: number;
    backoffMaxMs?: number;
    pageSize?: number;
}

/**
 * List + watch with supervision: bookmarks, server-side timeouts, relist on 410, stall detection, jittered
 * backoff, and a loop that restarts after any error (client-node's ListWatch stops after one).
 */
export class Informer<T extends KubeObject> {
    readonly cache = new Map<string, T>();
    private rv = "";
    private stopped = false;
    private current?: WatchHandle;
    private syncedOnce = false;
    private syncWaiters: (() => void)[] = [];
    private loop?: Promise<void>;
    private readonly sleeper: WakeableSleep;
    readonly stats = { lists: 0, watches: 0, gone: 0, stalls: 0, errors: 0 };
    /** When the current run of failed lists/watches began (undefined while healthy): /healthz reads it. */
    private failingSinceMs?: number;
    private readonly clock: Clock;
    private readonly transform: (o: KubeObject) => T;

    constructor(private readonly o: InformerOptions<T>) {
        this.clock = o.clock ?? realClock;
        this.sleeper = new WakeableSleep(this.clock);
        this.transform = o.transform ?? ((x) => x as T);
    }

    get hasSynced(): boolean {
        return this.syncedOnce;
    }

    get name(): string {
        return this.o.name;
    }

    /** Milliseconds this informer has been failing to list/watch without a success in between (0 when fine). */
    failingForMs(now = this.clock.now()): number {
        return this.failingSinceMs === undefined ? 0 : now - this.failingSinceMs;
    }

    private markFailure(): void {
        this.failingSinceMs ??= this.clock.now();
    }

    private markSuccess(): void {
        this.failingSinceMs = undefined;
    }

    start(): void {
        if (!this.loop) this.loop = this.run();
    }

    waitForSync(): Promise<void> {
        if (this.syncedOnce || this.stopped) return Promise.resolve();
        return new Promise((r) => this.syncWaiters.push(r));
    }

    async stop(): Promise<void> {
        this.stopped = true;
        this.current?.abort();
        this.sleeper.wake();
        for (const w of this.syncWaiters.splice(0)) w();
        await this.loop;
    }

    private async list(): Promise<void> {
        const items: T[] = [];
        let cont: string | undefined;
        let rv = "";
        do {
            // Each item slimmed as it is parsed: a page of big tenant Secrets is never held whole (KubeClient.list).
            const meta = await this.o.client.list(this.o.path, { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector, limit: this.o.pageSize ?? 500, continue: cont }, (it) => {
                const o = asKubeObject(it);
                if (o) items.push(this.transform(o));
            });
            cont = meta.continue || undefined;
            rv = meta.resourceVersion ?? rv;
        } while (cont && !this.stopped);
        this.stats.lists++;
        this.markSuccess();
        const changes = diffRelist(this.cache, items);
        for (const c of changes) {
            if (c.type === "delete") this.cache.delete(c.key);
            else this.cache.set(c.key, c.obj);
        }
        this.rv = rv;
        for (const c of changes) this.emit(c);
        if (!this.syncedOnce) {
            this.syncedOnce = true;
            for (const w of this.syncWaiters.splice(0)) w();
        }
    }

    private emit(c: Change<T>): void {
        try {
            this.o.onChange(c);
        } catch (e) {
            this.o.logger.error({ informer: this.o.name, key: c.key, err: String(e) }, "informer handler failed");
        }
    }

    private async watchOnce(): Promise<WatchEnd> {
        const base = this.o.timeoutSeconds ?? 240;
        const timeoutSeconds = Math.max(1, Math.round(base * (0.8 + 0.4 * Math.random())));
        const stallMs = this.o.stallMs ?? (timeoutSeconds + 30) * 1000;
        let end: WatchEnd | undefined;
        let cancelStall: (() => void) | undefined;
        const armStall = () => {
            cancelStall?.();
            cancelStall = this.clock.setTimer(stallMs, () => {
                end ??= "stalled";
                this.current?.abort();
            });
        };
        armStall();
        this.stats.watches++;
        try {
            const handle = await this.o.client.watch(
                this.o.path,
                { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector, resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds },
                (ev) => {
                    if (end) return;
                    end = this.applyWatchEvent(ev);
                    if (end) this.current?.abort();
                },
                armStall,
            );
            this.current = handle;
            if (this.stopped) handle.abort();
            await handle.done;
            return this.stopped ? "stopped" : (end ?? "closed");
        } catch (e) {
            if (this.stopped) return "stopped";
            if (isKubeError(e, 410)) return "gone";
            this.o.logger.warn({ informer: this.o.name, err: String(e) }, "watch failed");
            return end ?? "error";
        } finally {
            cancelStall?.();
            this.current = undefined;
        }
    }

    /** Applies one watch event to the cache and emits it; the reason to end this watch when the event is one. */
    private applyWatchEvent(ev: WatchEvent): WatchEnd | undefined {
        const step = interpretWatchEvent(this.cache, ev, this.transform);
        switch (step.kind) {
            case "change":
                if (step.change.type === "delete") this.cache.delete(step.change.key);
                else this.cache.set(step.change.key, step.change.obj);
                if (step.resourceVersion) this.rv = step.resourceVersion;
                this.emit(step.change);
                return undefined;
            case "bookmark":
                if (step.resourceVersion) this.rv = step.resourceVersion;
                return undefined;
            case "gone":
                return "gone";
            case "error":
                this.o.logger.warn({ informer: this.o.name, error: step.message }, "watch error event");
                return "error";
            case "ignore":
                return undefined;
            default: {
                const never: never = step;
                throw new Error(`unhandled watch step ${JSON.stringify(never)}`);
            }
        }
    }

    private sleep(ms: number): Promise<void> {
        return this.sleeper.sleep(ms);
    }

    private async run(): Promise<void> {
        let needList = true;
        let failures = 0;
        const baseMs = this.o.backoffBaseMs ?? 200;
        const maxMs = this.o.backoffMaxMs ?? 30_000;
        while (!this.stopped) {
            try {
                if (needList) {
                    await this.list();
                    needList = false;
                }
                const startedAt = this.clock.now();
                let end = await this.watchOnce();
                if (end === "stopped") break;
                // A watch the server closes at once (e.g. an apiserver shutting down) must not become a hot loop.
                if (end === "closed" && this.clock.now() - startedAt < 1000) end = "error";
                if (end === "gone") this.stats.gone++;
                if (end === "stalled") this.stats.stalls++;
                if (end === "error" || end === "stalled") {
                    failures++;
                    this.markFailure();
                } else {
                    failures = 0;
                    this.markSuccess();
                }
                this.o.onWatchEnd?.(end);
                const next = nextAfterWatchEnd(end, Math.max(0, failures - 1), baseMs, maxMs);
                if (end !== "closed") this.o.logger.info({ informer: this.o.name, end, delayMs: next.delayMs }, "watch ended; re-watching");
                needList = next.relist;
                if (next.delayMs > 0) await this.sleep(next.delayMs);
            } catch (e) {
                if (this.stopped) break;
                this.stats.errors++;
                failures++;
                this.markFailure();
                needList = true;
                const delay = backoffDelay(failures - 1, baseMs, maxMs);
                this.o.logger.warn({ informer: this.o.name, err: String(e), delayMs: delay }, "list failed; retrying");
                await this.sleep(delay);
            }
        }
    }
}
