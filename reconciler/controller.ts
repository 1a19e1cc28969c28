import { LABEL_DERIVED, LABEL_SOURCE } from "../derive";
import { Logger } from "../lib/log";
import { Clock, realClock } from "./clock";
import { ReconcileContext, Tombstone } from "./context";
import { HookRunner } from "./hooks";
import { Change, Informer } from "./informer";
import { ANNOTATION_RETAIN } from "./keys";
import { KubeClient } from "./kube";
import { ReconcilerMetrics } from "./metrics";
import { fanOutOwnerOf, hasFanOut, MultiIndex, SlimNamespace, SlimSecret, slimNamespace, slimSecret, SlimWorkload, slimWorkload, sourceKeyOf } from "./model";
import { WorkQueue } from "./queue";
import { reconcileSecretKey } from "./reconcile-secrets";
import { reconcileWorkload } from "./reconcile-workloads";
import { Recorder } from "./recorder";
import { VaultKv } from "./vault";
import { Debouncer, parseQueueKey, WORKLOAD_KINDS, WorkloadKind, workloadKey } from "./workloads";

export interface ControllerOptions {
    client: KubeClient;
    logger: Logger;
    metrics: ReconcilerMetrics;
    recorder: Recorder;
    /** Namespaces to watch; empty/undefined = all. */
    namespaces?: string[];
    /** Restart debounce window per workload; default 2000 ms. */
    debounceMs?: number;
    /** Parallel reconciles; default 4. */
    workers?: number;
    vault?: VaultKv;
    clock?: Clock;
    /** Watch tuning (tests shorten these). */
    watchTimeoutSeconds?: number;
    stallMs?: number;
    /** Queue tuning. */
    ratePerSec?: number;
    burst?: number;
    maxAttempts?: number;
    /** Watch workloads for restarts; default true. */
    workloads?: boolean;
}

/**
 * The reconciling half of the process (runs only while leading): informers feed a de-duplicating queue; workers
 * reconcile keys from live objects.
 */
export class Controller {
    readonly queue: WorkQueue;
    readonly ctx: ReconcileContext;
    private readonly informers: Informer<any>[] = [];
    private workers: Promise<void>[] = [];
    private readonly clock: Clock;
    private readonly derivedCaches: Map<string, SlimSecret>[] = [];
    private readonly sourceCaches: Map<string, SlimSecret>[] = [];
    private readonly workloadCaches: Map<string, SlimWorkload>[] = [];
    private nsInformer!: Informer<SlimNamespace>;
    private stopped = false;

    constructor(private readonly o: ControllerOptions) {
        this.clock = o.clock ?? realClock;
        this.queue = new WorkQueue({ clock: this.clock, ratePerSec: o.ratePerSec, burst: o.burst, maxAttempts: o.maxAttempts });
        const hooks = new HookRunner({ client: o.client, recorder: o.recorder, metrics: o.metrics, logger: o.logger, vault: o.vault });
        const namespaces = o.namespaces && o.namespaces.length > 0 ? new Set(o.namespaces) : undefined;
        const union = <T>(caches: Map<string, T>[]): ReadonlyMap<string, T> => unionView(caches);
        this.ctx = {
            client: o.client,
            logger: o.logger,
            recorder: o.recorder,
            metrics: o.metrics,
            queue: this.queue,
            clock: this.clock,
            hooks,
            debouncer: new Debouncer(o.debounceMs ?? 2000),
            namespaces,
            derived: union(this.derivedCaches),
            sources: union(this.sourceCaches),
            namespaceCache: new Map(),
            workloads: union(this.workloadCaches),
            derivedBySource: new MultiIndex(),
            workloadsBySecret: new MultiIndex(),
            tombstones: new Map<string, Tombstone>(),
            ownWrites: new Map(),
            fanOutConcurrency: 16,
        };
        this.build(namespaces);
    }

    private informer<T extends { metadata: any }>(name: string, path: string, labelSelector: string | undefined, transform: (o: any) => T, onChange: (c: Change<T>) => void): Informer<T> {
        const inf = new Informer<T>({
            name,
            client: this.o.client,
            path,
            labelSelector,
            transform,
            onChange,
            logger: this.o.logger,
            clock: this.clock,
            timeoutSeconds: this.o.watchTimeoutSeconds,
            stallMs: this.o.stallMs,
        });
        this.informers.push(inf);
        return inf;
    }

