/**
 * Prometheus alert rules for the reconciler's metrics (reconciler/machinery/metrics.ts), as a pure function of options.
 * Rendered as a plain rules file (`rule_files:`) or as a prometheus-operator PrometheusRule (the stack renders the
 * latter when the operator is present). Every metric and label used here is checked against what a real
 * reconciler exports (test/unit/cli/alerts.test.ts, test/integration/cli/alerts.test.ts).
 */

export interface AlertOptions {
    /** Derived secrets stale / source-missing / error / never reported for longer than this. Default 15. */
    notInSyncForMinutes?: number;
    /** Derived secrets refused (a missing grant: the tenant's mistake, but nothing is copied) for longer than this. Default 30. */
    refusedForMinutes?: number;
    /** Keys failing and retried for longer than this. Default 10. */
    retryForMinutes?: number;
    /** Window in which any failed init-time hook run alerts. Default 15. */
    hookFailureWindowMinutes?: number;
    /** Watch restarts (stalled or failing, not the routine 410 relist) per informer in 15 minutes. Default 5. */
    watchRestartsPer15m?: number;
    /** No replica holding the lease for longer than this (includes "no reconciler scraped at all"). Default 5. */
    noLeaderForMinutes?: number;
    /** Work queue deeper than this for 10 minutes. Default 500. */
    queueDepth?: number;
    /**
     * Extra label matchers for every selector, to pick this reconciler's series out of a shared Prometheus, e.g.
     * `namespace="platform-secrets-system"` or `job="platform-secrets-reconciler-metrics"`.
     */
    selector?: string;
    /** Added to every alert's labels. */
    labels?: Record<string, string>;
    /** Prefix of runbook links (`runbook_url`, the alert name appended as an anchor); default none. */
    runbookUrl?: string;
}

export interface AlertRule {
    alert: string;
    expr: string;
    for?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
}

export interface RuleGroup {
    name: string;
    rules: AlertRule[];
}

export const RULE_GROUP_NAME = "platform-secrets-reconciler";

function minutes(v: number | undefined, def: number, what: string): number {
    const n = v ?? def;
    if (!Number.isFinite(n) || n <= 0) throw new Error(`alerts: ${what} must be a positive number of minutes (got ${String(v)})`);
    return n;
}

/** `name{a="b", <selector>}` — the option's matchers are appended to every selector. */
function sel(metric: string, matchers: string[], o: AlertOptions): string {
    const all = [...matchers, ...(o.selector ? [o.selector] : [])];
    return all.length ? `${metric}{${all.join(", ")}}` : metric;
}

/** The alert thresholds of `o`, defaults applied; throws on an invalid number of minutes. */
function limits(o: AlertOptions) {
    const notInSync = minutes(o.notInSyncForMinutes, 15, "notInSyncForMinutes");
    const refused = minutes(o.refusedForMinutes, 30, "refusedForMinutes");
    const retry = minutes(o.retryForMinutes, 10, "retryForMinutes");
    const hookWin = minutes(o.hookFailureWindowMinutes, 15, "hookFailureWindowMinutes");
    const noLeader = minutes(o.noLeaderForMinutes, 5, "noLeaderForMinutes");
    const restarts = o.watchRestartsPer15m ?? 5;
    const depth = o.queueDepth ?? 500;
    return { notInSync, refused, retry, hookWin, noLeader, restarts, depth };
}

/** The resolved thresholds the rule families read. */
type Limits = ReturnType<typeof limits>;
/** Builds one alert rule: name, PromQL, `for` in minutes (none when undefined), severity, summary, description. */
type RuleFn = (alert: string, expr: string, forMin: number | undefined, severity: string, summary: string, description: string) => AlertRule;

/** A rule builder that adds the option's labels and runbook link to every alert. */
function ruleBuilder(o: AlertOptions): RuleFn {
    return (alert, expr, forMin, severity, summary, description) => ({
        alert,
        expr,
        ...(forMin !== undefined ? { for: `${forMin}m` } : {}),
        labels: { severity, ...(o.labels ?? {}) },
        annotations: { summary, description, ...(o.runbookUrl ? { runbook_url: `${o.runbookUrl}#${alert.toLowerCase()}` } : {}) },
    });
}

/** Alerts on derived secrets that are not in sync or are refused. */
function derivedSecretRules(rule: RuleFn, l: Limits, o: AlertOptions): AlertRule[] {
    const { notInSync, refused } = l;
    return [
        rule(
            "PlatformSecretsDerivedSecretsNotInSync",
            `sum by (status) (${sel("platform_secrets_derived_secrets", ['status=~"stale|source-missing|error|unknown"'], o)}) > 0`,
            notInSync,
            "warning",
            "{{ $value }} derived secrets are {{ $labels.status }}",
            `Derived secrets have been {{ $labels.status }} for more than ${notInSync} minutes: consumers may be using an old credential. Run \`platform-secrets status -A\` and \`platform-secrets explain NS/NAME\` for the reason and the fix.`,
        ),
        rule(
            "PlatformSecretsDerivedSecretsRefused",
            `sum(${sel("platform_secrets_derived_secrets", ['status="refused"'], o)}) > 0`,
            refused,
            "info",
            "{{ $value }} derived secrets are refused",
            `Derived secrets have been refused for more than ${refused} minutes (a source does not grant their namespace, or the administrator's policy does not allow a fan-out); no data is copied to them. \`platform-secrets status -A\` names each and its fix.`,
        ),
    ];
}

