import { isDerived } from "../derive";
import { Logger } from "../lib/log";
import { Clock, realClock } from "./machinery/clock";
import { newMemos, ReconcileContext, unionView } from "./context";
import { Fingerprinter } from "./fingerprint";
import { HookRunner } from "./hooks/hooks";
import { Change, Informer, KubeObject } from "./machinery/informer";
import { PersistentTombstones } from "./derived/tombstones";
import { SourcePrefetch } from "./derived/prefetch";
import { markClaimRefused } from "./derived/writes";
import { ANNOTATION_FAN_OUT_OWNER, ANNOTATION_RETAIN } from "./keys";
import { StatusTally } from "./derived/status";
import { isKubeError, KubeClient } from "../lib/kube";
import { ReconcilerMetrics } from "./machinery/metrics";
import { DependencyIndex, hasFanOut, SecretMeta, SlimNamespace, slimNamespace, slimSecret, SlimWorkload, slimWorkload, sourceKeyOf } from "./model";
import { EMPTY_POLICY, hooksFor, parsePolicy, POLICY_CONFIGMAP_NAME, POLICY_KEY, ReconcilerPolicy } from "./trust/policy";
import { OwnWrites } from "./machinery/ownwrites";
import { WorkQueue } from "./machinery/queue";
import { freshInCache, reconcileDerivedKey } from "./derived/reconcile-derived";
import { isSourceKey, reconcileSourceKey } from "./derived/reconcile-source";
import { reconcileWorkload } from "./restarts/reconcile-workloads";
import { Recorder } from "./machinery/recorder";
import { VaultKv } from "./hooks/vault";
import { parseQueueKey, WORKLOAD_KINDS, WorkloadKind, workloadKey } from "./machinery/queue-keys";
import { Debouncer } from "./restarts/workloads";

export interface ControllerOptions {
    client: KubeClient;
    logger: Logger;
    metrics: ReconcilerMetrics;
    recorder: Recorder;
    fingerprint: Fingerprinter;
    /** Namespaces to watch; empty/undefined = all. */
    namespaces?: string[];
    /**
     * The reconciler's own namespace: the policy ConfigMap is read and hook state kept there (only the stack
     * owner can write it). Undefined: no hooks, and `policy` (default empty) is the whole policy.
     */
    ownNamespace?: string;
    /** Name of the policy ConfigMap in ownNamespace; default platform-secrets-policy. */
    policyName?: string;
    /** A fixed policy, used when there is no ownNamespace (tests, tools). */
    policy?: ReconcilerPolicy;
    /** Restart debounce window per workload; default 2000 ms. */
    debounceMs?: number;
    /** Upper bound of the debounce: a burst that never pauses rolls at most this long after its first change; default max(10 × debounce, 10 s). */
    restartMaxDelayMs?: number;
    /** Parallel reconciles (I/O-bound: each waits on the apiserver); default 8. */
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
    retryMaxMs?: number;
    /** Full resync of every known key, jittered ±10 %; default 10 min, 0 = off. */
    resyncMs?: number;
    /** A deleted source's derived secrets survive a re-creation within this window; default 30 s. */
    deleteGraceMs?: number;
    /** Watch workloads for restarts; default true. */
    workloads?: boolean;
    /** How often the cluster is asked whether it serves Argo Rollouts until it does; default 5 min. */
    rolloutsDiscoveryMs?: number;
    /** Namespaces another reconciler instance claims (reconciler/trust/claims.ts): refused, never acted in. */
    claims?: { refusal(namespace: string): string | undefined };
    /** A fresh leadership check before a Job re-run (HookDeps.confirmLeadership); absent without leader election. */
    confirmLeadership?: () => Promise<boolean>;
    /** false: no start-up prefetch of sources (prefetch.ts); every source reconcile reads its source live. */
    prefetch?: boolean;
}

/**
 * The reconciling half of the process (runs only while leading): informers over every Secret, namespaces,
 * workloads and the policy ConfigMap feed ONE dependency index and a de-duplicating queue of keys; workers
 * reconcile each key from current state, one function per role (derived, source, workload).
 */
