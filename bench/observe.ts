/**
 * Observers: a watch of the bench's own (separate from the reconciler's) that timestamps, on arrival, the event in
 * which an object first satisfies a predicate. Latency = that moment − the moment the triggering PUT was sent.
 */
import { KubeClient, WatchEvent, WatchHandle } from "../lib/kube";
import { ANNOTATION_SECRETS_HASH } from "../reconciler/keys";
import { b64 } from "./lib";

interface Waiter {
    key: string;
    pred: (o: any) => boolean;
    resolve: (t: number) => void;
    timer: NodeJS.Timeout;
}

export class Watcher {
    private readonly waiters = new Set<Waiter>();
    /** Latest object per "ns/name" seen by the list or the watch (only kept when `keep` is set). */
    readonly objects = new Map<string, any>();
    private handle?: WatchHandle;
    ended = false;

    private constructor(
        private readonly client: KubeClient,
        private readonly path: string,
        private readonly labelSelector: string | undefined,
        private readonly keep: boolean,
    ) {}

    /** Lists (fully when `keep`, else one item for the resourceVersion) then watches from that version. */
    static async start(client: KubeClient, path: string, labelSelector?: string, keep = false): Promise<Watcher> {
        const w = new Watcher(client, path, labelSelector, keep);
        await w.run();
        return w;
    }

    private async run(): Promise<void> {
        let rv = "";
        let cont: string | undefined;
        do {
            const page = await this.client.request<{ items?: any[]; metadata?: { resourceVersion?: string; continue?: string } }>("GET", this.path, { query: { labelSelector: this.labelSelector, limit: this.keep ? 500 : 1, continue: cont } });
            if (this.keep) for (const o of page.items ?? []) this.objects.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
            rv = page.metadata?.resourceVersion ?? rv;
            cont = this.keep ? page.metadata?.continue || undefined : undefined;
        } while (cont);
        this.handle = await this.client.watch(
            this.path,
            { labelSelector: this.labelSelector, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 3 * 3600 },
            (ev) => this.onEvent(ev),
            () => undefined,
        );
        this.handle.done.then(
            () => (this.ended = true),
            () => (this.ended = true),
        );
    }

    private onEvent(ev: WatchEvent): void {
        const t = performance.now();
        if (ev.type !== "ADDED" && ev.type !== "MODIFIED") return;
        const o = ev.object as any; // bench: fields read loosely, asserted by the waiters
        const key = `${o?.metadata?.namespace}/${o?.metadata?.name}`;
        if (this.keep) this.objects.set(key, o);
        for (const w of this.waiters) {
            if (w.key !== key || !w.pred(o)) continue;
            this.waiters.delete(w);
            clearTimeout(w.timer);
            w.resolve(t);
        }
    }

    /** Resolves with the arrival time of the first event of `key` satisfying `pred`, or -1 after `timeoutMs`. */
    waitFor(key: string, pred: (o: any) => boolean, timeoutMs: number): Promise<number> {
        return new Promise((resolve) => {
            const w: Waiter = {
                key,
                pred,
                resolve,
                timer: setTimeout(() => {
                    this.waiters.delete(w);
                    resolve(-1);
                }, timeoutMs),
            };
            this.waiters.add(w);
        });
    }

    /** Waits for a secret whose `password` is `value`. */
    waitPassword(key: string, value: string, timeoutMs: number): Promise<number> {
        const want = b64(value);
        return this.waitFor(key, (o) => o?.data?.password === want, timeoutMs);
    }

    /** The pod-template secrets-hash annotation of a cached Deployment. */
    templateHash(key: string): string | undefined {
        return templateHashOf(this.objects.get(key));
    }

    /** Waits for a Deployment whose pod-template secrets-hash differs from the one cached now. */
    waitTemplateChange(key: string, timeoutMs: number): Promise<number> {
        const before = this.templateHash(key);
        return this.waitFor(key, (o) => templateHashOf(o) !== before, timeoutMs);
    }

    stop(): void {
        this.handle?.abort();
        for (const w of this.waiters) clearTimeout(w.timer);
        this.waiters.clear();
    }
}

export function templateHashOf(o: any): string | undefined {
    return o?.spec?.template?.metadata?.annotations?.[ANNOTATION_SECRETS_HASH];
}

/** Latencies of a sample where -1 means "timed out": the measured ones and the number of misses. */
export function split(xs: readonly number[]): { ok: number[]; missed: number } {
    const ok = xs.filter((x) => x >= 0);
    return { ok, missed: xs.length - ok.length };
}