    private build(namespaces: Set<string> | undefined): void {
        const scopes = namespaces ? [...namespaces].map((ns) => ({ tag: ns, prefix: `/api/v1/namespaces/${ns}` })) : [{ tag: "all", prefix: "/api/v1" }];
        for (const s of scopes) {
            const d = this.informer(`derived-secrets[${s.tag}]`, `${s.prefix}/secrets`, `${LABEL_DERIVED}=true`, slimSecret, (c) => this.onDerived(c));
            this.derivedCaches.push(d.cache);
            const src = this.informer(`source-secrets[${s.tag}]`, `${s.prefix}/secrets`, `${LABEL_SOURCE}=true`, slimSecret, (c) => this.onSource(c));
            this.sourceCaches.push(src.cache);
        }
        this.nsInformer = this.informer("namespaces", "/api/v1/namespaces", undefined, slimNamespace, (c) => this.onNamespace(c));
        (this.ctx as { namespaceCache: ReadonlyMap<string, SlimNamespace> }).namespaceCache = this.nsInformer.cache;
        if (this.o.workloads !== false) {
            for (const kind of WORKLOAD_KINDS) {
                const wScopes = namespaces ? [...namespaces].map((ns) => ({ tag: ns, prefix: `/apis/apps/v1/namespaces/${ns}` })) : [{ tag: "all", prefix: "/apis/apps/v1" }];
                for (const s of wScopes) {
                    const inf = this.informer(`${kind}[${s.tag}]`, `${s.prefix}/${kind}`, undefined, slimWorkload, (c) => this.onWorkload(kind, c));
                    this.workloadCaches.push(inf.cache);
                }
            }
        }
    }

    /** Skips the watch echo of a write this process made (its resourceVersion is recorded). */
    private isOwnEcho(key: string, rv: string | undefined): boolean {
        const mine = this.ctx.ownWrites.get(key);
        if (mine !== undefined && mine === rv) {
            this.ctx.ownWrites.delete(key);
            return true;
        }
        return false;
    }

    private touchConsumers(secretKey: string): void {
        const now = this.clock.now();
        for (const w of this.ctx.workloadsBySecret.get(secretKey)) {
            this.ctx.debouncer.touch(w, now);
            this.queue.addAfter(w, this.ctx.debouncer.windowMs);
        }
    }

    private onDerived(c: Change<SlimSecret>): void {
        const old = c.type === "add" ? undefined : c.old;
        const obj = c.type === "delete" ? undefined : c.obj;
        const oldSrc = old && sourceKeyOf(old);
        const newSrc = obj && sourceKeyOf(obj);
        if (oldSrc && oldSrc !== newSrc) this.ctx.derivedBySource.remove(oldSrc, c.key);
        if (newSrc) this.ctx.derivedBySource.add(newSrc, c.key);
        if (!obj || !old || obj.contentHash !== old.contentHash) this.touchConsumers(c.key);
        if (c.type === "delete") {
            // A deleted fan-out copy is re-created by its source; a plain derived secret belongs to whoever created it.
            if (oldSrc && fanOutOwnerOf(c.old)) this.queue.add(oldSrc);
            return;
        }
        if (this.isOwnEcho(c.key, c.obj.metadata.resourceVersion)) return;
        this.queue.add(c.key);
    }

    private onSource(c: Change<SlimSecret>): void {
        if (c.type === "delete") {
            this.ctx.tombstones.set(c.key, { at: this.clock.now(), retain: c.old.metadata.annotations?.[ANNOTATION_RETAIN] === "true" });
        } else {
            this.ctx.tombstones.delete(c.key);
        }
        const old = c.type === "add" ? undefined : c.old;
        const obj = c.type === "delete" ? undefined : c.obj;
        if (!obj || !old || obj.contentHash !== old.contentHash) this.touchConsumers(c.key);
        if (obj && this.isOwnEcho(c.key, obj.metadata.resourceVersion)) return;
        this.queue.add(c.key);
    }