export class Controller {
    readonly queue: WorkQueue;
    readonly ctx: ReconcileContext;
    readonly informers: Informer<KubeObject>[] = [];
    private workers: Promise<void>[] = [];
    private readonly clock: Clock;
    private readonly secretCaches: Map<string, SecretMeta>[] = [];
    private readonly workloadCaches: Map<string, SlimWorkload>[] = [];
    private readonly workloadCachesByKind: { kind: WorkloadKind; cache: Map<string, SlimWorkload> }[] = [];
    private policy: ReconcilerPolicy;
    private policyError?: string;
    private cancelResync?: () => void;
    private stopped = false;
    /** False while the informers' first lists load: events only build the index; one de-duplicated pass follows. */
    private started = false;
    /** Derived secrets by status, kept per change: a scrape costs O(statuses), not O(cached secrets). */
    private readonly statusTally = new StatusTally();

    constructor(private readonly o: ControllerOptions) {
        this.clock = o.clock ?? realClock;
        this.policy = o.policy ?? EMPTY_POLICY;
        this.queue = new WorkQueue({ clock: this.clock, ratePerSec: o.ratePerSec, burst: o.burst, maxAttempts: o.maxAttempts, retryMaxMs: o.retryMaxMs });
        const hooks = new HookRunner({ client: o.client, recorder: o.recorder, metrics: o.metrics, logger: o.logger, vault: o.vault, fingerprint: o.fingerprint, stateNamespace: o.ownNamespace, confirmLeadership: o.confirmLeadership, clock: this.clock });
        const namespaces = o.namespaces && o.namespaces.length > 0 ? new Set(o.namespaces) : undefined;
        this.ctx = {
            client: o.client,
            logger: o.logger,
            recorder: o.recorder,
            metrics: o.metrics,
            queue: this.queue,
            clock: this.clock,
            hooks,
            debouncer: new Debouncer(o.debounceMs ?? 2000, o.restartMaxDelayMs),
            fingerprint: o.fingerprint,
            namespaces,
            secrets: unionView(this.secretCaches),
            namespaceCache: new Map(),
            workloads: unionView(this.workloadCaches),
            workloadMeta: (kind, key) => {
                for (const c of this.workloadCachesByKind) if (c.kind === kind && c.cache.has(key)) return c.cache.get(key);
                return undefined;
            },
            index: new DependencyIndex(),
            policy: () => this.policy,
            tombstones: o.ownNamespace ? new PersistentTombstones(o.client, o.ownNamespace, o.logger) : new Map(),
            deleteGraceMs: o.deleteGraceMs ?? 30_000,
            ownWrites: new OwnWrites((k) => this.queue.add(k), (k) => this.ctx.secrets.get(k)?.metadata.resourceVersion),
            fanOutConcurrency: 16,
            prefetch: o.prefetch === false ? undefined : new SourcePrefetch({ client: o.client, logger: o.logger, clock: this.clock }),
            memos: newMemos(),
            claimRefusal: o.claims ? (ns) => o.claims!.refusal(ns) : undefined,
        };
        o.metrics.statusCounts = () => this.statusCounts();
        this.build(namespaces);
    }

    private informer<T extends KubeObject>(name: string, path: string, transform: (o: never) => T, onChange: (c: Change<T>) => void, fieldSelector?: string, optional = false): Informer<T> {
        const inf = new Informer<T>({
            name,
            client: this.o.client,
            path,
            fieldSelector,
            transform: transform as (o: KubeObject) => T,
            onChange,
            onWatchEnd: (end) => {
                if (end !== "closed") this.o.metrics.watchRestarts.inc({ informer: name, reason: end });
            },
            logger: this.o.logger,
            clock: this.clock,
            timeoutSeconds: this.o.watchTimeoutSeconds,
            stallMs: this.o.stallMs,
        });
        // An optional informer (a CRD that may come and go) neither gates start-up nor counts for health.
        if (!optional) this.informers.push(inf as unknown as Informer<KubeObject>);
        return inf;
    }

