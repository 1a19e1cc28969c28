import { ApiException, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, V1Secret, VersionApi } from "@kubernetes/client-node";
import { strict as assert } from "node:assert";
import { Client } from "pg";
import { eventually, randomName, withTimeout } from "../../support";
import { getEnv } from "../fixture";

/** Proves the environment is made of real servers: each check fails on a fake or a misconfigured one. */

const b64 = (s: string): string => Buffer.from(s).toString("base64");

async function expectStatus(p: Promise<unknown>, code: number, what: string): Promise<void> {
    try {
        await p;
    } catch (e) {
        assert.ok(e instanceof ApiException, `${what}: expected ApiException ${code}, got ${String(e)}`);
        assert.equal((e as ApiException<unknown>).code, code, `${what}: HTTP status`);
        return;
    }
    assert.fail(`${what}: expected HTTP ${code}, but the call succeeded`);
}

describe("test environment smoke (real servers)", function () {
    let kc: KubeConfig;
    let core: CoreV1Api;
    let ns: string;

    before(async function () {
        kc = getEnv().kubeConfig();
        core = kc.makeApiClient(CoreV1Api);
        ns = randomName("smoke");
        await core.createNamespace({ body: { metadata: { name: ns, labels: { "platform-secrets.io/test": "smoke" } } } });
    });

    after(async function () {
        if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
    });

    it("serves the pinned Kubernetes version (ldflags set, not 0.0)", async function () {
        const v = await kc.makeApiClient(VersionApi).getCode();
        assert.equal(v.major, "1");
        assert.ok(Number(v.minor) >= 34, `minor ${v.minor}`);
        assert.match(v.gitVersion, /^v1\.\d+\.\d+$/);
    });

    it("creates a namespace and a Secret, and reads it back", async function () {
        const name = randomName("s");
        await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, type: "Opaque", data: { k: b64("v1") } } });
        const got = await core.readNamespacedSecret({ name, namespace: ns });
        assert.equal(got.data?.k, b64("v1"));
        assert.ok(got.metadata?.uid, "a real apiserver assigns a uid");
        const nsObj = await core.readNamespace({ name: ns });
        assert.equal(nsObj.status?.phase, "Active");
    });

    it("rejects a write with a stale resourceVersion with 409 Conflict", async function () {
        const name = randomName("s");
        const created = await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, data: { k: b64("a") } } });
        const stale: V1Secret = { ...created, data: { k: b64("stale") } };
        const fresh: V1Secret = { ...created, data: { k: b64("b") } };
        await core.replaceNamespacedSecret({ name, namespace: ns, body: fresh });
        await expectStatus(core.replaceNamespacedSecret({ name, namespace: ns, body: stale }), 409, "stale replace");
        const now = await core.readNamespacedSecret({ name, namespace: ns });
        assert.equal(now.data?.k, b64("b"));
    });

    it("garbage-collects a dependent when its owner is deleted", async function () {
        const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: randomName("owner") }, data: { a: "b" } } });
        const depName = randomName("dep");
        await core.createNamespacedSecret({
            namespace: ns,
            body: {
                metadata: {
                    name: depName,
                    ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: owner.metadata!.name!, uid: owner.metadata!.uid! }],
                },
                data: { k: b64("x") },
            },
        });
        // Still there while the owner lives: the GC does not delete it for another reason.
        await new Promise((r) => setTimeout(r, 1000));
        await core.readNamespacedSecret({ name: depName, namespace: ns });
        await core.deleteNamespacedConfigMap({ name: owner.metadata!.name!, namespace: ns });
        await eventually(
            async () => {
                try {
                    await core.readNamespacedSecret({ name: depName, namespace: ns });
                    return undefined;
                } catch (e) {
                    if (e instanceof ApiException && e.code === 404) return true;
                    throw e;
                }
            },
            30_000,
            `dependent Secret ${ns}/${depName} deleted by the garbage collector`,
            200,
        );
    });

    it("denies a ServiceAccount outside its Role and allows it inside", async function () {
        const env = getEnv();
        const sa = randomName("sa");
        const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
        await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
        await rbac.createNamespacedRole({
            namespace: ns,
            body: { metadata: { name: sa }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }] },
        });
        await rbac.createNamespacedRoleBinding({
            namespace: ns,
            body: {
                metadata: { name: sa },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: sa },
                subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
            },
        });
        const saKc = new KubeConfig();
        saKc.loadFromFile(await env.mintServiceAccountKubeconfig(ns, sa));
        const saCore = saKc.makeApiClient(CoreV1Api);
        // Inside the Role (RBAC caches settle within moments).
        await eventually(async () => (await saCore.listNamespacedConfigMap({ namespace: ns })) && true, 10_000, "SA lists configmaps");
        // Outside it: another resource, another namespace, a write.
        await expectStatus(saCore.listNamespacedSecret({ namespace: ns }), 403, "SA lists secrets");
        await expectStatus(saCore.listNamespacedConfigMap({ namespace: "default" }), 403, "SA lists configmaps in default");
        await expectStatus(saCore.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: randomName("cm") } } }), 403, "SA creates a configmap");
    });

    it("Vault KV v2: two writes keep version 1 readable and make version 2 current", async function () {
        const { addr, token } = getEnv().vault;
        const p = `smoke/${randomName("kv")}`;
        const headers = { "x-vault-token": token, "content-type": "application/json" };
        for (const v of ["one", "two"]) {
            const w = await fetch(`${addr}/v1/secret/data/${p}`, { method: "POST", headers, body: JSON.stringify({ data: { v } }) });
            assert.equal(w.status, 200, `write ${v}: ${await w.text()}`);
        }
        type Read = { data: { data: { v: string }; metadata: { version: number } } };
        const cur = (await (await fetch(`${addr}/v1/secret/data/${p}`, { headers })).json()) as Read;
        assert.equal(cur.data.metadata.version, 2);
        assert.equal(cur.data.data.v, "two");
        const v1 = (await (await fetch(`${addr}/v1/secret/data/${p}?version=1`, { headers })).json()) as Read;
        assert.equal(v1.data.metadata.version, 1);
        assert.equal(v1.data.data.v, "one");
        const denied = await fetch(`${addr}/v1/secret/data/${p}`, { headers: { "x-vault-token": "not-the-token" } });
        assert.equal(denied.status, 403);
    });

    it("PostgreSQL: after ALTER USER ... PASSWORD the new password logs in and the old one fails", async function () {
        const pg = getEnv().postgres;
        const role = randomName("smoke").replace(/-/g, "_");
        const oldPw = randomName("old");
        const newPw = randomName("new");
        const admin = new Client({ connectionString: pg.url });
        await admin.connect();
        const login = async (password: string): Promise<void> => {
            const c = new Client({ host: pg.host, port: pg.port, user: role, password, database: pg.database });
            await c.connect();
            await c.end();
        };
        try {
            await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${oldPw}'`);
            await login(oldPw);
            await admin.query(`ALTER USER ${role} PASSWORD '${newPw}'`);
            await login(newPw);
            await assert.rejects(login(oldPw), (e: Error & { code?: string }) => e.code === "28P01");
        } finally {
            await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
            await admin.end();
        }
    });

    it("restartApiServer brings the apiserver back on the same URL with the data intact", async function () {
        const env = getEnv();
        const url = env.apiServerUrl;
        await withTimeout(env.restartApiServer({ downMs: 200 }), 60_000, "apiserver restart");
        assert.equal(env.apiServerUrl, url);
        const again = env.kubeConfig().makeApiClient(CoreV1Api);
        const got = await again.readNamespace({ name: ns });
        assert.equal(got.metadata?.name, ns);
    });
});
