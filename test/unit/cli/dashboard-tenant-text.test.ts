import assert from "node:assert/strict";
import fc from "fast-check";
import { sessionCookie, syncRefusal, tokenMatches } from "../../../cli/dashboard/server";
import { printable, slimSecret } from "../../../cli/kube";
import { parseFanOutStatus } from "../../../cli/model";
import type { StatusReport } from "../../../cli/model";

const report = (groups: { source: string; targets: string[] }[]): StatusReport => ({
    generatedAt: "2026-12-03T00:00:00Z",
    scope: "",
    groups: groups.map((g) => ({ source: g.source, sourceState: "present", syncPending: false, rows: g.targets.map((t) => ({ target: t, namespace: t.split("/")[0], name: t.split("/")[1], source: g.source, kind: "derived", state: "in-sync", message: "", visible: true, syncPending: false })) })),
    totals: {} as StatusReport["totals"],
    notPermitted: [],
    problems: [],
    inSync: true,
});

describe("cli/dashboard: session token and sync scope", () => {
    it("tokenMatches: only the exact token, in constant time; absent or other lengths never match", () => {
        assert.equal(tokenMatches("abc", "abc"), true);
        assert.equal(tokenMatches(undefined, "abc"), false);
        assert.equal(tokenMatches("", "abc"), false);
        assert.equal(tokenMatches("abcd", "abc"), false);
        fc.assert(fc.property(fc.string(), fc.string({ minLength: 1 }), (a, t) => tokenMatches(a, t) === (a === t)));
    });

    it("sessionCookie reads our cookie among others, nothing else", () => {
        assert.equal(sessionCookie("a=1; ps-dashboard-session=tok; b=2"), "tok");
        assert.equal(sessionCookie("ps-dashboard-session-x=tok"), undefined);
        assert.equal(sessionCookie(undefined), undefined);
    });

    it("syncRefusal: in scope and shown (derived, fan-out target or source), else a refusal naming the object and the fix", () => {
        const r = report([{ source: "a/db", targets: ["a/db-copy"] }, { source: "b/foreign", targets: ["a/foreign-copy"] }]);
        const ns = { kind: "namespace" as const, namespace: "a" };
        assert.equal(syncRefusal({ namespace: "a", name: "db-copy" }, ns, r), undefined);
        assert.equal(syncRefusal({ namespace: "a", name: "db" }, ns, r), undefined);
        assert.match(syncRefusal({ namespace: "b", name: "foreign" }, ns, r)!, /^b\/foreign is outside this dashboard's scope \(namespace a\); start a dashboard for that namespace$/);
        assert.equal(syncRefusal({ namespace: "b", name: "foreign" }, { kind: "all" }, r), undefined);
        assert.match(syncRefusal({ namespace: "a", name: "plain" }, ns, r)!, /a\/plain is not a derived secret, fan-out target or source shown by this dashboard/);
        assert.match(syncRefusal({ namespace: "a", name: "db" }, ns, undefined)!, /not a derived secret/);
    });
});

describe("cli: what a tenant wrote is printed without terminal control sequences", () => {
    it("printable escapes C0/C1 controls, DEL and bidi overrides, and leaves everything else as it is", () => {
        assert.equal(printable("ok: in sync with source"), "ok: in sync with source");
        assert.equal(printable("\u001b]52;c;ZXZpbA==\u0007x"), "\\u{1b}]52;c;ZXZpbA==\\u{7}x");
        assert.equal(printable("a\nb\u202ec\u009b"), "a\\u{a}b\\u{202e}c\\u{9b}");
        fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => !/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(printable(s))));
    });

    it("the kube boundary and the fan-out status parse apply it (annotation text and JSON-escaped reasons)", () => {
        const s = slimSecret({ metadata: { namespace: "a", name: "x", annotations: { "platform-secrets.io/status-message": "held \u001b[2J" } } });
        assert.equal(s.annotations["platform-secrets.io/status-message"], "held \\u{1b}[2J");
        const doc = parseFanOutStatus(JSON.stringify({ counts: { refused: 1 }, targets: [{ target: "b/y", state: "refused", reason: "\u001b[31mred" }], truncated: 0 }));
        assert.equal(doc?.targets[0].reason, "\\u{1b}[31mred");
    });
});
