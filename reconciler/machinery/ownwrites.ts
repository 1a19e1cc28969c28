/**
 * Recognises the watch echo of the reconciler's own writes, so a write does not cause a second reconcile (and a
 * second GET of the source). The echo can arrive BEFORE the write's response: events for a key with a write in
 * flight are held, and decided when the response (with its resourceVersion) is in.
 */
export class OwnWrites {
    private readonly written = new Map<string, string>();
    private readonly inFlight = new Map<string, number>();
    private readonly held = new Set<string>();

    /**
     * @param requeue reconcile `key` again (an event we held was not only our echo)
     * @param cachedRv the informer's current resourceVersion of `key`
     */
    constructor(
        private readonly requeue: (key: string) => void,
        private readonly cachedRv: (key: string) => string | undefined,
    ) {}

    /** Runs one write of `key`, recording the resourceVersion it produced. */
    async track<T extends { metadata: { resourceVersion?: string } }>(key: string, write: () => Promise<T>): Promise<T> {
        this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
        let rv: string | undefined;
        try {
            const res = await write();
            rv = res.metadata.resourceVersion;
            return res;
        } finally {
            this.finish(key, rv);
        }
    }

    private finish(key: string, rv: string | undefined): void {
        const n = (this.inFlight.get(key) ?? 1) - 1;
        if (n > 0) {
            this.inFlight.set(key, n);
            if (rv !== undefined) this.written.set(key, rv);
            return;
        }
        this.inFlight.delete(key);
        if (this.held.delete(key)) {
            // Held events: if the cache already shows our version, what we held was our echo; anything else
            // (a newer foreign change, or a failed write) is reconciled again.
            if (rv === undefined || this.cachedRv(key) !== rv) this.requeue(key);
            return;
        }
        if (rv !== undefined) this.written.set(key, rv);
    }

    /** Whether a watch event for `key` at `rv` needs no reconcile now: our echo, or held until our write returns. */
    isEcho(key: string, rv: string | undefined): boolean {
        if (this.inFlight.has(key)) {
            this.held.add(key);
            return true;
        }
        const mine = this.written.get(key);
        if (mine !== undefined && mine === rv) {
            this.written.delete(key);
            return true;
        }
        return false;
    }
}