    private onNamespace(c: Change<SlimNamespace>): void {
        if (c.type === "update" && JSON.stringify(c.old.metadata.labels) === JSON.stringify(c.obj.metadata.labels)) return;
        for (const cache of this.sourceCaches) for (const [k, s] of cache) if (hasFanOut(s)) this.queue.add(k);
    }

    private onWorkload(kind: WorkloadKind, c: Change<SlimWorkload>): void {
        const key = workloadKey(kind, (c.type === "delete" ? c.old : c.obj).metadata.namespace!, (c.type === "delete" ? c.old : c.obj).metadata.name!);
        const ns = (c.type === "delete" ? c.old : c.obj).metadata.namespace!;
        if (c.type !== "add") for (const n of c.old.consumes) this.ctx.workloadsBySecret.remove(`${ns}/${n}`, key);
        if (c.type === "delete") {
            this.ctx.debouncer.clear(key);
            return;
        }
        for (const n of c.obj.consumes) this.ctx.workloadsBySecret.add(`${ns}/${n}`, key);
        if (c.obj.consumes.length > 0 && (c.type === "add" || c.old.consumes.join(",") !== c.obj.consumes.join(","))) this.queue.add(key);
    }

    async start(): Promise<void> {
        for (const inf of this.informers) inf.start();
        await Promise.all(this.informers.map((i) => i.waitForSync()));
        const n = this.o.workers ?? 4;
        for (let i = 0; i < n; i++) this.workers.push(this.work());
        this.o.logger.info({ informers: this.informers.length, workers: n }, "controller started");
    }

    get synced(): boolean {
        return this.informers.every((i) => i.hasSynced);
    }

    informerStats(): Record<string, Informer<any>["stats"]> {
        const out: Record<string, Informer<any>["stats"]> = {};
        for (const i of this.informers) out[(i as any).o.name] = i.stats;
        return out;
    }

    private async work(): Promise<void> {
        for (;;) {
            const key = await this.queue.get();
            if (key === undefined) return;
            const parsed = parseQueueKey(key);
            const end = this.o.metrics.reconcileSeconds.startTimer({ kind: parsed.kind });
            try {
                if (parsed.kind === "secret") await reconcileSecretKey(this.ctx, parsed.namespace, parsed.name);
                else await reconcileWorkload(this.ctx, parsed.kind, parsed.namespace, parsed.name);
                this.queue.forget(key);
            } catch (e) {
                this.o.metrics.reconcileErrors.inc({ kind: parsed.kind });
                const conflict = (e as { code?: number }).code === 409;
                if (this.queue.addRateLimited(key)) {
                    this.o.logger[conflict ? "debug" : "warn"]({ object: key, err: String((e as Error).message ?? e), attempts: this.queue.attempts(key) }, "reconcile failed; retrying");
                } else {
                    this.o.logger.error({ object: key, err: String((e as Error).message ?? e) }, "reconcile failed too often; dropped until the next change");
                }
            } finally {
                end();
                this.queue.done(key);
            }
        }
    }

    /** Stops watches, drains in-flight reconciles. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        await Promise.all(this.informers.map((i) => i.stop()));
        await this.queue.shutDown();
        await Promise.all(this.workers);
    }
}

/** Read-only view over several maps (one per namespace-scoped informer). */
function unionView<T>(maps: Map<string, T>[]): ReadonlyMap<string, T> {
    const view = {
        get: (k: string) => {
            for (const m of maps) {
                const v = m.get(k);
                if (v !== undefined) return v;
            }
            return undefined;
        },
        has: (k: string) => maps.some((m) => m.has(k)),
        get size() {
            return maps.reduce((n, m) => n + m.size, 0);
        },
        *entries() {
            for (const m of maps) yield* m.entries();
        },
        *keys() {
            for (const m of maps) yield* m.keys();
        },
        *values() {
            for (const m of maps) yield* m.values();
        },
        forEach(fn: (v: T, k: string, map: ReadonlyMap<string, T>) => void) {
            for (const m of maps) m.forEach((v, k) => fn(v, k, view as unknown as ReadonlyMap<string, T>));
        },
        [Symbol.iterator]() {
            return view.entries();
        },
    };
    return view as unknown as ReadonlyMap<string, T>;
}
