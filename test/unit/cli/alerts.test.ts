import assert from "node:assert/strict";
import * as YAML from "yaml";
import { alertRuleGroups, prometheusRule, rulesFile } from "../../../alerts";
import { ReconcilerMetrics } from "../../../reconciler/machinery/metrics";
import { SYNC_STATUSES } from "../../../reconciler/keys";
import { acceptedValues, analyse, namedValues } from "./promql";

/**
 * Label values the reconciler writes (the integration test alerts.test.ts scrapes a running one for the same):
 * derived_secrets{status} from controller.statusCounts, hook_runs_total{result} from hooks.ts, watch_restarts_total
 * {reason} from the informer's WatchEnd (minus "closed" and "stopped", never counted).
 */
export const KNOWN_VALUES: Record<string, Record<string, readonly string[]>> = {
    platform_secrets_derived_secrets: { status: [...SYNC_STATUSES, "unknown"] },
    platform_secrets_hook_runs_total: { result: ["ok", "error"], hook: ["postgres", "job-rerun"] },
    platform_secrets_watch_restarts_total: { reason: ["gone", "stalled", "error"] },
    platform_secrets_refusals_total: { reason: ["no-grant", "fan-out-not-allowed", "target-not-managed", "hooks-annotation"] },
};

describe("alerts: rule expressions use only what the reconciler exports", () => {
    const metrics = new ReconcilerMetrics();
    const exported = new Map(metrics.registry.getMetricsAsArray().map((m) => [(m as unknown as { name: string }).name, new Set<string>((m as unknown as { labelNames?: string[] }).labelNames ?? [])]));
    const rules = alertRuleGroups().flatMap((g) => g.rules);

    it("covers stale/refused secrets, keys in retry, hook failures, watch restarts and no leader", () => {
        const used = new Set(rules.flatMap((r) => analyse(r.expr).selectors.map((s) => s.metric)));
        for (const m of ["platform_secrets_derived_secrets", "platform_secrets_keys_in_retry", "platform_secrets_hook_runs_total", "platform_secrets_watch_restarts_total", "platform_secrets_is_leader"]) assert.ok(used.has(m), m);
        assert.equal(new Set(rules.map((r) => r.alert)).size, rules.length, "alert names are unique");
    });

    for (const r of alertRuleGroups().flatMap((g) => g.rules)) {
        it(`${r.alert}: valid PromQL over exported metric names, labels and values`, () => {
            const use = analyse(r.expr);
            assert.deepEqual(use.errors, [], `parse errors in ${r.expr}`);
            assert.ok(use.selectors.length > 0);
            for (const s of use.selectors) {
                const labels = exported.get(s.metric);
                assert.ok(labels, `${s.metric} is not exported by ReconcilerMetrics`);
                for (const m of s.matchers) {
                    assert.ok(labels.has(m.label), `${s.metric} has no label ${m.label}`);
                    const known = KNOWN_VALUES[s.metric]?.[m.label];
                    assert.ok(known, `no known values for ${s.metric}{${m.label}}`);
                    for (const v of namedValues(m)) assert.ok(known.includes(v), `${s.metric}{${m.label}} is never "${v}"`);
                    assert.ok(acceptedValues(m, known).length > 0, `${s.metric}{${m.label}${m.op}"${m.value}"} matches nothing`);
                }
            }
            // Every grouping label is carried by every metric of the expression.
            for (const l of use.groupingLabels) for (const s of use.selectors) assert.ok(exported.get(s.metric)!.has(l), `${s.metric} has no label ${l} to group by`);
            assert.match(r.labels.severity, /^(critical|warning|info)$/);
            assert.ok(r.annotations.summary && r.annotations.description);
            if (r.for !== undefined) assert.match(r.for, /^\d+m$/);
        });
    }

    it("options: thresholds, a selector on every series, extra labels, runbook links; bad values rejected", () => {
        const g = alertRuleGroups({ notInSyncForMinutes: 7, selector: 'namespace="ps"', labels: { team: "platform" }, runbookUrl: "https://runbooks.example/ps" });
        const rs = g[0].rules;
        assert.equal(rs.find((r) => r.alert === "PlatformSecretsDerivedSecretsNotInSync")!.for, "7m");
        for (const r of rs) {
            for (const s of analyse(r.expr).selectors) assert.ok(s.matchers.some((m) => m.label === "namespace" && m.value === "ps"), `${r.alert}: ${s.metric} lacks the selector`);
            assert.equal(r.labels.team, "platform");
            assert.equal(r.annotations.runbook_url, `https://runbooks.example/ps#${r.alert.toLowerCase()}`);
        }
        assert.throws(() => alertRuleGroups({ refusedForMinutes: 0 }), /refusedForMinutes must be a positive number/);
    });

    it("renders a PrometheusRule and a rules file with the same groups", () => {
        const pr = prometheusRule({ namespace: "platform-secrets-system" });
        assert.equal(pr.apiVersion, "monitoring.coreos.com/v1");
        assert.equal(pr.kind, "PrometheusRule");
        assert.deepEqual(pr.spec.groups, rulesFile().groups);
        const back = YAML.parse(YAML.stringify(pr));
        assert.deepEqual(back.spec.groups[0].rules.map((r: { alert: string }) => r.alert), rules.map((r) => r.alert));
    });
});
