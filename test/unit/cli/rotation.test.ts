import { strict as assert } from "node:assert";
import { ANNOTATION_HOOKS_APPLIED_CONTENT, ANNOTATION_RESTARTED_AT } from "../../../reconciler/api";
import { buildRotationReport, contentChangedAt, esoStep, hooksStep, renderRotation, rolloutComplete, rotationExitCode, vaultStep, workloadStep } from "../../../cli/rotation";

describe("cli/rotation (pure decisions)", () => {
    it("vault: version N with N-1 readable is done; N-1 deleted fails naming the undelete; the first version is done", () => {
        assert.equal(vaultStep("secret/a", { current: 3, previousReadable: true }).state, "done");
        const gone = vaultStep("secret/a", { current: 3, previousReadable: false });
        assert.equal(gone.state, "failed");
        assert.match(gone.detail, /version 2 is deleted or destroyed.*vault kv undelete -versions=2/);
        assert.match(vaultStep("secret/a", { current: 1, previousReadable: false }).detail, /the first/);
        assert.equal(vaultStep("secret/a", { unavailable: "no Vault address" }).state, "unknown");
        assert.equal(vaultStep("secret/a", undefined).state, "failed");
    });

    it("eso: not Ready fails with ESO's message made printable; a mismatch is pending; a match is done", () => {
        const bad = esoStep("externalsecret/n/x", "secret n/x", { ready: { status: "False", message: "could not get secret\u001b]52;c;x" } });
        assert.equal(bad.state, "failed");
        assert.ok(!bad.detail.includes("\u001b"), "control characters escaped");
        assert.equal(esoStep("e", "s", { ready: { status: "True" }, matchesVault: false }).state, "pending");
        assert.equal(esoStep("e", "s", { ready: { status: "True" }, matchesVault: true }).state, "done");
        assert.equal(esoStep("e", "s", {}).state, "unknown");
    });

    it("hooks: applied for this content is done, another content pending, an error failed, not visible unknown, none declared omitted", () => {
        assert.equal(hooksStep("h", { annotations: { [ANNOTATION_HOOKS_APPLIED_CONTENT]: "c1" } }, "c1", undefined)?.state, "done");
        assert.equal(hooksStep("h", { annotations: { [ANNOTATION_HOOKS_APPLIED_CONTENT]: "c0" } }, "c1", undefined)?.state, "pending");
        assert.equal(hooksStep("h", { annotations: { "platform-secrets.io/hook-status": "error", "platform-secrets.io/hook-message": "ALTER ROLE failed" } }, "c1", undefined)?.state, "failed");
        assert.equal(hooksStep("h", "forbidden", "c1", undefined)?.state, "unknown");
        assert.equal(hooksStep("h", "absent", "c1", false), undefined);
        assert.equal(hooksStep("h", "absent", "c1", true)?.state, "pending");
    });

    it("contentChangedAt: the newest managedFields entry that owns data", () => {
        assert.equal(contentChangedAt([
            { time: "2026-12-07T10:00:00Z", fieldsV1: { "f:data": {} } },
            { time: "2026-12-07T11:00:00Z", fieldsV1: { "f:metadata": {} } },
            { time: "2026-12-07T10:30:00Z", fieldsV1: { "f:data": {}, "f:metadata": {} } },
        ]), Date.parse("2026-12-07T10:30:00Z"));
        assert.equal(contentChangedAt(undefined), undefined);
    });

    it("workloads: rolled after the change and every new replica ready is done; before it pending; kubectl rollout status semantics", () => {
        const changed = Date.parse("2026-12-07T10:00:00Z");
        const w = (restartedAt: string | undefined, status: Record<string, number>, replicas = 2) => ({
            metadata: { namespace: "n", name: "api", generation: 3, creationTimestamp: "2026-12-01T00:00:00Z", annotations: (restartedAt ? { [ANNOTATION_RESTARTED_AT]: restartedAt } : {}) as Record<string, string> },
            spec: { replicas },
            status: { observedGeneration: 3, ...status },
        });
        assert.equal(workloadStep("deployments", w("2026-12-07T10:00:00.500Z", { replicas: 2, updatedReplicas: 2, readyReplicas: 2 }), "secret n/db", changed).state, "done");
        assert.match(workloadStep("deployments", w(undefined, { replicas: 2, updatedReplicas: 2, readyReplicas: 2 }), "secret n/db", changed).detail, /not rolled since secret n\/db changed/);
        assert.match(workloadStep("deployments", w("2026-12-07T10:00:01Z", { replicas: 3, updatedReplicas: 1, readyReplicas: 2 }), "secret n/db", changed).detail, /waiting: 1\/2 new Pods ready/);
        assert.equal(rolloutComplete("deployments", { metadata: { generation: 4 }, status: { observedGeneration: 3 } }).done, false);
        assert.equal(rolloutComplete("daemonsets", { metadata: { generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberReady: 2 } }).done, true);
        assert.equal(rolloutComplete("deployments", { metadata: { generation: 1 }, spec: { replicas: 0 }, status: { observedGeneration: 1 } }).done, true);
    });

    it("the report orders steps as the value travels, names the first missing one, and exits 0 only when all are done", () => {
        const r = buildRotationReport("secret n/db", [
            { kind: "workload", object: "deployments/n/api", state: "pending", detail: "w" },
            { kind: "vault", object: "secret/p", state: "done", detail: "v" },
            { kind: "derived", object: "n/copy", state: "pending", detail: "d" },
        ]);
        assert.deepEqual(r.steps.map((s) => s.kind), ["vault", "derived", "workload"]);
        assert.equal(r.firstMissing?.object, "n/copy");
        assert.equal(rotationExitCode(r), 1);
        assert.match(renderRotation(r, { color: false }), /not complete: first missing step: derived n\/copy: d/);
        const ok = buildRotationReport("secret n/db", [{ kind: "vault", object: "secret/p", state: "done", detail: "v" }]);
        assert.equal(rotationExitCode(ok), 0);
        assert.match(renderRotation(ok, { color: false }), /every step has the new version/);
    });
});
