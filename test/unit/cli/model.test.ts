import assert from "node:assert/strict";
import type { ClusterView } from "../../../cli/collect";
import { slimSecret, SlimSecret } from "../../../cli/kube";
import { buildGraph, buildStatus, formatAge, groupInSync, parseFanOutStatus, statusExitCode } from "../../../cli/model";
import { renderGraphDot, renderGraphText, renderStatus, renderStatusTable } from "../../../cli/render";
import { renderGraphSvg } from "../../../cli/dashboard/svg";
import { renderFanOutStatus, TargetStatus } from "../../../reconciler/derived/status";
import { workloadInfo } from "../../../cli/collect";

const NOW = Date.parse("2026-11-01T12:00:00Z");

function derived(ns: string, name: string, src: string, status?: string, extra: Record<string, string> = {}): SlimSecret {
    const [sns, sname] = src.split("/");
    return slimSecret({
        metadata: {
            namespace: ns,
            name,
            labels: { "app.kubernetes.io/managed-by": "platform-secrets", "platform-secrets.io/derived": "true" },
            annotations: {
                "platform-secrets.io/source-namespace": sns,
                "platform-secrets.io/source-name": sname,
                "platform-secrets.io/format": "mirror",
                "platform-secrets.io/options": "{}",
                ...(status ? { "platform-secrets.io/status": status, "platform-secrets.io/status-message": `${status} because of ${src}`, "platform-secrets.io/status-time": "2026-11-01T11:55:00Z" } : {}),
                ...extra,
            },
        },
    });
}

function view(derivedList: SlimSecret[], sources: [string, SlimSecret | undefined, ("present" | "missing" | "not-permitted")?][] = [], notPermitted: string[] = []): ClusterView {
    return {
        scope: { kind: "all" },
        derived: derivedList,
        sources: new Map(sources.map(([k, s, st]) => [k, { key: k, state: st ?? "present", secret: s }])),
        workloads: [],
        notPermitted,
        problems: [],
    };
}

describe("cli: slimSecret is the boundary that keeps values out", () => {
    it("drops data, stringData, foreign annotations (last-applied holds values) and the plain source hash", () => {
        const raw = {
            metadata: {
                namespace: "a",
                name: "b",
                labels: { team: "x", "platform-secrets.io/derived": "true" },
                annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"password":"CANARY"}}', "platform-secrets.io/source-hash": "abc", "platform-secrets.io/status": "in-sync" },
            },
            data: { password: Buffer.from("CANARY").toString("base64") },
            stringData: { password: "CANARY" },
        };
        const s = slimSecret(raw);
        const text = JSON.stringify(s);
        assert.ok(!text.includes("CANARY") && !text.includes(Buffer.from("CANARY").toString("base64")));
        assert.ok(!text.includes("source-hash") && !text.includes("team"));
        assert.equal(s.annotations["platform-secrets.io/status"], "in-sync");
    });
});

