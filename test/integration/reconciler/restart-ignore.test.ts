import assert from "node:assert/strict";
import { ANNOTATION_RESTART_ON, ANNOTATION_RESTART_ON_IGNORE, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { admin, b64, createNamespace, createSource, deleteNamespaces, eventually, mutateSecret, Running, startReconciler } from "./helpers";

/**
 * Issue 22 §2: `restart-on-ignore`, as users write Reloader's `ignore`: on a workload (secret names it does not
 * follow) or on a Secret ("true": nobody restarts for it). Ignoring never restarts anything by itself.
 */
describe("reconciler: restart-on-ignore", function () {
    let ns: string;
    let rec: Running;

    before(async () => {
        ns = await createNamespace();
    });
    after(async () => {
        await rec?.stop();
        await deleteNamespaces([ns]);
    });

    it("ignoring a secret (on the workload, then on the Secret) rolls nothing; its changes roll nothing; the others still do", async () => {
        const k = await admin();
        await createSource(ns, "db", { password: "d1" });
        await createSource(ns, "tls", { "tls.crt": "c1" });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
            body: {
                metadata: { name: "api", annotations: { [ANNOTATION_RESTART_ON]: "auto" } },
                spec: {
                    selector: { matchLabels: { app: "api" } },
                    template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "c", image: "registry.invalid/x", envFrom: [{ secretRef: { name: "db" } }] }], volumes: [{ name: "tls", secret: { secretName: "tls" } }] } },
                },
            },
        });
        rec = await startReconciler([ns], { debounceMs: 200 });
        const path = `/apis/apps/v1/namespaces/${ns}/deployments/api`;
        const get = () => k.request("GET", path);
        const hashOf = (d: { metadata: { annotations?: Record<string, string> } }) => d.metadata.annotations?.[ANNOTATION_SECRETS_HASH];
        const base = await eventually(async () => ((await get()).metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? get() : undefined), 10_000, "baseline");
        // A rollout is a new ReplicaSet: the Deployment's revision (its generation also moves on annotation changes).
        const revision = async () => Number((await get()).metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "0");
        const rev0 = await eventually(async () => (await revision()) || undefined, 10_000, "first revision");

        // 1. The workload stops following tls: a new baseline over db alone, no rollout.
        await k.request("PATCH", path, { body: { metadata: { annotations: { [ANNOTATION_RESTART_ON_IGNORE]: "tls" } } }, contentType: "application/merge-patch+json" });
        const rebased = await eventually(async () => {
            const d = await get();
            return hashOf(d) !== hashOf(base) ? d : undefined;
        }, 10_000, "a new baseline recorded for the smaller set");
        assert.equal(rebased.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined, "ignoring restarted nothing");
        // 2. tls changes: nothing; then db changes: one rollout (the tls change did not queue one of its own).
        await mutateSecret(ns, "tls", (s) => (s.data["tls.crt"] = b64("c2")));
        await mutateSecret(ns, "db", (s) => (s.data.password = b64("d2")));
        const rolled = await eventually(async () => {
            const d = await get();
            return d.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? d : undefined;
        }, 10_000, "db still rolls it");
        await eventually(async () => ((await revision()) === rev0 + 1 ? true : undefined), 10_000, "one new revision");
        await mutateSecret(ns, "tls", (s) => (s.data["tls.crt"] = b64("c3")));
        // 3. The db Secret's owner marks it ignored (the workload now follows nothing): its changes roll nothing.
        await mutateSecret(ns, "db", (s) => (s.metadata.annotations = { ...(s.metadata.annotations ?? {}), [ANNOTATION_RESTART_ON_IGNORE]: "true" }));
        await mutateSecret(ns, "db", (s) => (s.data.password = b64("d3")));
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(await revision(), rev0 + 1, "no rollout for an ignored Secret, nor for tls");
        assert.equal((await get()).spec.template.metadata.annotations[ANNOTATION_SECRETS_HASH], rolled.spec.template.metadata.annotations[ANNOTATION_SECRETS_HASH]);
        // 4. The mark removed: db changed since the Pods started (d2 → d3), so they are rolled once, and only once.
        await mutateSecret(ns, "db", (s) => delete s.metadata.annotations[ANNOTATION_RESTART_ON_IGNORE]);
        await eventually(async () => ((await revision()) === rev0 + 2 ? true : undefined), 10_000, "rolled once: db changed while ignored");
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(await revision(), rev0 + 2);
    });
});
