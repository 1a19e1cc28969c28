import assert from "node:assert/strict";
import { ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { parseStackConfig } from "../../../stacks/config";
import { buildReconcilerPolicy } from "../../../stacks/policy";
import { loadStackFile, toRawConfig } from "../../unit/stacks/harness";
import { admin, b64, createNamespace, createSource, deleteNamespaces, eventually, mutateSecret, Running, startReconciler, writePolicy } from "./helpers";

/** Issue 22 §2: the administrator's cluster-wide pause of restarts, as `pulumi up` renders it into the policy. */
describe("reconciler: cluster-wide restart pause (policy pauseRestarts)", function () {
    let ns: string;
    let own: string;
    let rec: Running;

    before(async () => {
        ns = await createNamespace();
        own = await createNamespace({}, "rec-own");
    });
    after(async () => {
        await rec?.stop();
        await deleteNamespaces([ns, own]);
    });

    it("while paused nothing rolls (the reason is logged); resuming rolls each changed workload once, with the last content", async () => {
        const policyOf = (reason: string) => buildReconcilerPolicy(parseStackConfig(toRawConfig({ ...loadStackFile("dev"), reconcilerPauseRestarts: reason })));
        const paused = policyOf("INC-42: database failover in progress");
        assert.deepEqual(paused.pauseRestarts, { reason: "INC-42: database failover in progress" });
        assert.equal(policyOf("").pauseRestarts, undefined);
        await writePolicy(own, { ...paused, hooks: [] });
        const k = await admin();
        await createSource(ns, "db", { password: "p1" });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
            body: { metadata: { name: "api", annotations: { [ANNOTATION_RESTART_ON]: "auto" } }, spec: { selector: { matchLabels: { app: "api" } }, template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "c", image: "registry.invalid/x", envFrom: [{ secretRef: { name: "db" } }] }] } } } },
        });
        rec = await startReconciler([ns], { debounceMs: 200, ownNamespace: own });
        const get = () => k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/api`);
        const base = await eventually(async () => ((await get()).metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? get() : undefined), 10_000, "baseline recorded while paused");
        for (const v of ["p2", "p3"]) {
            await mutateSecret(ns, "db", (s) => (s.data.password = b64(v)));
            await eventually(async () => (rec.lines.filter((l) => /restart held back: restarts are paused/.test(l) && l.includes("INC-42")).length >= (v === "p2" ? 1 : 2) || undefined), 10_000, `the held-back restart for ${v} is logged with the reason`);
        }
        const during = await get();
        assert.equal(during.metadata.generation, base.metadata.generation, "no rollout while paused");
        assert.equal(during.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined);

        await writePolicy(own, { ...policyOf(""), hooks: [] });
        const rolled = await eventually(async () => {
            const d = await get();
            return d.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? d : undefined;
        }, 10_000, "rolled after the pause ended");
        assert.equal(rolled.metadata.generation, base.metadata.generation + 1, "one rollout for both changes");
        assert.equal(rolled.metadata.annotations[ANNOTATION_SECRETS_HASH], rolled.spec.template.metadata.annotations[ANNOTATION_SECRETS_HASH], "with the content current now");
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal((await get()).metadata.generation, rolled.metadata.generation, "and only once");
    });
});