    private build(namespaces: Set<string> | undefined): void {
        const scopes = namespaces ? [...namespaces].map((ns) => ({ tag: ns, core: `/api/v1/namespaces/${ns}`, apps: `/apis/apps/v1/namespaces/${ns}` })) : [{ tag: "all", core: "/api/v1", apps: "/apis/apps/v1" }];
        this.scopeTags = namespaces ? [...namespaces] : undefined;
        // Every secret, labelled or not: sources are created by people and ESO, who put no label of ours on them.
        for (const s of scopes) this.secretCaches.push(this.informer(`secrets[${s.tag}]`, `${s.core}/secrets`, slimSecret, (c) => this.onSecret(c)).cache);
        const nsInf = this.informer("namespaces", "/api/v1/namespaces", slimNamespace, (c) => this.onNamespace(c));
        (this.ctx as { namespaceCache: ReadonlyMap<string, SlimNamespace> }).namespaceCache = nsInf.cache;
        if (this.o.workloads !== false) {
            for (const kind of WORKLOAD_KINDS) {
                for (const s of scopes) {
                    const cache = this.informer(`${kind}[${s.tag}]`, `${s.apps}/${kind}`, slimWorkload, (c) => this.onWorkload(kind, c)).cache;
                    this.workloadCaches.push(cache);
                    this.workloadCachesByKind.push({ kind, cache });
                }
            }
        }
        if (this.o.ownNamespace) {
            const name = this.o.policyName ?? POLICY_CONFIGMAP_NAME;
            this.informer(`policy[${this.o.ownNamespace}/${name}]`, `/api/v1/namespaces/${this.o.ownNamespace}/configmaps`, (o: { metadata: KubeObject["metadata"]; data?: Record<string, string> }) => o, (c) => this.onPolicy(c), `metadata.name=${name}`);
        }
    }

    private scopeTags?: string[];
    private rolloutInformers: Informer<SlimWorkload>[] = [];
    private cancelDiscovery?: () => void;

    /**
     * Argo Rollouts is a CRD: its Rollouts are watched while the cluster serves `argoproj.io/v1alpha1` rollouts
     * (discovery is readable by every authenticated identity), asked at start and every `rolloutsDiscoveryMs`, so
     * installing Argo Rollouts after the reconciler needs no restart and uninstalling it stops the watch. Those
     * informers are optional: a CRD being removed must not hold back start-up or fail /healthz.
     */
    private async watchRolloutsWhenServed(): Promise<void> {
        if (this.o.workloads === false || this.stopped) return;
        let served: boolean | undefined;
        try {
            const list = await this.o.client.request<{ resources?: { name?: string }[] }>("GET", "/apis/argoproj.io/v1alpha1", { object: "discovery argoproj.io/v1alpha1" });
            served = (list.resources ?? []).some((r) => r.name === "rollouts");
        } catch (e) {
            if (isKubeError(e, 404)) served = false;
            else this.o.logger.warn({ err: String((e as Error).message ?? e) }, "Argo Rollouts discovery failed; asked again later");
        }
        if (served === true && this.rolloutInformers.length === 0) this.startRolloutInformers();
        if (served === false && this.rolloutInformers.length > 0) await this.stopRolloutInformers();
        if (!this.stopped) this.cancelDiscovery = this.clock.setTimer(this.o.rolloutsDiscoveryMs ?? 300_000, () => void this.watchRolloutsWhenServed());
    }

    private startRolloutInformers(): void {
        const tags = this.scopeTags ?? ["all"];
        for (const tag of tags) {
            const base = this.scopeTags ? `/apis/argoproj.io/v1alpha1/namespaces/${tag}` : "/apis/argoproj.io/v1alpha1";
            const inf = this.informer(`rollouts[${tag}]`, `${base}/rollouts`, slimWorkload, (c) => this.onWorkload("rollouts", c), undefined, true);
            this.rolloutInformers.push(inf);
            this.workloadCaches.push(inf.cache);
            this.workloadCachesByKind.push({ kind: "rollouts", cache: inf.cache });
            if (this.started) inf.start();
        }
        this.o.logger.info({ namespaces: tags }, "Argo Rollouts served: watching Rollouts");
    }

    private async stopRolloutInformers(): Promise<void> {
        const gone = this.rolloutInformers.splice(0);
        await Promise.all(gone.map((i) => i.stop()));
        for (const i of gone) {
            for (const w of i.cache.values()) this.ctx.index.setWorkload(workloadKey("rollouts", w.metadata.namespace!, w.metadata.name!), []);
            const at = this.workloadCaches.indexOf(i.cache);
            if (at >= 0) this.workloadCaches.splice(at, 1);
            const byKind = this.workloadCachesByKind.findIndex((c) => c.cache === i.cache);
            if (byKind >= 0) this.workloadCachesByKind.splice(byKind, 1);
        }
        this.o.logger.info("Argo Rollouts no longer served: Rollouts are not watched");
    }

