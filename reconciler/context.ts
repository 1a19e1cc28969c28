import { LRUCache } from "lru-cache";
import { Logger } from "../lib/log";
import { Clock } from "./machinery/clock";
import { Fingerprinter } from "./fingerprint";
import { HookRunner } from "./hooks/hooks";
import { KubeClient } from "../lib/kube";
import { ReconcilerMetrics } from "./machinery/metrics";
import { OwnWrites } from "./machinery/ownwrites";
import { BOUNDED_MEMO_ENTRIES, DependencyIndex, SecretMeta, SlimNamespace, SlimWorkload } from "./model";
import { ReconcilerPolicy } from "./trust/policy";
import { WorkQueue } from "./machinery/queue";
import { SourcePrefetch } from "./derived/prefetch";
import { Recorder } from "./machinery/recorder";
import type { WorkloadKind } from "./machinery/queue-keys";
import { Debouncer } from "./restarts/workloads";

/** A source deletion this process witnessed; its derived secrets are deleted once it stays gone for the grace period. */
export interface Tombstone {
    at: number;
    retain: boolean;
    /** The source as last cached: its grants decide whether cross-namespace copies may be deleted. */
    meta: SecretMeta;
}

/**
 * What this process remembers between reconciles, besides the caches: bounded (issue 21: no map grows with what
 * tenants create); forgetting an entry costs at most one repeated Event or one more takeover, never correctness.
 */
export interface ReconcileMemos {
    /** Secrets whose ignored hooks annotation was warned about: key → resourceVersion (one Warning per version). */
    warnedHooks: LRUCache<string, string>;
    /** Refused fan-out targets reported: "source>target" → the source's resourceVersion (one Event per version). */
    reportedTargets: LRUCache<string, string>;
    /** When another key's synced fingerprint was last taken over, per derived secret (bounds a two-key ping-pong). */
    foreignTakeovers: LRUCache<string, number>;
}

export function newMemos(): ReconcileMemos {
    return {
        warnedHooks: new LRUCache({ max: BOUNDED_MEMO_ENTRIES }),
        reportedTargets: new LRUCache({ max: BOUNDED_MEMO_ENTRIES }),
        foreignTakeovers: new LRUCache({ max: BOUNDED_MEMO_ENTRIES }),
    };
}

/** Everything reconcile functions share; built by the Controller. Caches are read-only views of the informers. */
export interface ReconcileContext {
    client: KubeClient;
    logger: Logger;
    recorder: Recorder;
    metrics: ReconcilerMetrics;
    queue: WorkQueue;
    clock: Clock;
    hooks: HookRunner;
    debouncer: Debouncer;
    fingerprint: Fingerprinter;
    /** Namespaces in scope; undefined = all. */
    namespaces?: ReadonlySet<string>;
    secrets: ReadonlyMap<string, SecretMeta>;
    namespaceCache: ReadonlyMap<string, SlimNamespace>;
    workloads: ReadonlyMap<string, SlimWorkload>;
    /** The cached workload of one kind ("ns/name"), for decisions that need no GET. */
    workloadMeta(kind: WorkloadKind, key: string): SlimWorkload | undefined;
    index: DependencyIndex;
    /** The administrator's policy as last read (hooks, fan-out grants). */
    policy(): ReconcilerPolicy;
    tombstones: Map<string, Tombstone>;
    /** How long a deleted source may stay gone before its derived secrets are deleted. */
    deleteGraceMs: number;
    /** The writes this process made, so the echo of our own write is not reconciled again. */
    ownWrites: OwnWrites;
    /** Parallel writes inside one source's reconcile. */
    fanOutConcurrency: number;
    /** Sources read by one LIST at start-up (prefetch.ts), used once each at the cached resourceVersion. */
    prefetch?: SourcePrefetch;
    /** Bounded memos (no module-level state: two controllers in one process never share them). */
    memos: ReconcileMemos;
    /**
     * Why this instance must not act in `namespace` (another reconciler instance claims it: trust/claims.ts), or
     * undefined. Checked per written object, not only per queued key: a source's reconcile writes its dependants.
     */
    claimRefusal?: (namespace: string) => string | undefined;
}

export function inScope(ctx: Pick<ReconcileContext, "namespaces">, namespace: string): boolean {
    return !ctx.namespaces || ctx.namespaces.has(namespace);
}

export function splitKey(key: string): { namespace: string; name: string } {
    const i = key.indexOf("/");
    return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Runs `fn` over `items` with at most `limit` in flight; collects errors instead of stopping. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<unknown[]> {
    const errors: unknown[] = [];
    let i = 0;
    const worker = async () => {
        while (i < items.length) {
            const t = items[i++];
            try {
                await fn(t);
            } catch (e) {
                errors.push(e);
            }
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return errors;
}

/**
 * Read-only view over several maps (one per namespace-scoped informer): a real ReadonlyMap (the type checks every
 * member), each key in at most one of them.
 */
export class UnionView<T> implements ReadonlyMap<string, T> {
    constructor(private readonly maps: readonly Map<string, T>[]) {}

    get(k: string): T | undefined {
        for (const m of this.maps) {
            const v = m.get(k);
            if (v !== undefined) return v;
        }
        return undefined;
    }
    has(k: string): boolean {
        return this.maps.some((m) => m.has(k));
    }
    get size(): number {
        return this.maps.reduce((n, m) => n + m.size, 0);
    }
    *entries(): MapIterator<[string, T]> {
        for (const m of this.maps) yield* m.entries();
    }
    *keys(): MapIterator<string> {
        for (const m of this.maps) yield* m.keys();
    }
    *values(): MapIterator<T> {
        for (const m of this.maps) yield* m.values();
    }
    forEach(fn: (v: T, k: string, map: ReadonlyMap<string, T>) => void): void {
        for (const m of this.maps) m.forEach((v, k) => fn(v, k, this));
    }
    [Symbol.iterator](): MapIterator<[string, T]> {
        return this.entries();
    }
}

export function unionView<T>(maps: Map<string, T>[]): ReadonlyMap<string, T> {
    return new UnionView(maps);
}
