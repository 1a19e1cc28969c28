import assert from "node:assert/strict";
import { mkdtempSync, promises as fs, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { KubeClient } from "../../../lib/kube";
import { VaultError, VaultKv } from "../../../reconciler/hooks/vault";
import { DEFAULT_VAULT_AUDIENCE } from "../../../stacks/reconciler";
import { canaryValue, kubeClientFrom, randomName, withTimeout } from "../../support";
import { getEnv } from "../fixture";

/** The test's root-token calls to Vault (setup and teardown only; VaultKv never sees the root token). */
async function root(method: string, p: string, body?: unknown): Promise<any> {
    const { addr, token } = getEnv().vault;
    const res = await fetch(`${addr}/v1/${p}`, {
        method,
        headers: { "X-Vault-Token": token, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // Vault's error strings name paths and reasons, never tokens; the request body is not echoed.
    if (!res.ok) throw new Error(`vault ${method} ${p}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
}

/** The JWT's `aud` claim. */
function audiences(jwt: string): string[] {
    const aud = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")).aud;
    return Array.isArray(aud) ? aud : [aud];
}

describe("reconciler/vault: Kubernetes and token-file auth against the real Vault and apiserver", function () {
    let kube: KubeClient;
    let dir: string;
    const ns = randomName("vault-auth");
    const crb = randomName("vault-auth-reviewer");
    const mount = randomName("k8s");
    const policy = randomName("reconciler-read");
    const role = "reconciler";
    const allowed = `platform-secrets-test/${randomName("allowed")}`;
    const forbidden = `platform-secrets-test/${randomName("forbidden")}`;
    const values = [canaryValue(), canaryValue()];
    const secrets: string[] = [...values]; // every secret value of this suite: none may appear in an error
    let jwtPath: string;
    let intruderJwtPath: string;
    /** The reconciler's own default token (audience: the apiserver), which the stack no longer sends to Vault. */
    let apiserverJwtPath: string;
    const clients: VaultKv[] = [];
    const kvClient = (auth: ConstructorParameters<typeof VaultKv>[0]["auth"]) => {
        const c = new VaultKv({ addr: getEnv().vault.addr, auth });
        clients.push(c);
        return c;
    };
    const expectVaultError = async (p: Promise<unknown>): Promise<VaultError> => {
        const e = await p.then(
            () => assert.fail("expected a VaultError"),
            (err: unknown) => err,
        );
        assert.ok(e instanceof VaultError, String(e));
        for (const s of secrets) assert.ok(!e.message.includes(s), "a token, JWT or value in an error message");
        return e;
    };

    /** A TokenRequest, as the kubelet makes for a projected token (`audiences`) or the pod's default token (none). */
    const mintToken = async (sa: string, tokenAudiences?: string[]): Promise<string> => {
        const r = await kube.request<{ status?: { token?: string } }>("POST", `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
            body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600, ...(tokenAudiences ? { audiences: tokenAudiences } : {}) } },
        });
        const token = r?.status?.token as string;
        assert.ok(token, `TokenRequest for ${ns}/${sa} returned no token`);
        secrets.push(token);
        return token;
    };
    const secretFile = async (name: string, content: string): Promise<string> => {
        const p = path.join(dir, name);
        await fs.writeFile(p, content, { mode: 0o600 });
        return p;
    };

    before(async function () {
        const env = getEnv();
        kube = await kubeClientFrom(env.kubeConfig());
        dir = mkdtempSync(path.join(tmpdir(), "ps-vault-auth-"));
        await kube.request("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "test.platform-secrets.io/suite": "reconciler" } } } });
        for (const sa of ["vault-reviewer", role, "intruder"]) {
            await kube.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa } } });
        }
        // Vault's token reviewer: may call TokenReview (and SubjectAccessReview) and nothing else.
        await kube.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            body: {
                apiVersion: "rbac.authorization.k8s.io/v1",
                kind: "ClusterRoleBinding",
                metadata: { name: crb },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
                subjects: [{ kind: "ServiceAccount", name: "vault-reviewer", namespace: ns }],
            },
        });
        const reviewerJwt = await mintToken("vault-reviewer");
        // What the stack's pod mounts (stacks/reconciler.ts vaultPodParts): a projected token with audience "vault".
        const jwt = await mintToken(role, [DEFAULT_VAULT_AUDIENCE]);
        assert.deepEqual(audiences(jwt), [DEFAULT_VAULT_AUDIENCE]);
        jwtPath = await secretFile("reconciler.jwt", jwt);
        apiserverJwtPath = await secretFile("reconciler-apiserver.jwt", await mintToken(role));
        intruderJwtPath = await secretFile("intruder.jwt", await mintToken("intruder", [DEFAULT_VAULT_AUDIENCE]));

        const cluster = env.kubeConfig().getCurrentCluster()!;
        const caPem = cluster.caData ? Buffer.from(cluster.caData, "base64").toString("utf8") : await fs.readFile(cluster.caFile!, "utf8");
        await root("POST", `sys/auth/${mount}`, { type: "kubernetes" });
        await root("POST", `auth/${mount}/config`, { kubernetes_host: env.apiServerUrl, kubernetes_ca_cert: caPem, token_reviewer_jwt: reviewerJwt, disable_local_ca_jwt: true });
        const rules = [`path "secret/data/${allowed}" { capabilities = ["read"] }`, `path "secret/metadata/${allowed}" { capabilities = ["read"] }`].join("\n");
        await root("PUT", `sys/policies/acl/${policy}`, { policy: rules });
        await root("POST", `auth/${mount}/role/${role}`, {
            bound_service_account_names: [role],
            bound_service_account_namespaces: [ns],
            // The role requires the Vault audience, so a token meant for the apiserver is refused (and vice versa).
            audience: DEFAULT_VAULT_AUDIENCE,
            token_policies: [policy],
            token_ttl: 4,
            token_max_ttl: 4,
        });
        for (const v of values) await root("POST", `secret/data/${allowed}`, { data: { password: v } });
        await root("POST", `secret/data/${forbidden}`, { data: { password: canaryValue() } });
    });

    after(async () => {
        for (const c of clients) c.close();
        await root("DELETE", `sys/auth/${mount}`).catch(() => undefined);
        await root("DELETE", `sys/policies/acl/${policy}`).catch(() => undefined);
        for (const p of [allowed, forbidden]) await root("DELETE", `secret/metadata/${p}`).catch(() => undefined);
        await kube?.request("DELETE", `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${crb}`).catch(() => undefined);
        await kube?.request("DELETE", `/api/v1/namespaces/${ns}`).catch(() => undefined);
        kube?.close();
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("kubernetes auth: the ServiceAccount token logs in (TokenReview by the real apiserver) and reads every version of the allowed path", async () => {
        const kv = kvClient({ method: "kubernetes", role, mount, jwtPath });
        assert.equal(await withTimeout(kv.currentVersion("secret", allowed), 15_000, "currentVersion"), 2);
        assert.equal(await withTimeout(kv.readVersion("secret", allowed, 1, "password"), 15_000, "read v1"), values[0]);
        assert.equal(await withTimeout(kv.readVersion("secret", allowed, 2, "password"), 15_000, "read v2"), values[1]);
        assert.equal(kv.stats.logins, 1, "one login serves many reads");
    });

    it("kubernetes auth: the reconciler's apiserver-audience token is refused by a role bound to the Vault audience", async () => {
        assert.notDeepEqual(audiences(await fs.readFile(apiserverJwtPath, "utf8")), [DEFAULT_VAULT_AUDIENCE]);
        const kv = kvClient({ method: "kubernetes", role, mount, jwtPath: apiserverJwtPath });
        const e = await expectVaultError(withTimeout(kv.currentVersion("secret", allowed), 15_000, "apiserver-audience login"));
        assert.match(e.message, /^vault login at auth\/[^ ]+\/login \(role reconciler\): HTTP (400|403) \(the ServiceAccount token was refused/);
    });

    it("kubernetes auth: another path is a clear 403 naming the path only", async () => {
        const kv = kvClient({ method: "kubernetes", role, mount, jwtPath });
        const e = await expectVaultError(withTimeout(kv.currentVersion("secret", forbidden), 15_000, "forbidden metadata"));
        assert.equal(e.status, 403);
        assert.match(e.message, new RegExp(`^vault GET /v1/secret/metadata/${forbidden}: HTTP 403 \\(permission denied`));
        const e2 = await expectVaultError(withTimeout(kv.readVersion("secret", forbidden, 1, "password"), 15_000, "forbidden data"));
        assert.equal(e2.status, 403);
    });

    it("kubernetes auth: the token of another ServiceAccount is refused at login", async () => {
        const kv = kvClient({ method: "kubernetes", role, mount, jwtPath: intruderJwtPath });
        const e = await expectVaultError(withTimeout(kv.readVersion("secret", allowed, 1, "password"), 15_000, "intruder login"));
        assert.equal(e.status, 403);
        assert.match(e.message, new RegExp(`^vault login at auth/${mount}/login \\(role ${role}\\): HTTP 403 \\(the ServiceAccount token was refused`));
    });

    it("kubernetes auth: logs in again when the Vault token expires and when it is revoked", async () => {
        const kv = kvClient({ method: "kubernetes", role, mount, jwtPath });
        assert.equal(await kv.currentVersion("secret", allowed), 2);
        await new Promise((r) => setTimeout(r, 4_500)); // token_ttl 4 s: the first token is gone
        assert.equal(await withTimeout(kv.readVersion("secret", allowed, 1, "password"), 15_000, "read after expiry"), values[0]);
        assert.equal(kv.stats.logins, 2);
        // Every token this auth mount issued revoked (what an operator does after a leak): a 403, then a new login.
        await root("PUT", `sys/leases/revoke-prefix/auth/${mount}/login`);
        assert.equal(await withTimeout(kv.readVersion("secret", allowed, 2, "password"), 15_000, "read after revocation"), values[1]);
        assert.equal(kv.stats.logins, 3);
    });

    it("token-file auth: a narrow-policy token in a 0600 file reads the allowed path, gets 403 elsewhere, and follows a rotated file", async () => {
        const create = async () => {
            const t = (await root("POST", "auth/token/create", { policies: [policy], no_default_policy: true, ttl: "10m" })).auth.client_token as string;
            secrets.push(t);
            return t;
        };
        const first = await create();
        const file = await secretFile("vault-token", `${first}\n`);
        assert.equal(statSync(file).mode & 0o777, 0o600);
        const kv = kvClient({ method: "token-file", path: file });
        assert.equal(await withTimeout(kv.readVersion("secret", allowed, 2, "password"), 15_000, "read"), values[1]);
        const e = await expectVaultError(withTimeout(kv.currentVersion("secret", forbidden), 15_000, "forbidden"));
        assert.equal(e.status, 403);
        assert.match(e.message, new RegExp(`^vault GET /v1/secret/metadata/${forbidden}: HTTP 403`));

        await root("POST", "auth/token/revoke", { token: first });
        await fs.writeFile(file, await create());
        assert.equal(await withTimeout(kv.readVersion("secret", allowed, 1, "password"), 15_000, "read after rotation"), values[0]);
    });
});