    /** Skips the watch echo of a write this process made (see ownwrites.ts). */
    private isOwnEcho(key: string, rv: string | undefined): boolean {
        return this.ctx.ownWrites.isEcho(key, rv);
    }

    private touchConsumers(secretKey: string): void {
        const now = this.clock.now();
        for (const w of this.ctx.index.workloadsOf(secretKey)) {
            const at = this.ctx.debouncer.touch(w, now);
            this.queue.addAfter(w, at - now);
        }
    }

    private onSecret(c: Change<SecretMeta>): void {
        const obj = c.type === "delete" ? undefined : c.obj;
        const old = c.type === "add" ? undefined : c.old;
        this.ctx.index.setDerived(c.key, obj ? sourceKeyOf(obj) : undefined);
        this.statusTally.change(old, obj);
        if (!this.started) return;
        // Content (type + data) changes roll consumers; metadata-only changes and deletions never do, nor changes of a
        // secret marked restart-on-ignore. Toggling that mark changes what the consumers follow: they record a new
        // baseline (no rollout).
        if (obj && !obj.restartIgnored && (!old || obj.contentHash !== old.contentHash || obj.type !== old.type)) this.touchConsumers(c.key);
        if (obj && old && !obj.restartIgnored !== !old.restartIgnored) for (const w of this.ctx.index.workloadsOf(c.key)) this.queue.add(w);
        if (c.type === "delete") {
            const owner = c.old.metadata.annotations?.[ANNOTATION_FAN_OUT_OWNER];
            if (owner && isDerived(c.old)) this.queue.add(owner); // a deleted fan-out copy is re-created
            if (isSourceKey(this.ctx, c.key, c.old)) {
                this.ctx.tombstones.set(c.key, { at: this.clock.now(), retain: c.old.metadata.annotations?.[ANNOTATION_RETAIN] === "true", meta: c.old });
                this.queue.addAfter(c.key, this.ctx.deleteGraceMs);
            }
            return;
        }
        if (this.isOwnEcho(c.key, c.obj.metadata.resourceVersion)) return;
        if (isDerived(c.obj) || isSourceKey(this.ctx, c.key, c.obj)) this.queue.add(c.key);
    }

    private onNamespace(c: Change<SlimNamespace>): void {
        if (!this.started || (c.type === "update" && JSON.stringify(c.old.metadata.labels) === JSON.stringify(c.obj.metadata.labels))) return;
        // Labels decide fan-out selection and selector grants: re-evaluate fan-out sources and that namespace's derived secrets.
        const ns = (c.type === "delete" ? c.old : c.obj).metadata.name;
        for (const [k, s] of this.ctx.secrets) if (hasFanOut(s) || (s.metadata.namespace === ns && isDerived(s))) this.queue.add(k);
    }

    private onWorkload(kind: WorkloadKind, c: Change<SlimWorkload>): void {
        const w = c.type === "delete" ? c.old : c.obj;
        const key = workloadKey(kind, w.metadata.namespace!, w.metadata.name!);
        if (c.type === "delete") {
            this.ctx.index.setWorkload(key, []);
            this.ctx.debouncer.clear(key);
            return;
        }
        this.ctx.index.setWorkload(key, c.obj.consumes.map((n) => `${w.metadata.namespace}/${n}`));
        if (this.started && c.obj.consumes.length > 0 && (c.type === "add" || c.old.consumes.join(",") !== c.obj.consumes.join(","))) this.queue.add(key);
    }

    private onPolicy(c: Change<{ metadata: KubeObject["metadata"]; data?: Record<string, string> }>): void {
        const object = `configmap ${this.o.ownNamespace}/${this.o.policyName ?? POLICY_CONFIGMAP_NAME}`;
        const wasPaused = this.policy.pauseRestarts !== undefined;
        if (c.type === "delete") this.policy = EMPTY_POLICY;
        else {
            try {
                this.policy = parsePolicy(c.obj.data?.[POLICY_KEY], object);
                this.policyError = undefined;
            } catch (e) {
                // Bad input changes nothing: the last good policy stays in force, and the error is loud.
                this.policyError = (e as Error).message;
                this.o.logger.error({ object, err: this.policyError }, "invalid policy; keeping the last valid one");
                return;
            }
        }
        this.o.logger.info({ object, fanOutGrants: this.policy.fanOut.length, hookBindings: this.policy.hooks.length, ...(this.policy.pauseRestarts ? { restartsPaused: this.policy.pauseRestarts.reason } : {}) }, "policy loaded");
        if (!this.started) return;
        // Resumed: every workload decides again (the restarts held back during the pause happen now, once each).
        if (wasPaused && !this.policy.pauseRestarts) {
            for (const { kind, cache } of this.workloadCachesByKind) for (const w of cache.values()) if (w.consumes.length > 0) this.queue.add(workloadKey(kind, w.metadata.namespace!, w.metadata.name!));
        }
        for (const b of this.policy.hooks) this.queue.add(`${b.source.namespace}/${b.source.name}`);
        for (const [k, s] of this.ctx.secrets) if (hasFanOut(s)) this.queue.add(k);
    }

