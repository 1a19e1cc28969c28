import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { reconcilerRbacRules } from "../../../reconciler/trust/rbac";
import { isKubeError } from "../../../lib/kube";
import { Reconciler } from "../../../reconciler/app";
import { capturingLogger, canaryValue, kubeClientFrom, randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin, bootstrapDerived, createNamespace, createSource, deleteNamespaces, eventually, getSecret, mutateSecret, unb64, b64 } from "./helpers";

describe("reconciler: the RBAC the stack deploys is enough and no more", function () {
    const namespaces: string[] = [];
    const clusterObjects: string[] = [];
    after(async () => {
        const k = await admin();
        for (const p of clusterObjects) await k.request("DELETE", p).catch(() => undefined);
        await deleteNamespaces(namespaces);
    });

    it("runs with a minted ServiceAccount kubeconfig bound to the exported rules; other verbs are forbidden", async () => {
        const k = await admin();
        const home = await createNamespace({}, "rec-home");
        const work = await createNamespace({}, "rec-work");
        const other = await createNamespace({}, "rec-other");
        namespaces.push(home, work, other);
        const rules = reconcilerRbacRules();
        const sa = "reconciler";
        const cr = randomName("ps-reconciler");
        const crSecrets = `${cr}-secrets`;
        await k.request("POST", `/api/v1/namespaces/${home}/serviceaccounts`, { body: { metadata: { name: sa } } });
        const subj = [{ kind: "ServiceAccount", name: sa, namespace: home }];
        await k.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", { body: { metadata: { name: cr }, rules: rules.cluster } });
        await k.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", { body: { metadata: { name: crSecrets }, rules: rules.secrets } });
        await k.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", { body: { metadata: { name: cr }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: cr }, subjects: subj } });
        clusterObjects.push(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${cr}`, `/apis/rbac.authorization.k8s.io/v1/clusterroles/${crSecrets}`, `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${cr}`);
        // Secret access limited to the labelled namespace: a RoleBinding there, none elsewhere.
        await k.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${work}/rolebindings`, { body: { metadata: { name: "ps-reconciler-secrets" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: crSecrets }, subjects: subj } });
        await k.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${home}/roles`, { body: { metadata: { name: "ps-reconciler-lease" }, rules: rules.own } });
        await k.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${home}/rolebindings`, { body: { metadata: { name: "ps-reconciler-lease" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "ps-reconciler-lease" }, subjects: subj } });

        await createSource(work, "src", { username: "u", password: canaryValue() }, { type: "kubernetes.io/basic-auth" });
        await bootstrapDerived({ format: "mirror", source: { namespace: work, name: "src" }, target: { namespace: work, name: "dst" } });

        const kcPath = await getEnv().mintServiceAccountKubeconfig(home, sa);
        const kc = new KubeConfig();
        kc.loadFromFile(kcPath);
        const client = await kubeClientFrom(kc);
        const cap = capturingLogger("rbac");
        const r = new Reconciler({ client, logger: cap.logger, identity: "rbac-test", namespaces: [work], ownNamespace: home, lease: { namespace: home, name: "ps-reconciler", durationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 }, debounceMs: 200 });
        try {
            await r.start();
            await eventually(async () => (r.isLeader ? true : undefined), 15_000, "SA acquires the lease");
            await r.waitUntilReconciling(20_000);
            const v = canaryValue();
            await mutateSecret(work, "src", (s) => (s.data.password = b64(v)));
            await eventually(async () => (unb64((await getSecret(work, "dst"))?.data?.password) === v ? true : undefined), 15_000, "reconciles with its own RBAC");
            assert.ok(!/forbidden/i.test(cap.text()), `no forbidden errors in the logs:\n${cap.lines.filter((l) => /forbidden/i.test(l)).join("\n")}`);

            const denied = async (method: string, p: string, body?: unknown) => {
                try {
                    await client.request(method, p, { body });
                    return false;
                } catch (e) {
                    return isKubeError(e, 403);
                }
            };
            assert.ok(await denied("GET", `/api/v1/namespaces/${other}/secrets`), "secrets outside the bound namespaces");
            assert.ok(await denied("PATCH", `/api/v1/namespaces/${other}/secrets/dst`, {}), "patch on secrets outside the bound namespaces");
            assert.ok(await denied("GET", `/api/v1/namespaces/${work}/configmaps`), "configmaps outside its own namespace");
            // In its own namespace it lists and deletes its tombstones (reconciler/derived/tombstones.ts); elsewhere nothing.
            assert.ok(await denied("DELETE", `/api/v1/namespaces/${other}/secrets/dst`), "deleting secrets outside the bound namespaces");
            assert.ok(await denied("DELETE", `/api/v1/namespaces/${other}`), "deleting namespaces");
            assert.ok(await denied("GET", `/api/v1/namespaces/${work}/pods`), "pods");
            assert.ok(await denied("POST", `/apis/coordination.k8s.io/v1/namespaces/${work}/leases`, { metadata: { name: "x" }, spec: {} }), "leases outside its namespace");
            assert.ok(await denied("DELETE", `/apis/apps/v1/namespaces/${work}/deployments/x`), "deleting workloads");
        } finally {
            await r.stop();
            client.close();
        }
    });
});
