import { Logger } from "../../lib/log";
import { Clock, realClock, WakeableSleep } from "./clock";
import { isKubeError, KubeClient } from "../../lib/kube";
import { LeaseRecord, leaseDecision, microTime, nextLease } from "./lease";

export interface LeaderElectorOptions {
    client: KubeClient;
    logger: Logger;
    namespace: string;
    name: string;
    identity: string;
    /** default 15 000 */
    leaseDurationMs?: number;
    /** Give up leadership when no renew succeeded for this long; default 10 000 (must be < leaseDurationMs). */
    renewDeadlineMs?: number;
    /** Pause between attempts; default 2 000. */
    retryPeriodMs?: number;
    clock?: Clock;
    onStartedLeading: () => void;
    onStoppedLeading: () => void;
}

/** Leader election on a coordination.k8s.io/v1 Lease with optimistic concurrency (client-go's algorithm). */
export class LeaderElector {
    private leading = false;
    private stopped = false;
    private lastRenew = 0;
    private observed = "";
    private observedAt = 0;
    private loop?: Promise<void>;
    private readonly sleeper: WakeableSleep;
    private readonly clock: Clock;
    readonly durationMs: number;
    readonly renewDeadlineMs: number;
    readonly retryPeriodMs: number;

    constructor(private readonly o: LeaderElectorOptions) {
        this.clock = o.clock ?? realClock;
        this.sleeper = new WakeableSleep(this.clock);
        this.durationMs = o.leaseDurationMs ?? 15_000;
        this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
        this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
        if (!(this.renewDeadlineMs < this.durationMs && this.retryPeriodMs < this.renewDeadlineMs)) {
            throw new Error(`leader election: need retryPeriod (${this.retryPeriodMs}) < renewDeadline (${this.renewDeadlineMs}) < leaseDuration (${this.durationMs}); fix the lease options`);
        }
    }

    get isLeader(): boolean {
        return this.leading;
    }

    /**
     * A fresh check before an action that must not run twice: leading, renewed within the renew deadline by OUR
     * clock (a stalled loop has not), and the Lease as the apiserver has it now names us with an unexpired renewal.
     */
    async confirm(): Promise<boolean> {
        if (!this.leading || this.stopped) return false;
        const now = this.clock.now();
        if (now - this.lastRenew > this.renewDeadlineMs) return false;
        try {
            const lease = (await this.o.client.request("GET", this.path)) as { spec?: LeaseRecord };
            const renewed = lease.spec?.renewTime ? Date.parse(String(lease.spec.renewTime)) : NaN;
            return lease.spec?.holderIdentity === this.o.identity && Number.isFinite(renewed) && this.clock.now() - renewed < this.durationMs;
        } catch (e) {
            this.o.logger.warn({ lease: `${this.o.namespace}/${this.o.name}`, err: String(e) }, "cannot confirm leadership");
            return false;
        }
    }

    private get path(): string {
        return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${this.o.name}`;
    }

    start(): void {
        if (!this.loop) this.loop = this.run();
    }

    /** One acquire/renew attempt; true when we hold the lease afterwards. */
    async tryOnce(): Promise<boolean> {
        const now = this.clock.now();
        let lease: { metadata: { resourceVersion?: string }; spec?: LeaseRecord } | undefined;
        try {
            lease = await this.o.client.request("GET", this.path);
        } catch (e) {
            if (!isKubeError(e, 404)) throw e;
        }
        const spec: LeaseRecord | undefined = lease?.spec;
        const fingerprint = `${spec?.holderIdentity}|${spec?.renewTime}`;
        if (fingerprint !== this.observed) {
            this.observed = fingerprint;
            this.observedAt = now;
        }
        const action = leaseDecision(spec, this.o.identity, now, this.observedAt, this.durationMs);
        if (action === "wait") return false;
        const body = {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name: this.o.name, namespace: this.o.namespace, ...(lease ? { resourceVersion: lease.metadata.resourceVersion } : {}) },
            spec: nextLease(spec, action, this.o.identity, now, Math.ceil(this.durationMs / 1000)),
        };
        try {
            if (action === "create") await this.o.client.request("POST", `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`, { body });
            else await this.o.client.request("PUT", this.path, { body });
        } catch (e) {
            if (isKubeError(e, 409)) return false;
            throw e;
        }
        return true;
    }

    private sleep(ms: number): Promise<void> {
        return this.sleeper.sleep(ms);
    }

    private async run(): Promise<void> {
        while (!this.stopped) {
            let ok = false;
            try {
                ok = await this.tryOnce();
            } catch (e) {
                this.o.logger.warn({ lease: `${this.o.namespace}/${this.o.name}`, err: String(e) }, "lease attempt failed");
            }
            if (this.stopped) break;
            const now = this.clock.now();
            if (ok) {
                this.lastRenew = now;
                if (!this.leading) {
                    this.leading = true;
                    this.o.logger.info({ identity: this.o.identity }, "became leader");
                    this.o.onStartedLeading();
                }
            } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
                this.leading = false;
                this.o.logger.warn({ identity: this.o.identity }, "lost leadership");
                this.o.onStoppedLeading();
            }
            await this.sleep(this.retryPeriodMs * (this.leading ? 1 : 0.8 + 0.4 * Math.random()));
        }
    }

    /** Stops campaigning; when leading, releases the lease so a peer takes over at once. */
    async stop(release = true): Promise<void> {
        this.stopped = true;
        this.sleeper.wake();
        await this.loop;
        if (this.leading && release) {
            try {
                const lease = await this.o.client.request<{ spec?: LeaseRecord }>("GET", this.path);
                if (lease.spec?.holderIdentity === this.o.identity) {
                    lease.spec = { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(this.clock.now()) };
                    await this.o.client.request("PUT", this.path, { body: lease });
                }
            } catch (e) {
                this.o.logger.warn({ err: String(e) }, "lease release failed; the peer takes over after the lease expires");
            }
        }
        if (this.leading) {
            this.leading = false;
            this.o.onStoppedLeading();
        }
    }
}