    /**
     * Enqueues every key with a role, once (start-up and the periodic resync): sources, derived secrets whose source
     * is not cached (a cached source's reconcile covers its dependants: one GET per source, not per dependant),
     * opted-in workloads.
     */
    resyncAll(sources?: Set<string>): number {
        let n = 0;
        for (const [k, s] of this.ctx.secrets) {
            const src = isDerived(s) ? sourceKeyOf(s) : undefined;
            const derivedAlone = isDerived(s) && (src === undefined || !this.ctx.secrets.has(src));
            const source = isSourceKey(this.ctx, k, s) && !this.allFresh(k, s);
            if (derivedAlone || source) {
                this.queue.add(k);
                if (source) sources?.add(k);
                n++;
            }
        }
        for (const { kind, cache } of this.workloadCachesByKind) {
            for (const w of cache.values()) {
                if (w.consumes.length === 0) continue;
                this.queue.add(workloadKey(kind, w.metadata.namespace!, w.metadata.name!));
                n++;
            }
        }
        return n;
    }

    /**
     * A plain source (no fan-out, no hooks) whose every dependant the cache shows in sync with exactly its current
     * content, as last verified by a write or check of ours: nothing to do, and no request to find that out.
     */
    private allFresh(key: string, source: SecretMeta): boolean {
        if (hasFanOut(source) || hooksFor(this.policy, key).length > 0 || this.ctx.tombstones.has(key)) return false;
        return this.ctx.index.derivedOf(key).every((d) => {
            const m = this.ctx.secrets.get(d);
            return m !== undefined && freshInCache(this.ctx, m, source);
        });
    }

    private scheduleResync(): void {
        const every = this.o.resyncMs ?? 600_000;
        if (every <= 0 || this.stopped) return;
        const delay = Math.round(every * (0.9 + 0.2 * Math.random()));
        this.cancelResync = this.clock.setTimer(delay, () => {
            const n = this.resyncAll();
            this.o.logger.info({ keys: n }, "periodic resync");
            this.scheduleResync();
        });
    }

    async start(): Promise<void> {
        await this.watchRolloutsWhenServed();
        for (const inf of this.informers) inf.start();
        for (const inf of this.rolloutInformers) inf.start();
        await Promise.all(this.informers.map((i) => i.waitForSync()));
        // Deletions witnessed by an earlier process: their grace runs on from when they were seen, not from now.
        const tombstones = this.ctx.tombstones instanceof PersistentTombstones ? await this.ctx.tombstones.load().catch((e: unknown) => (this.o.logger.warn({ err: String(e) }, "persisted tombstones not read"), [] as string[])) : [];
        this.started = true;
        const sources = new Set<string>();
        const queued = this.resyncAll(sources);
        for (const k of tombstones) this.queue.add(k);
        await this.prefetchSources(sources);
        const n = this.o.workers ?? 8;
        for (let i = 0; i < n; i++) this.workers.push(this.work());
        this.scheduleResync();
        this.o.logger.info({ informers: this.informers.length, workers: n, queued, index: this.ctx.index.stats }, "controller started");
    }

    /** One LIST per namespace dense with queued sources instead of one GET per source (prefetch.ts), before the workers. */
    private async prefetchSources(sources: Set<string>): Promise<void> {
        if (!this.ctx.prefetch || sources.size === 0) return;
        const perNamespace = new Map<string, number>();
        for (const s of this.ctx.secrets.values()) perNamespace.set(s.metadata.namespace!, (perNamespace.get(s.metadata.namespace!) ?? 0) + 1);
        const r = await this.ctx.prefetch.fill(sources, (ns) => perNamespace.get(ns) ?? 0, (k) => this.ctx.secrets.get(k)?.metadata.resourceVersion);
        if (r.namespaces > 0) this.o.logger.info({ ...r, sources: sources.size }, "start-up prefetch of sources");
    }

