import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Prometheus metrics of one reconciler process (own Registry, so two instances can live in one test process). */
export class ReconcilerMetrics {
    readonly registry = new Registry();
    readonly queueDepth: Gauge;
    readonly reconcileSeconds: Histogram;
    readonly reconcileErrors: Counter;
    readonly writes: Counter;
    readonly restarts: Counter;
    readonly restartsPaused: Counter;
    readonly hookRuns: Counter;
    readonly isLeader: Gauge;
    readonly watchRestarts: Counter;
    readonly refusals: Counter;
    readonly keysInRetry: Gauge;
    readonly statuses: Gauge;
    /** Set by the leading controller: counts of derived secrets by status, read at scrape time. */
    statusCounts: () => Record<string, number> = () => ({});

    constructor(queueDepth: () => number = () => 0, processMetrics = false, inRetry: () => number = () => 0) {
        const registers = [this.registry];
        // Process metrics (RSS, heap, event-loop lag) once per process, not per in-process test instance.
        if (processMetrics) collectDefaultMetrics({ register: this.registry });
        this.queueDepth = new Gauge({ name: "platform_secrets_queue_depth", help: "Keys waiting in the work queue", registers, collect() { this.set(queueDepth()); } });
        this.reconcileSeconds = new Histogram({
            name: "platform_secrets_reconcile_duration_seconds",
            help: "Duration of one reconcile",
            labelNames: ["kind"],
            buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
            registers,
        });
        this.reconcileErrors = new Counter({ name: "platform_secrets_reconcile_errors_total", help: "Failed reconciles", labelNames: ["kind"], registers });
        this.writes = new Counter({ name: "platform_secrets_writes_total", help: "Secret writes and deletes", labelNames: ["action", "reason"], registers });
        this.restarts = new Counter({ name: "platform_secrets_workload_restarts_total", help: "Workload rollouts triggered", labelNames: ["kind"], registers });
        this.restartsPaused = new Counter({ name: "platform_secrets_workload_restarts_paused_total", help: "Workload rollouts held back by the policy's pauseRestarts", labelNames: ["kind"], registers });
        this.hookRuns = new Counter({ name: "platform_secrets_hook_runs_total", help: "Init-time hook runs", labelNames: ["hook", "result"], registers });
        this.isLeader = new Gauge({ name: "platform_secrets_is_leader", help: "1 while this replica holds the lease", registers });
        this.watchRestarts = new Counter({ name: "platform_secrets_watch_restarts_total", help: "Watches re-established", labelNames: ["informer", "reason"], registers });
        this.refusals = new Counter({ name: "platform_secrets_refusals_total", help: "Actions refused by the trust model, by reason", labelNames: ["reason"], registers });
        this.keysInRetry = new Gauge({ name: "platform_secrets_keys_in_retry", help: "Keys whose last reconcile failed and that are waiting for a retry", registers, collect() { this.set(inRetry()); } });
        // prom-client calls collect() with the metric as `this`; the registry-wide values are ours.
        // eslint-disable-next-line @typescript-eslint/no-this-alias
        const self = this;
        this.statuses = new Gauge({
            name: "platform_secrets_derived_secrets",
            help: "Derived secrets by status annotation (in-sync, stale, source-missing, refused, error, unknown)",
            labelNames: ["status"],
            registers,
            collect() {
                this.reset();
                for (const [status, n] of Object.entries(self.statusCounts())) this.set({ status }, n);
            },
        });
    }
}
