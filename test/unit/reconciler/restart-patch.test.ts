import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { ANNOTATION_RESTARTED_AT, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { parseQueueKey, workloadApi } from "../../../reconciler/machinery/queue-keys";
import { restartPatch } from "../../../reconciler/restarts/reconcile-workloads";

describe("reconciler/restarts: the restart write per kind (pure)", () => {
    it("apps/v1 workloads get the hash in the pod template; a Rollout gets spec.restartAt and no template change", () => {
        const now = Date.parse("2026-12-07T10:00:00.250Z");
        assert.deepEqual(restartPatch("deployments", "7", "k1w.abc", now), {
            metadata: { resourceVersion: "7", annotations: { [ANNOTATION_SECRETS_HASH]: "k1w.abc", [ANNOTATION_RESTARTED_AT]: "2026-12-07T10:00:00.250Z" } },
            spec: { template: { metadata: { annotations: { [ANNOTATION_SECRETS_HASH]: "k1w.abc" } } } },
        });
        assert.deepEqual(restartPatch("rollouts", "7", "k1w.abc", now), {
            metadata: { resourceVersion: "7", annotations: { [ANNOTATION_SECRETS_HASH]: "k1w.abc", [ANNOTATION_RESTARTED_AT]: "2026-12-07T10:00:00.250Z" } },
            spec: { restartAt: "2026-12-07T10:00:01Z" },
        });
        assert.equal(workloadApi("rollouts"), "/apis/argoproj.io/v1alpha1");
        assert.equal(workloadApi("statefulsets"), "/apis/apps/v1");
        assert.deepEqual(parseQueueKey("rollouts:ns/api"), { kind: "rollouts", namespace: "ns", name: "api" });
    });

    it("property: restartAt is whole seconds, never before the change and less than a second after it", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (now) => {
                const at = (restartPatch("rollouts", undefined, "h", now).spec as { restartAt: string }).restartAt;
                assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
                const t = Date.parse(at);
                assert.ok(t >= now && t - now < 1000);
            }),
        );
    });
});
