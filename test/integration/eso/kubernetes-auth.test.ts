import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { eventually, randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin } from "../reconciler/helpers";
import { allowNamespaces, apply, createNamespace, Obj, only, readyCondition, remove, renderStack, secretData, vaultDelete, vaultRead, waitReady, writeProgramVaultSecrets } from "./helpers";

/** The test's root-token calls to Vault (setup and teardown only; ESO never sees the root token here). */
async function root(method: string, p: string, body?: unknown): Promise<any> {
    const { addr, token } = getEnv().vault;
    const res = await fetch(`${addr}/v1/${p}`, { method, headers: { "X-Vault-Token": token, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`vault ${method} ${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
}

/**
 * The stack's default store auth (vaultAuthMethod: kubernetes) through the real controller: ESO presents a token of
 * the configured ServiceAccount, Vault's kubernetes auth method reviews it against the real apiserver and grants
 * only the role's policy. A password path the policy allows syncs; one it does not stays out (permission denied).
 */
describe("eso: ClusterSecretStore with Vault Kubernetes auth (stack-rendered, real controller, real TokenReview)", function () {
    this.timeout(180_000);
    const mount = randomName("k8s");
    const policy = randomName("eso-read");
    const role = "external-secrets";
    const store = randomName("store");
    const allowed = `platform-secrets-test/${randomName("allowed")}`;
    const forbidden = `platform-secrets-test/${randomName("forbidden")}`;
    const crb = randomName("eso-reviewer");
    let esoNs: string;
    let app: string;
    const applied: Obj[] = [];

    before(async () => {
        const k = await admin();
        esoNs = await createNamespace("eso-sa");
        app = await createNamespace("eso-app");
        for (const sa of ["vault-reviewer", "eso-vault"]) await k.request("POST", `/api/v1/namespaces/${esoNs}/serviceaccounts`, { body: { metadata: { name: sa } } });
        // Vault's token reviewer may call TokenReview and nothing else (system:auth-delegator).
        await k.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            body: { metadata: { name: crb }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" }, subjects: [{ kind: "ServiceAccount", name: "vault-reviewer", namespace: esoNs }] },
        });
        const reviewer = (await k.request("POST", `/api/v1/namespaces/${esoNs}/serviceaccounts/vault-reviewer/token`, { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } } })).status.token as string;
        const env = getEnv();
        const cluster = env.kubeConfig().getCurrentCluster()!;
        const caPem = cluster.caData ? Buffer.from(cluster.caData, "base64").toString("utf8") : await fs.readFile(cluster.caFile!, "utf8");
        await root("POST", `sys/auth/${mount}`, { type: "kubernetes" });
        await root("POST", `auth/${mount}/config`, { kubernetes_host: env.apiServerUrl, kubernetes_ca_cert: caPem, token_reviewer_jwt: reviewer, disable_local_ca_jwt: true });
        await root("PUT", `sys/policies/acl/${policy}`, { policy: `path "secret/data/${allowed}" { capabilities = ["read"] }` });
        await root("POST", `auth/${mount}/role/${role}`, { bound_service_account_names: ["eso-vault"], bound_service_account_namespaces: [esoNs], token_policies: [policy], token_ttl: 300 });
    });

    after(async () => {
        for (const o of applied.reverse()) await remove(o).catch(() => undefined);
        const k = await admin();
        await k.request("DELETE", `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${crb}`).catch(() => undefined);
        for (const n of [esoNs, app]) if (n) await k.request("DELETE", `/api/v1/namespaces/${n}`).catch(() => undefined);
        await root("DELETE", `sys/auth/${mount}`).catch(() => undefined);
        await root("DELETE", `sys/policies/acl/${policy}`).catch(() => undefined);
        for (const p of [allowed, forbidden]) await vaultDelete("secret", p).catch(() => undefined);
    });

    it("syncs the password the role may read, and only that one", async () => {
        const consumer = (secretName: string) => ({ namespace: app, secretName, secretKey: "password", refreshPolicy: "OnChange" });
        const { objects, resources } = await renderStack("local", {
            vaultAddress: getEnv().vault.addr,
            vaultAuthMethod: "kubernetes",
            vaultKubernetesRole: role,
            vaultKubernetesMountPath: mount,
            vaultKubernetesServiceAccount: "eso-vault",
            vaultKubernetesServiceAccountNamespace: esoNs,
            storeName: store,
            storeAllowedNamespaces: allowNamespaces("local", [app]),
            passwords: [
                { name: "allowed", length: 24, vaultPath: allowed, rotation: 0, consumers: [consumer("allowed")] },
                { name: "forbidden", length: 24, vaultPath: forbidden, rotation: 0, consumers: [consumer("forbidden")] },
            ],
            clusterExternalSecrets: [],
            externalSecrets: [],
        });
        assert.equal(await writeProgramVaultSecrets(resources, (n) => n === allowed || n === forbidden), 2);
        const storeObj = only(objects, "ClusterSecretStore", store);
        assert.deepEqual(storeObj.spec.provider.vault.auth, { kubernetes: { mountPath: mount, role, serviceAccountRef: { name: "eso-vault", namespace: esoNs } } });
        const ok = only(objects, "ExternalSecret", "allowed", app);
        const denied = only(objects, "ExternalSecret", "forbidden", app);
        for (const o of [storeObj, ok, denied]) {
            await apply(o);
            applied.push(o);
        }
        await waitReady(storeObj);
        await waitReady(ok);
        assert.equal((await secretData(app, "allowed"))?.password?.length, 24, "the allowed password arrived");
        const c = await eventually(async () => {
            const r = await readyCondition(denied);
            return r?.status === "False" ? r : undefined;
        }, 60_000, "the forbidden ExternalSecret reports its failure", 200);
        assert.equal(await secretData(app, "forbidden"), undefined, "nothing the role may not read reaches the cluster");
        const value = (await vaultRead("secret", forbidden))!.data.password!;
        assert.ok(!JSON.stringify(c).includes(value), "ESO's condition never carries the value");
    });
});
