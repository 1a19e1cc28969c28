import { FIELD_MANAGER } from "./keys";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { Logger } from "../lib/log";
import { Controller, ControllerOptions } from "./controller";
import { Fingerprinter, loadFingerprinter } from "./fingerprint";
import { KubeClient } from "../lib/kube";
import { LeaderElector } from "./machinery/leader";
import { ReconcilerMetrics } from "./machinery/metrics";
import { Recorder } from "./machinery/recorder";
import { VaultConfig, VaultKv } from "./hooks/vault";
import { ClaimWatcher } from "./trust/claims";

export interface ReconcilerOptions extends Omit<ControllerOptions, "client" | "logger" | "metrics" | "recorder" | "vault" | "fingerprint"> {
    client: KubeClient;
    logger: Logger;
    identity: string;
    /** Lease; leader election is off when undefined (single replica, tests, benchmark). */
    lease?: { namespace: string; name: string; durationMs?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
    /** Port for /healthz, /readyz, /metrics; undefined = no server, 0 = random. */
    metricsPort?: number;
    /** Address for that server; default all interfaces (Prometheus scrapes the pod IP). Local runs pass 127.0.0.1. */
    metricsHost?: string;
    /** Vault for the postgres hook's previous-version lookup (Kubernetes auth or a token file; never a literal token). */
    vault?: VaultConfig;
    /** Fingerprint key; default: loaded from (or created in) ownNamespace, else a per-process key. */
    fingerprint?: Fingerprinter;
    events?: boolean;
    /** Also export Node process metrics (main.ts sets it; in-process test instances do not). */
    processMetrics?: boolean;
}

/** The process: leader election gates a Controller; an HTTP server reports health and metrics. */
export class Reconciler {
    readonly metrics: ReconcilerMetrics;
    private controller?: Controller;
    private elector?: LeaderElector;
    private server?: http.Server;
    private chain: Promise<void> = Promise.resolve();
    private stopping = false;
    private readonly recorder: Recorder;
    private fingerprint?: Fingerprinter;
    private leadingSince?: number;
    /** Other instances' namespace claims (claims.ts); only with an own namespace, where this instance's claim lives. */
    readonly claims?: ClaimWatcher;
    private claimsStarted = false;

    constructor(private readonly o: ReconcilerOptions) {
        // Everything the reconciler writes carries its name in managedFields (a client handed in keeps its own).
        o.client.fieldManager ??= FIELD_MANAGER;
        if (o.ownNamespace) {
            this.claims = new ClaimWatcher({
                client: o.client,
                logger: o.logger.child({ component: "claims" }),
                ownNamespace: o.ownNamespace,
                onChange: () => this.controller?.requeueNamespaces(() => true),
            });
        }
        this.metrics = new ReconcilerMetrics(() => this.controller?.queue.length ?? 0, o.processMetrics === true, () => this.controller?.queue.retrying ?? 0);
        this.recorder = new Recorder(o.client, o.logger.child({ component: "audit" }), o.identity, o.events !== false);
    }

    get isLeader(): boolean {
        return this.elector ? this.elector.isLeader : !!this.controller;
    }

    get currentController(): Controller | undefined {
        return this.controller;
    }

    /** Ready: standby replicas are ready (they serve metrics); a leader once its caches have synced. */
    get ready(): boolean {
        if (this.stopping) return false;
        if (this.elector && !this.elector.isLeader) return true;
        return !!this.controller?.synced;
    }

    /**
     * Liveness: what is wrong, [] when healthy. A leader whose controller is not running or not synced within
     * `syncGraceMs`, watches failing for minutes, or an invalid policy make the replica unhealthy (kubelet restarts
     * it, the lease moves on); a standby replica is healthy while its elector runs.
     */
    healthProblems(syncGraceMs = 120_000): string[] {
        if (this.stopping) return [];
        const out: string[] = [];
        const leading = this.elector ? this.elector.isLeader : true;
        if (leading) {
            this.leadingSince ??= Date.now();
            const c = this.controller;
            if ((!c || !c.synced) && Date.now() - this.leadingSince > syncGraceMs) out.push(`leader but caches not synced after ${Math.round((Date.now() - this.leadingSince) / 1000)} s`);
            if (c) out.push(...c.healthProblems());
        } else this.leadingSince = undefined;
        out.push(...(this.claims?.problems() ?? []));
        return out;
    }

