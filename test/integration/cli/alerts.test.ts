import assert from "node:assert/strict";
import * as http from "node:http";
import { alertRuleGroups } from "../../../alerts";
import { bootstrapDerived, createNamespace, createSource, deleteNamespaces, eventually, Running, startReconciler, writePolicy } from "../reconciler/helpers";
import { acceptedValues, analyse } from "../../unit/cli/promql";

/**
 * Issue 14 §4: the alert rules against what a REAL reconciler exports. A reconciler runs in-process with a refused
 * derived secret, a failing init-time hook (which also marks its dependant stale and keeps a key in retry) and
 * watches made to stall; its /metrics is scraped, and every selector of every rule must match a scraped series.
 */

interface Series {
    metric: string;
    labels: Record<string, string>;
    value: number;
}

/** Prometheus text exposition → series (enough for prom-client's output: no escapes in our label values). */
export function parseExposition(text: string): { series: Series[]; declared: Set<string> } {
    const series: Series[] = [];
    const declared = new Set<string>();
    for (const line of text.split("\n")) {
        const t = /^# TYPE (\S+) /.exec(line);
        if (t) declared.add(t[1]);
        if (!line || line.startsWith("#")) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
        if (!m) continue;
        const labels: Record<string, string> = {};
        for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]] = l[2];
        series.push({ metric: m[1], labels, value: Number(m[3]) });
    }
    return { series, declared };
}

function scrape(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        http.get({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () => resolve(text));
        }).on("error", reject);
    });
}

describe("alerts: every rule selects series a running reconciler really exports", function () {
    let ns: string, other: string, own: string;
    let rec: Running;

    before(async () => {
        [ns, other, own] = [await createNamespace({}, "alert"), await createNamespace({}, "alert-o"), await createNamespace({}, "alert-own")];
        // A job-rerun hook on a Job that does not exist fails at once (no template was ever kept).
        await writePolicy(own, { fanOut: [], hooks: [{ source: { namespace: ns, name: "db" }, hooks: [{ type: "job-rerun", job: "missing-bootstrap" }] }] });
        await createSource(ns, "db", { password: "pw-for-alerts" });
        await bootstrapDerived({ format: "mirror", source: { namespace: ns, name: "db" }, target: { namespace: ns, name: "db-copy" } });
        await createSource(other, "private", { token: "t" });
        await bootstrapDerived({ format: "mirror", source: { namespace: other, name: "private" }, target: { namespace: ns, name: "refused-copy" } });
        rec = await startReconciler([ns, other], { ownNamespace: own, metricsPort: 0, metricsHost: "127.0.0.1", stallMs: 1500, watchTimeoutSeconds: 60 });
    });

    after(async () => {
        await rec?.stop();
        await deleteNamespaces([ns, other, own]);
    });

    it("derived_secrets{status}, keys_in_retry, hook_runs_total{result=error}, watch_restarts_total{reason=stalled}, is_leader, queue_depth", async () => {
        const port = rec.r.port!;
        const has = (s: Series[], metric: string, labels: Record<string, string>, min = 1) => s.some((x) => x.metric === metric && Object.entries(labels).every(([k, v]) => x.labels[k] === v) && x.value >= min);
        const { series, declared } = await eventually(async () => {
            const p = parseExposition(await scrape(port));
            const ready =
                has(p.series, "platform_secrets_derived_secrets", { status: "refused" }) &&
                has(p.series, "platform_secrets_derived_secrets", { status: "stale" }) &&
                has(p.series, "platform_secrets_hook_runs_total", { hook: "job-rerun", result: "error" }) &&
                has(p.series, "platform_secrets_keys_in_retry", {}) &&
                has(p.series, "platform_secrets_watch_restarts_total", { reason: "stalled" }) &&
                has(p.series, "platform_secrets_is_leader", {});
            return ready ? p : undefined;
        }, 30_000, "the reconciler exports every series the rules need", 250);

        for (const rule of alertRuleGroups().flatMap((g) => g.rules)) {
            const use = analyse(rule.expr);
            assert.deepEqual(use.errors, [], rule.alert);
            for (const sel of use.selectors) {
                assert.ok(declared.has(sel.metric) || declared.has(sel.metric.replace(/_total$/, "")), `${rule.alert}: ${sel.metric} is not exported`);
                const candidates = series.filter((x) => x.metric === sel.metric);
                const matching = candidates.filter((x) => sel.matchers.every((m) => x.labels[m.label] !== undefined && acceptedValues(m, [x.labels[m.label]]).length === 1));
                assert.ok(matching.length > 0, `${rule.alert}: no exported series matches ${sel.metric}{${sel.matchers.map((m) => `${m.label}${m.op}"${m.value}"`).join(",")}}; exported: ${JSON.stringify(candidates.map((c) => c.labels))}`);
                for (const l of use.groupingLabels) assert.ok(matching.every((x) => l in x.labels), `${rule.alert}: ${sel.metric} series lack ${l}`);
            }
        }
        // The conditions these series stand for would fire: a refused and a stale secret, a failed hook, a key in retry.
        assert.ok(has(series, "platform_secrets_keys_in_retry", {}, 1));
        assert.ok(has(series, "platform_secrets_is_leader", {}, 1));
    });
});