/** Alerts on work that keeps failing: keys in retry, failed hooks, restarting watches. */
function failureRules(rule: RuleFn, l: Limits, o: AlertOptions): AlertRule[] {
    const { retry, hookWin, restarts } = l;
    return [
        rule(
            "PlatformSecretsKeysInRetry",
            `max(${sel("platform_secrets_keys_in_retry", [], o)}) > 0`,
            retry,
            "warning",
            "{{ $value }} keys keep failing to reconcile",
            `The reconciler has retried failing keys for more than ${retry} minutes (it retries with capped backoff for as long as they fail). Its log names each key and error.`,
        ),
        rule(
            "PlatformSecretsHookFailed",
            `sum by (hook) (increase(${sel("platform_secrets_hook_runs_total", ['result="error"'], o)}[${hookWin}m])) > 0`,
            undefined,
            "critical",
            "{{ $labels.hook }} init-time hook failed",
            `A {{ $labels.hook }} hook failed in the last ${hookWin} minutes: the new password may not be applied to the database or the bootstrap Job did not re-run, and consumers are not restarted until it succeeds. See the HookFailed Events on the source (\`platform-secrets explain NS/NAME\`).`,
        ),
        rule(
            "PlatformSecretsWatchRestarts",
            `sum by (informer) (increase(${sel("platform_secrets_watch_restarts_total", ['reason=~"stalled|error"'], o)}[15m])) > ${restarts}`,
            undefined,
            "warning",
            "watch {{ $labels.informer }} keeps restarting",
            `The {{ $labels.informer }} watch restarted more than ${restarts} times in 15 minutes (stalled or failing): changes reach the reconciler late. Check the apiserver and the network path.`,
        ),
    ];
}

/** Alerts on leadership: no replica holding the lease, or several. */
function leaderRules(rule: RuleFn, l: Limits, o: AlertOptions): AlertRule[] {
    const { noLeader } = l;
    return [
        rule(
            "PlatformSecretsNoLeader",
            `(max(${sel("platform_secrets_is_leader", [], o)}) or vector(0)) < 1`,
            noLeader,
            "critical",
            "no platform-secrets reconciler is leading",
            `No reconciler replica has held the lease for ${noLeader} minutes (or none is scraped): derived secrets do not follow their sources. Check the reconciler Deployment and its Lease.`,
        ),
        rule(
            "PlatformSecretsSeveralLeaders",
            `sum(${sel("platform_secrets_is_leader", [], o)}) > 1`,
            5,
            "warning",
            "{{ $value }} reconciler replicas think they lead",
            "More than one replica reports holding the lease for 5 minutes: check clock skew and the Lease object.",
        ),
    ];
}

/** Alerts on a work queue the reconciler cannot drain. */
function queueRules(rule: RuleFn, l: Limits, o: AlertOptions): AlertRule[] {
    const { depth } = l;
    return [
        rule(
            "PlatformSecretsQueueBacklog",
            `max(${sel("platform_secrets_queue_depth", [], o)}) > ${depth}`,
            10,
            "warning",
            "{{ $value }} keys waiting in the reconciler's queue",
            `The work queue has held more than ${depth} keys for 10 minutes: the reconciler cannot keep up (rate limit --rate/--burst, or a slow apiserver).`,
        ),
    ];
}

export function alertRuleGroups(o: AlertOptions = {}): RuleGroup[] {
    const l = limits(o);
    const rule = ruleBuilder(o);
    const rules: AlertRule[] = [...derivedSecretRules(rule, l, o), ...failureRules(rule, l, o), ...leaderRules(rule, l, o), ...queueRules(rule, l, o)];
    return [{ name: RULE_GROUP_NAME, rules }];
}

/** A prometheus-operator PrometheusRule object (monitoring.coreos.com/v1) holding the groups. */
export function prometheusRule(o: AlertOptions & { name?: string; namespace: string; metadataLabels?: Record<string, string> }): {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: { groups: RuleGroup[] };
} {
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: o.name ?? "platform-secrets-reconciler", namespace: o.namespace, labels: { "app.kubernetes.io/name": "platform-secrets-reconciler", ...(o.metadataLabels ?? {}) } },
        spec: { groups: alertRuleGroups(o) },
    };
}

/** A Prometheus rules file document (`groups:`), for `rule_files:` without the operator. */
export function rulesFile(o: AlertOptions = {}): { groups: RuleGroup[] } {
    return { groups: alertRuleGroups(o) };
}