    get port(): number | undefined {
        const a = this.server?.address();
        return a && typeof a === "object" ? (a as AddressInfo).port : undefined;
    }

    private startController(): void {
        this.chain = this.chain.then(async () => {
            if (this.stopping || this.controller) return;
            this.metrics.isLeader.set(1);
            try {
                this.fingerprint ??= this.o.fingerprint ?? (this.o.ownNamespace ? await loadFingerprinter(this.o.client, this.o.ownNamespace) : Fingerprinter.ephemeral());
            } catch (e) {
                // Never a dead chain: report, and try again (healthz turns red if this lasts).
                this.o.logger.error({ err: String((e as Error).message), namespace: this.o.ownNamespace }, "cannot load the fingerprint key; retrying in 5 s");
                setTimeout(() => this.startController(), 5000).unref();
                return;
            }
            // The claims are known before the first reconcile: a namespace another instance acts in is never touched.
            if (this.claims && !this.claimsStarted) {
                await this.claims.refresh().catch((e) => this.o.logger.warn({ err: String((e as Error).message) }, "cannot read the namespace claims yet"));
                this.claims.start();
                this.claimsStarted = true;
            }
            const elector = this.elector;
            const c = new Controller({
                ...this.o,
                claims: this.claims,
                metrics: this.metrics,
                recorder: this.recorder,
                fingerprint: this.fingerprint,
                vault: this.o.vault ? new VaultKv(this.o.vault) : undefined,
                ...(elector ? { confirmLeadership: () => elector.confirm() } : {}),
            });
            this.controller = c;
            await c.start();
        });
    }

    private stopController(): void {
        this.chain = this.chain.then(async () => {
            const c = this.controller;
            this.controller = undefined;
            this.metrics.isLeader.set(0);
            await c?.stop();
        });
    }

    async start(): Promise<void> {
        if (this.o.metricsPort !== undefined) await this.listen(this.o.metricsPort);
        if (this.o.lease) {
            this.elector = new LeaderElector({
                client: this.o.client,
                logger: this.o.logger,
                namespace: this.o.lease.namespace,
                name: this.o.lease.name,
                identity: this.o.identity,
                leaseDurationMs: this.o.lease.durationMs,
                renewDeadlineMs: this.o.lease.renewDeadlineMs,
                retryPeriodMs: this.o.lease.retryPeriodMs,
                onStartedLeading: () => this.startController(),
                onStoppedLeading: () => this.stopController(),
            });
            this.elector.start();
        } else {
            this.startController();
            await this.chain;
        }
    }

    /** Resolves once this replica leads and its caches are synced. */
    async waitUntilReconciling(timeoutMs = 30_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        while (!(this.controller && this.controller.synced)) {
            if (Date.now() > deadline) throw new Error(`reconciler ${this.o.identity} did not start reconciling within ${timeoutMs} ms`);
            await new Promise((r) => setTimeout(r, 25));
        }
        await this.chain;
    }

    private listen(port: number): Promise<void> {
        this.server = http.createServer((req, res) => {
            const url = (req.url ?? "/").split("?")[0];
            if (url === "/healthz") {
                const problems = this.healthProblems();
                res.writeHead(problems.length ? 503 : 200, { "Content-Type": "text/plain" }).end(problems.length ? problems.join("\n") : "ok");
            } else if (url === "/readyz") {
                const ok = this.ready;
                res.writeHead(ok ? 200 : 503, { "Content-Type": "text/plain" }).end(ok ? "ready" : "not ready");
            } else if (url === "/metrics") {
                this.metrics.registry
                    .metrics()
                    .then((text) => res.writeHead(200, { "Content-Type": this.metrics.registry.contentType }).end(text))
                    .catch(() => res.writeHead(500).end());
            } else {
                res.writeHead(404).end();
            }
        });
        return new Promise((resolve, reject) => {
            this.server!.once("error", reject);
            this.server!.listen(port, this.o.metricsHost, () => resolve());
        });
    }

    /** Graceful shutdown: stop campaigning and watches, drain in-flight reconciles, release the lease, close the server. */
    async stop(): Promise<void> {
        this.stopping = true;
        this.claims?.stop();
        // Drain first, release after: the peer must not start while our last writes are in flight.
        this.stopController();
        await this.chain;
        if (this.elector) await this.elector.stop(true);
        await this.chain;
        await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    }
}
