import assert from "node:assert/strict";
import { ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH, FIELD_MANAGER } from "../../../reconciler/keys";
import { canaryValue } from "../../support";
import { admin, auditLines, createNamespace, createSource, deleteNamespaces, eventually, mutateSecret, Running, startReconciler, b64 } from "./helpers";

function deployment(name: string, restartOn: string, secretEnv: string, secretVol?: string) {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, annotations: { [ANNOTATION_RESTART_ON]: restartOn } },
        spec: {
            replicas: 1,
            selector: { matchLabels: { app: name } },
            template: {
                metadata: { labels: { app: name } },
                spec: {
                    containers: [{ name: "app", image: "registry.invalid/app:1", env: [{ name: "PW", valueFrom: { secretKeyRef: { name: secretEnv, key: "password" } } }] }],
                    volumes: secretVol ? [{ name: "v", secret: { secretName: secretVol } }] : [],
                },
            },
        },
    };
}

describe("reconciler: workload restarts", function () {
    let ns: string;
    let rec: Running;
    const canaries: string[] = [];

    before(async () => {
        ns = await createNamespace();
    });
    after(async () => {
        await rec?.stop();
        if (rec) for (const c of canaries) assert.ok(!rec.text().includes(c));
        await deleteNamespaces([ns]);
    });

    const get = async (name: string) => (await admin()).request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);

    it("opt-in records a baseline without a rollout; a burst of rotations yields one rollout; metadata-only changes none", async () => {
        const k = await admin();
        const v0 = canaryValue();
        canaries.push(v0);
        await createSource(ns, "db-pw", { password: v0 });
        await createSource(ns, "other", { password: "x1" });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment("web", "auto", "db-pw") });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment("listed", "other", "db-pw", "other") });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: { ...deployment("not-opted", "", "db-pw"), metadata: { name: "not-opted" } } });
        rec = await startReconciler([ns], { debounceMs: 1000 });

        const baseline = await eventually(async () => {
            const d = await get("web");
            return d.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? d : undefined;
        }, 10_000, "baseline recorded");
        assert.equal(baseline.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined, "no rollout on opt-in");
        const gen0 = baseline.metadata.generation;

        // metadata-only change: no restart.
        await mutateSecret(ns, "db-pw", (s) => (s.metadata.labels = { ...s.metadata.labels, touched: "yes" }));
        await new Promise((r) => setTimeout(r, 1800));
        assert.equal((await get("web")).metadata.generation, gen0, "metadata-only change never restarts");

        // a burst of 5 rotations inside the debounce window → one rollout.
        for (let i = 0; i < 5; i++) {
            const v = canaryValue();
            canaries.push(v);
            await mutateSecret(ns, "db-pw", (s) => (s.data.password = b64(v)));
            await new Promise((r) => setTimeout(r, 100));
        }
        const rolled = await eventually(async () => {
            const d = await get("web");
            return d.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? d : undefined;
        }, 10_000, "rollout");
        await new Promise((r) => setTimeout(r, 1500));
        const final = await get("web");
        assert.equal(final.metadata.generation, gen0 + 1, "exactly one rollout for the burst");
        assert.equal(final.spec.template.metadata.annotations[ANNOTATION_SECRETS_HASH], rolled.spec.template.metadata.annotations[ANNOTATION_SECRETS_HASH]);
        const restarts = auditLines(rec.lines).filter((a) => a.action === "restart" && a.object === `deployments:${ns}/web`);
        assert.equal(restarts.length, 1);
        // GitOps tools see who rolled it: the template annotation is owned by the reconciler's field manager.
        const owner = (final.metadata.managedFields as { manager: string; fieldsV1?: unknown }[]).find((m) => JSON.stringify(m.fieldsV1 ?? {}).includes(`"f:${ANNOTATION_SECRETS_HASH}"`) && JSON.stringify(m.fieldsV1).includes('"f:template"'));
        assert.equal(owner?.manager, FIELD_MANAGER, JSON.stringify(final.metadata.managedFields));

        // the named-list workload ignores db-pw but follows "other"; the non-opted one never changes.
        const listed = await get("listed");
        assert.equal(listed.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined);
        await mutateSecret(ns, "other", (s) => (s.data.password = b64("x2")));
        await eventually(async () => ((await get("listed")).spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? true : undefined), 10_000, "listed workload restarted");
        const not = await get("not-opted");
        assert.equal(not.metadata.generation, 1);
        assert.equal(not.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined);
    });
});