    get synced(): boolean {
        return this.informers.every((i) => i.hasSynced);
    }

    /** Problems /healthz reports: watches failing for longer than `maxFailingMs`, an invalid policy. */
    healthProblems(maxFailingMs = 120_000): string[] {
        const out: string[] = [];
        const now = this.clock.now();
        for (const i of this.informers) if (i.failingForMs(now) > maxFailingMs) out.push(`watch ${i.name} failing for ${Math.round(i.failingForMs(now) / 1000)} s`);
        if (this.policyError) out.push(`policy invalid (last valid one in force): ${this.policyError}`);
        return out;
    }

    informerStats(): Record<string, Informer<KubeObject>["stats"]> {
        const out: Record<string, Informer<KubeObject>["stats"]> = {};
        for (const i of this.informers) out[i.name] = i.stats;
        return out;
    }

    private statusCounts(): Record<string, number> {
        return this.statusTally.counts();
    }

    /** Queues every cached secret in `namespaces` (their claim changed: status and work follow at once). */
    requeueNamespaces(namespaces: (ns: string) => boolean): number {
        let n = 0;
        for (const [k, s] of this.ctx.secrets) {
            if (!namespaces(s.metadata.namespace ?? "")) continue;
            this.queue.add(k);
            n++;
        }
        return n;
    }

    private async reconcileKey(key: string): Promise<void> {
        const parsed = parseQueueKey(key);
        const refused = this.o.claims?.refusal(parsed.namespace);
        if (refused) {
            // Another instance acts here: no write, restart or hook; the secret says why (annotation + Event, once).
            const meta = parsed.kind === "secret" ? this.ctx.secrets.get(key) : undefined;
            if (meta && (isDerived(meta) || isSourceKey(this.ctx, key, meta))) await markClaimRefused(this.ctx, meta, refused);
            // Start-up and resync queue a source, not each of its derived secrets (its reconcile covers them): its
            // dependants in claimed namespaces are marked here, else one created before start-up is never marked.
            if (meta) await this.markDependantsRefused(key);
            return;
        }
        if (parsed.kind !== "secret") return reconcileWorkload(this.ctx, parsed.kind, parsed.namespace, parsed.name);
        const meta = this.ctx.secrets.get(key);
        // Derived first (its own data), then the source role (its dependants); a key may play both.
        if (meta && isDerived(meta)) await reconcileDerivedKey(this.ctx, key);
        if (isSourceKey(this.ctx, key, meta)) await reconcileSourceKey(this.ctx, key);
    }

    private async markDependantsRefused(sourceKey: string): Promise<void> {
        for (const d of this.ctx.index.derivedOf(sourceKey)) {
            const m = this.ctx.secrets.get(d);
            const why = m && isDerived(m) ? this.ctx.claimRefusal?.(m.metadata.namespace ?? "") : undefined;
            if (m && why) await markClaimRefused(this.ctx, m, why);
        }
    }

    private async work(): Promise<void> {
        for (;;) {
            const key = await this.queue.get();
            if (key === undefined) return;
            const kind = parseQueueKey(key).kind;
            const end = this.o.metrics.reconcileSeconds.startTimer({ kind });
            try {
                await this.reconcileKey(key);
                this.queue.forget(key);
            } catch (e) {
                this.o.metrics.reconcileErrors.inc({ kind });
                const conflict = (e as { code?: number }).code === 409;
                const retried = this.queue.addRateLimited(key);
                const attempts = this.queue.attempts(key);
                // Every failure is logged; the queue never gives up silently (unbounded retries by default).
                if (!retried) this.o.logger.error({ object: key, err: String((e as Error).message ?? e) }, "reconcile failed; attempts exhausted, waiting for the next change or resync");
                else this.o.logger[conflict && attempts < 3 ? "debug" : "warn"]({ object: key, err: String((e as Error).message ?? e), attempts }, "reconcile failed; retrying");
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
        this.cancelResync?.();
        this.cancelDiscovery?.();
        await Promise.all([...this.informers, ...this.rolloutInformers].map((i) => i.stop()));
        await this.queue.shutDown();
        await Promise.all(this.workers);
    }
}
