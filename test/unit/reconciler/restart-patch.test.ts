import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { ANNOTATION_RESTART_ON, ANNOTATION_RESTART_ON_IGNORE, ANNOTATION_RESTARTED_AT, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { Fingerprinter } from "../../../reconciler/fingerprint";
import { slimSecret, slimWorkload } from "../../../reconciler/model";
import { parseRestartIgnore, restartDecision, secretsHash } from "../../../reconciler/restarts/workloads";
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


describe("reconciler/restarts: restart-on-ignore and the set a secrets-hash covers (pure)", () => {
    const fp = new Fingerprinter(Buffer.alloc(32, 7));
    const W = { kind: "deployments" as const, namespace: "a", name: "api" };
    it("a change of the followed set is a new baseline, never a restart; a content change within the set restarts", () => {
        const both = secretsHash({ db: "Opaque:1", tls: "Opaque:1" }, fp, W);
        const dbOnly = secretsHash({ db: "Opaque:1" }, fp, W);
        const dbChanged = secretsHash({ db: "Opaque:2" }, fp, W);
        assert.equal(restartDecision(dbOnly, both, both), "record-baseline", "ignoring tls restarts nothing");
        assert.equal(restartDecision(dbOnly, both, dbOnly), "none", "the new baseline holds");
        assert.equal(restartDecision(dbChanged, both, dbOnly), "restart");
        // Back to both with tls changed while ignored: the template (the Pods' start) says they hold the old tls.
        assert.equal(restartDecision(secretsHash({ db: "Opaque:1", tls: "Opaque:9" }, fp, W), both, dbOnly), "restart");
        // A hash from before set tags (key.mac) covers the same set: the upgrade rolls nothing.
        const legacy = both.split(".").slice(0, 2).join(".");
        assert.equal(restartDecision(both, legacy, legacy), "none");
    });

    it("the workload's list leaves names out of what it follows; the Secret's mark is kept in the slim cache; bad names are refused", () => {
        const w = slimWorkload({
            metadata: { namespace: "a", name: "api", annotations: { [ANNOTATION_RESTART_ON]: "auto", [ANNOTATION_RESTART_ON_IGNORE]: " tls , pull " } },
            spec: { template: { spec: { containers: [{ envFrom: [{ secretRef: { name: "db" } }] }], volumes: [{ secret: { secretName: "tls" } }], imagePullSecrets: [{ name: "pull" }] } } },
        } as never);
        assert.deepEqual(w.consumes, ["db"]);
        assert.deepEqual(parseRestartIgnore(undefined, "x"), []);
        assert.throws(() => parseRestartIgnore("ok,Bad_Name", "a/api"), /a\/api: annotation platform-secrets.io\/restart-on-ignore lists "Bad_Name", which is not a secret name/);
        const bad = slimWorkload({ metadata: { namespace: "a", name: "api", annotations: { [ANNOTATION_RESTART_ON]: "auto", [ANNOTATION_RESTART_ON_IGNORE]: "x y" } } } as never);
        assert.match(bad.invalid ?? "", /restart-on-ignore/);
        assert.equal(slimSecret({ metadata: { namespace: "a", name: "db", annotations: { [ANNOTATION_RESTART_ON_IGNORE]: "true" } }, data: {} } as never).restartIgnored, true);
        assert.equal(slimSecret({ metadata: { namespace: "a", name: "db", annotations: { [ANNOTATION_RESTART_ON_IGNORE]: "yes" } }, data: {} } as never).restartIgnored, undefined);
    });
});
