import { Logger } from "../lib/log";
import { Clock } from "./clock";
import { HookRunner } from "./hooks";
import { KubeClient } from "./kube";
import { ReconcilerMetrics } from "./metrics";
import { MultiIndex, SlimNamespace, SlimSecret, SlimWorkload } from "./model";
import { WorkQueue } from "./queue";
import { Recorder } from "./recorder";
import { Debouncer } from "./workloads";

/** Tombstone of a source deletion this process witnessed (only witnessed deletions delete derived secrets). */
export interface Tombstone {
    at: number;
    retain: boolean;
}

/** Everything reconcile functions share; built by the Controller. */
export interface ReconcileContext {
    client: KubeClient;
    logger: Logger;
    recorder: Recorder;
    metrics: ReconcilerMetrics;
    queue: WorkQueue;
    clock: Clock;
    hooks: HookRunner;
    debouncer: Debouncer;
    /** Namespaces in scope; undefined = all. */
    namespaces?: ReadonlySet<string>;
    derived: ReadonlyMap<string, SlimSecret>;
    sources: ReadonlyMap<string, SlimSecret>;
    namespaceCache: ReadonlyMap<string, SlimNamespace>;
    workloads: ReadonlyMap<string, SlimWorkload>;
    derivedBySource: MultiIndex;
    workloadsBySecret: MultiIndex;
    tombstones: Map<string, Tombstone>;
    /** resourceVersions this process wrote, so the echo of our own write is not reconciled again. */
    ownWrites: Map<string, string>;
    /** Parallel writes inside one fan-out. */
    fanOutConcurrency: number;
}

export function inScope(ctx: ReconcileContext, namespace: string): boolean {
    return !ctx.namespaces || ctx.namespaces.has(namespace);
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