describe("cli: status model", () => {
    it("groups targets by source, keeps reasons, and exits 1 when anything is not in sync", () => {
        const v = view([derived("a", "x", "a/src", "in-sync"), derived("b", "y", "a/src", "refused"), derived("c", "z", "c/other", "in-sync")]);
        const r = buildStatus(v, NOW);
        assert.deepEqual(r.groups.map((g) => g.source), ["a/src", "c/other"]);
        assert.deepEqual(r.groups[0].rows.map((x) => [x.target, x.state]), [["a/x", "in-sync"], ["b/y", "refused"]]);
        assert.equal(r.groups[0].rows[0].ageSeconds, 300);
        assert.equal(r.totals.refused, 1);
        assert.equal(r.inSync, false);
        assert.equal(statusExitCode(r), 1);
        const table = renderStatusTable(r, { color: false });
        assert.match(table, /b\/y\s+derived\s+mirror\s+refused\s+5m/);
        assert.match(table, /↳ refused because of a\/src/);
        assert.ok(!table.includes("↳ in-sync because"), "no reason line under in-sync rows");
        assert.ok(!table.includes("\u001b["), "no colour when not asked");
        assert.match(renderStatusTable(r, { color: true }), /\u001b\[31mrefused/);
    });

    it("all in sync → exit 0; something not permitted → exit 3; a secret without status is unknown", () => {
        assert.equal(statusExitCode(buildStatus(view([derived("a", "x", "a/s", "in-sync")]), NOW)), 0);
        assert.equal(statusExitCode(buildStatus(view([derived("a", "x", "a/s", "in-sync")], [], ["secrets in namespace b"]), NOW)), 3);
        const r = buildStatus(view([derived("a", "x", "a/s")]), NOW);
        assert.equal(r.groups[0].rows[0].state, "unknown");
        assert.equal(statusExitCode(r), 1);
    });

    it("adds fan-out targets known only from the source's status (refused, unreadable namespaces), the source's own view winning", () => {
        const targets = new Map<string, TargetStatus>([
            ["t1/reg", { state: "in-sync" }],
            ["t2/reg", { state: "refused", reason: "not allowed by the administrator" }],
            ["t3/reg", { state: "pending" }],
        ]);
        const src = slimSecret({ metadata: { namespace: "p", name: "reg", annotations: { "platform-secrets.io/fan-out": "[]", "platform-secrets.io/fan-out-status": renderFanOutStatus(targets) } } });
        const copy = derived("t1", "reg", "p/reg", "in-sync", { "platform-secrets.io/fan-out-owner": "p/reg" });
        const r = buildStatus(view([copy], [["p/reg", src]]), NOW);
        const g = r.groups[0];
        assert.deepEqual(g.fanOut?.counts, { "in-sync": 1, pending: 1, refused: 1, error: 0 });
        assert.deepEqual(g.rows.map((x) => [x.target, x.kind, x.state, x.visible]), [["t1/reg", "fan-out", "in-sync", true], ["t2/reg", "fan-out", "refused", false], ["t3/reg", "fan-out", "pending", false]]);
        assert.equal(g.rows[1].message, "not allowed by the administrator");
        assert.equal(r.inSync, false);
    });

    it("a truncated fan-out is in sync only when the counts say so", () => {
        const targets = new Map<string, TargetStatus>(Array.from({ length: 60 }, (_, i) => [`n${i}/s`, { state: "in-sync" as const }]));
        const doc = parseFanOutStatus(renderFanOutStatus(targets))!;
        assert.equal(doc.truncated, 10);
        const g = { source: "p/s", sourceState: "present" as const, syncPending: false, rows: [], fanOut: { counts: doc.counts, truncated: doc.truncated } };
        assert.equal(groupInSync(g), true);
        assert.equal(groupInSync({ ...g, fanOut: { counts: { ...doc.counts, error: 1 }, truncated: 10 } }), false);
        assert.equal(parseFanOutStatus("not json"), undefined);
    });

    it("--source keeps only that source, also when nothing derives from it yet", () => {
        const r = buildStatus(view([derived("a", "x", "a/s", "in-sync")], [["b/none", undefined, "missing"]]), NOW, "b/none");
        assert.deepEqual(r.groups.map((g) => [g.source, g.sourceState, g.rows.length]), [["b/none", "missing", 0]]);
    });

    it("json and yaml outputs carry the same report", () => {
        const r = buildStatus(view([derived("a", "x", "a/s", "stale")]), NOW);
        assert.deepEqual(JSON.parse(renderStatus(r, "json", { color: false })).groups[0].rows[0].state, "stale");
        assert.match(renderStatus(r, "yaml", { color: false }), /state: stale/);
    });

    it("formats ages", () => {
        assert.deepEqual([formatAge(undefined), formatAge(5), formatAge(600), formatAge(7300), formatAge(3 * 86400)], ["-", "5s", "10m", "2h", "3d"]);
    });
});

describe("cli: dependency graph", () => {
    const wl = (name: string, ann: string | undefined, secret: string) =>
        workloadInfo("deployments", { metadata: { namespace: "a", name, annotations: ann ? { "platform-secrets.io/restart-on": ann } : {} }, spec: { template: { spec: { containers: [{ envFrom: [{ secretRef: { name: secret } }] }] } } } });

    it("links sources → derived → the workloads that restart on them (reconciler's own restart-on parsing)", () => {
        const r = buildStatus(view([derived("a", "x", "a/src", "in-sync")]), NOW);
        const g = buildGraph(r, [wl("app", "auto", "x"), wl("other", undefined, "x"), wl("bad", "Not A Name", "x")]);
        assert.deepEqual(g.edges.map((e) => `${e.from} -> ${e.to}`), ["secret:a/src -> secret:a/x", "secret:a/x -> deployments:a/app"]);
        assert.match(wl("bad", "Not A Name", "x").problem ?? "", /restart-on/);
        const text = renderGraphText(g, { color: false });
        assert.equal(text, "source a/src\n└─ a/x [in-sync]\n   └─ deployment a/app\n");
        const dot = renderGraphDot(g);
        assert.match(dot, /^digraph platform_secrets \{/);
        assert.match(dot, /"secret:a\/x" -> "deployments:a\/app";/);
    });

    it("SVG escapes names and draws one box per node", () => {
        const r = buildStatus(view([derived("a", "x", "a/src", "error")]), NOW);
        const svg = renderGraphSvg(buildGraph(r, []));
        assert.equal((svg.match(/<rect /g) ?? []).length, 2);
        assert.match(svg, /a\/x · error/);
        const evil = renderGraphSvg({ nodes: [{ id: "secret:<script>", kind: "source", label: "<script>alert(1)</script>" }], edges: [] });
        assert.ok(!evil.includes("<script>") && evil.includes("&lt;script&gt;"));
        assert.match(renderGraphSvg({ nodes: [], edges: [] }), /Nothing to draw/);
    });
});
