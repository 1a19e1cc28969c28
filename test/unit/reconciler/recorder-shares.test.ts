import { strict as assert } from "node:assert";
import { NAMESPACE_EVENT_BURST, Recorder } from "../../../reconciler/machinery/recorder";
import type { KubeClient } from "../../../lib/kube";
import { silentLoggerForTests } from "./support";

/**
 * Events: one namespace's flood of refusals spends its own share of the budget (issue 21 §2), so another
 * namespace's Events still go out. A recording stand-in for the client counts the POSTs per namespace.
 */
describe("reconciler/recorder: per-namespace shares of the Event budget", () => {
    function recorder(): { rec: Recorder; sent: Map<string, number> } {
        const sent = new Map<string, number>();
        const client = {
            request: async (_m: string, path: string) => {
                const ns = /namespaces\/([^/]+)\/events/.exec(path)![1]!;
                sent.set(ns, (sent.get(ns) ?? 0) + 1);
                return {};
            },
        } as unknown as KubeClient;
        return { rec: new Recorder(client, silentLoggerForTests(), "test"), sent };
    }
    const ref = (ns: string, name: string) => ({ apiVersion: "v1", kind: "Secret", namespace: ns, name });

    it("a tenant refused 5,000 times gets its burst of Events; the next namespace's Events all go out", () => {
        const { rec, sent } = recorder();
        for (let i = 0; i < 5000; i++) rec.event(ref("flood", `s-${i}`), "Warning", "Refused", "fan-out refused");
        for (let i = 0; i < 5; i++) rec.event(ref("quiet", `canary-${i}`), "Warning", "HookFailed", "hook failed");
        assert.ok((sent.get("flood") ?? 0) <= NAMESPACE_EVENT_BURST + 1, `flood sent ${sent.get("flood")}`);
        assert.equal(sent.get("quiet"), 5);
        assert.ok(rec.dropped >= 5000 - NAMESPACE_EVENT_BURST - 1);
    });

    it("many namespaces each with a few Events: all sent up to the global budget, the bucket map stays bounded", () => {
        const { rec, sent } = recorder();
        for (let n = 0; n < 150; n++) rec.event(ref(`ns-${n}`, "s"), "Normal", "Synced", "ok");
        assert.equal([...sent.values()].reduce((a, b) => a + b, 0), 150);
        for (let n = 0; n < 5000; n++) rec.event(ref(`many-${n}`, "s"), "Normal", "Synced", "ok");
        assert.ok(((rec as unknown as { perNamespace: Map<string, unknown> }).perNamespace.size) <= 2048);
    });
});
