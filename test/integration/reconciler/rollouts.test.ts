import assert from "node:assert/strict";
import { FIELD_MANAGER, ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { admin, b64, createNamespace, createSource, deleteNamespaces, eventsText, eventually, mutateSecret, Running, startReconciler } from "./helpers";
import { withTimeout } from "../../support";

/**
 * Issue 22 §2: Argo Rollouts. The Rollout CRD is the real one of Argo Rollouts v1.9.1 (manifests/crds/rollout-crd.yaml
 * with its description fields removed, nothing else changed: argo-rollouts-v1.9.1-crd.json), so the apiserver
 * validates what the reconciler writes exactly as a cluster with Argo Rollouts would. Argo's controller does not run
 * here; what it does with `spec.restartAt` (replace Pods created before it) is its documented contract.
 */
const CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

describe("reconciler: Argo Rollouts restarts (spec.restartAt)", function () {
    let ns: string;
    let rec: Running;
    let installedCrd = false;

    before(async () => {
        ns = await createNamespace();
    });
    after(async () => {
        await rec?.stop();
        await deleteNamespaces([ns]);
        if (installedCrd) await (await admin()).request("DELETE", `${CRD}/rollouts.argoproj.io`).catch(() => undefined);
    });

    it("Rollouts are watched once Argo Rollouts is installed (after the reconciler); a rotation sets spec.restartAt, never the template", async () => {
        const k = await admin();
        // Started before the CRD exists: discovery is asked again until it is served.
        rec = await startReconciler([ns], { debounceMs: 200, rolloutsDiscoveryMs: 500 });
        const existing = await k.request("GET", `${CRD}/rollouts.argoproj.io`).catch(() => undefined);
        if (!existing) {
            await k.request("POST", CRD, { body: (await import("./argo-rollouts-v1.9.1-crd.json")).default });
            installedCrd = true;
        }
        await eventually(async () => {
            const c = await k.request("GET", `${CRD}/rollouts.argoproj.io`);
            return c.status?.conditions?.some((x: { type: string; status: string }) => x.type === "Established" && x.status === "True") || undefined;
        }, 20_000, "CRD established");
        await createSource(ns, "db", { password: "r1" });
        const path = `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts`;
        await k.request("POST", path, {
            body: {
                apiVersion: "argoproj.io/v1alpha1",
                kind: "Rollout",
                metadata: { name: "api", annotations: { [ANNOTATION_RESTART_ON]: "auto" } },
                spec: {
                    replicas: 3,
                    selector: { matchLabels: { app: "api" } },
                    template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "c", image: "registry.invalid/x", envFrom: [{ secretRef: { name: "db" } }] }] } },
                    strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } },
                },
            },
        });
        const get = () => k.request("GET", `${path}/api`);
        const base = await eventually(async () => ((await get()).metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? get() : undefined), 20_000, "baseline recorded on the Rollout");
        assert.equal(base.spec.restartAt, undefined, "opting in restarts nothing");
        assert.ok(rec.lines.some((l) => /Argo Rollouts served: watching Rollouts/.test(l)));

        await mutateSecret(ns, "db", (s) => (s.data.password = b64("r2")));
        const t0 = Date.now();
        const rolled = await eventually(async () => {
            const r = await get();
            return r.spec.restartAt ? r : undefined;
        }, 15_000, "spec.restartAt set");
        // Whole seconds, rounded up: not before the change, at most a second after it.
        const at = Date.parse(rolled.spec.restartAt);
        assert.match(rolled.spec.restartAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.ok(at >= t0 - 1000 && at <= Date.now() + 1000, rolled.spec.restartAt);
        assert.deepEqual(rolled.spec.template, base.spec.template, "the pod template is untouched: no new revision, no canary steps for a secret change");
        assert.notEqual(rolled.metadata.annotations[ANNOTATION_SECRETS_HASH], base.metadata.annotations[ANNOTATION_SECRETS_HASH]);
        assert.ok(rolled.metadata.managedFields.some((m: { manager: string; fieldsV1?: { "f:spec"?: Record<string, unknown> } }) => m.manager === FIELD_MANAGER && m.fieldsV1?.["f:spec"]?.["f:restartAt"] !== undefined), "written by our field manager");
        await eventually(async () => ((await eventsText(ns)).includes('"kind":"Rollout"') && (await eventsText(ns)).includes("SecretsChanged") ? true : undefined), 10_000, "SecretsChanged Event on the Rollout");
        // The same content again changes nothing.
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal((await get()).metadata.generation, rolled.metadata.generation);

        // Argo Rollouts uninstalled: the watch stops, and a reconciler starting meanwhile is not held back by it.
        if (installedCrd) {
            await k.request("DELETE", `${CRD}/rollouts.argoproj.io`);
            installedCrd = false;
            await eventually(async () => (rec.lines.some((l) => /Argo Rollouts no longer served/.test(l)) ? true : undefined), 20_000, "the Rollout watch stopped");
            const second = await withTimeout(startReconciler([ns], { debounceMs: 200, rolloutsDiscoveryMs: 500 }), 20_000, "a reconciler starting while the CRD goes");
            await second.stop();
        }
    });
});
