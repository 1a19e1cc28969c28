import { Logger } from "../../lib/log";
import { Clock } from "../machinery/clock";
import { KubeClient } from "../../lib/kube";
import { Secret } from "../model";

/**
 * Start-up prefetch of sources (issue 21: the first start at 10,000 never-verified derived secrets took 66 s, of which
 * one live GET per source). The informer keeps no Secret data (memory must not grow with Secrets nobody depends on),
 * so every source reconcile reads its source live. At start-up thousands of them are queued at once; where they are a
 * good share of a namespace, one paged LIST of that namespace reads them all for a fraction of the apiserver's work
 * (one request per 500 Secrets instead of one per source, no quorum read each).
 *
 * Safety: an entry is used only when its resourceVersion is the one the informer cache holds for the key when the
 * source is reconciled, i.e. it is exactly what a GET would have returned at that version; any later change has moved
 * the cache on and the reconcile reads live as always. What is held is bounded (bytes in all, bytes per Secret, and
 * time: whatever was not used is dropped after `ttlMs`), and the decision which namespaces to list is a pure function.
 */
export interface PrefetchLimits {
    /** A namespace is listed only with at least this many queued sources in it. */
    minSources: number;
    /** ... and when the sources are at least 1/`maxShare` of its Secrets (else the list reads mostly other data). */
    maxShare: number;
    /** Bytes held in all (data + annotations, estimated as their string lengths). */
    budgetBytes: number;
    /** A Secret larger than this is not held (its reconcile GETs it). */
    itemBytes: number;
    /** Unused entries are dropped this long after the fill. */
    ttlMs: number;
}

export const PREFETCH_LIMITS: PrefetchLimits = { minSources: 64, maxShare: 16, budgetBytes: 16 * 1024 * 1024, itemBytes: 64 * 1024, ttlMs: 120_000 };

/** The namespaces worth one LIST, most sources first (pure). `sources`: queued source keys "ns/name". */
export function planPrefetch(sources: Iterable<string>, secretsIn: (ns: string) => number, limits: PrefetchLimits = PREFETCH_LIMITS): string[] {
    const per = new Map<string, number>();
    for (const k of sources) {
        const ns = k.slice(0, k.indexOf("/"));
        per.set(ns, (per.get(ns) ?? 0) + 1);
    }
    return [...per]
        .filter(([ns, n]) => n >= limits.minSources && n * limits.maxShare >= secretsIn(ns))
        .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
        .map(([ns]) => ns);
}

/** The estimated size of one Secret as held (string lengths of what a reconcile reads). */
export function heldBytes(s: Secret): number {
    let n = 256;
    for (const [k, v] of Object.entries(s.data ?? {})) n += k.length + v.length;
    for (const [k, v] of Object.entries(s.metadata?.annotations ?? {})) n += k.length + v.length;
    for (const [k, v] of Object.entries(s.metadata?.labels ?? {})) n += k.length + v.length;
    return n;
}

export class SourcePrefetch {
    private held = new Map<string, Secret>();
    private bytes = 0;
    private cancelTtl?: () => void;

    constructor(
        private readonly o: { client: KubeClient; logger: Logger; clock: Clock; limits?: PrefetchLimits },
    ) {}

    private get limits(): PrefetchLimits {
        return this.o.limits ?? PREFETCH_LIMITS;
    }

    /**
     * Lists the planned namespaces and keeps the wanted sources whose resourceVersion is the cached one. Never throws:
     * a failed list is logged and its sources are read live, as without the prefetch.
     */
    async fill(sources: ReadonlySet<string>, secretsIn: (ns: string) => number, cachedVersion: (key: string) => string | undefined): Promise<{ namespaces: number; held: number; bytes: number; ms: number }> {
        const t0 = this.o.clock.now();
        const namespaces = planPrefetch(sources, secretsIn, this.limits);
        for (const ns of namespaces) {
            let cont: string | undefined;
            try {
                do {
                    const page = await this.o.client.list(`/api/v1/namespaces/${ns}/secrets`, { limit: 500, continue: cont }, (it) => this.offer(it as Secret, sources, cachedVersion));
                    cont = page.continue || undefined;
                } while (cont);
            } catch (e) {
                this.o.logger.warn({ namespace: ns, err: String((e as Error).message ?? e) }, "start-up prefetch failed; its sources are read one by one");
            }
            if (this.bytes >= this.limits.budgetBytes) break;
        }
        this.cancelTtl?.();
        this.cancelTtl = this.o.clock.setTimer(this.limits.ttlMs, () => this.clear());
        return { namespaces: namespaces.length, held: this.held.size, bytes: this.bytes, ms: this.o.clock.now() - t0 };
    }

    private offer(s: Secret, sources: ReadonlySet<string>, cachedVersion: (key: string) => string | undefined): void {
        const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
        if (!sources.has(key) || s.metadata.resourceVersion === undefined || s.metadata.resourceVersion !== cachedVersion(key)) return;
        const size = heldBytes(s);
        if (size > this.limits.itemBytes || this.bytes + size > this.limits.budgetBytes) return;
        this.held.set(key, s);
        this.bytes += size;
    }

    /** The held source of `key` when it is still at the cached `resourceVersion` (used once: it is dropped either way). */
    take(key: string, resourceVersion: string | undefined): Secret | undefined {
        const s = this.held.get(key);
        if (!s) return undefined;
        this.held.delete(key);
        this.bytes -= heldBytes(s);
        return resourceVersion !== undefined && s.metadata.resourceVersion === resourceVersion ? s : undefined;
    }

    clear(): void {
        this.held = new Map();
        this.bytes = 0;
        this.cancelTtl?.();
        this.cancelTtl = undefined;
    }

    get size(): number {
        return this.held.size;
    }
}
