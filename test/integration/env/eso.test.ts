import { CoreV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { strict as assert } from "node:assert";
import { readFileSync, readlinkSync } from "node:fs";
import { binPath } from "../../env/binaries";
import { rssKiB } from "../../env/eso";
import { esoSpec } from "../../env/eso-binary";
import { request } from "../../env/http";
import { eventually, randomName, withTimeout } from "../../support";
import { getEnv } from "../fixture";

/**
 * The External Secrets Operator of the test environment is the real controller (built from its Go module, see
 * test/env/eso.ts): it validates a ClusterSecretStore against the real Vault (a wrong token is refused), and an
 * ExternalSecret copies a KV v2 value into a Secret and follows a new version. Nothing in this repository plays
 * ESO here.
 */

const GROUP = "external-secrets.io";
const VERSION = "v1";
const b64 = (s: string): string => Buffer.from(s).toString("base64");

type Condition = { type: string; status: string; reason?: string; message?: string };
const ready = (o: unknown): Condition | undefined => ((o as { status?: { conditions?: Condition[] } }).status?.conditions ?? []).find((c) => c.type === "Ready");

async function vaultPut(path: string, data: Record<string, string>): Promise<number> {
    const { addr, token } = getEnv().vault;
    const r = await request(`${addr}/v1/secret/data/${path}`, { method: "POST", headers: { "x-vault-token": token }, body: JSON.stringify({ data }) });
    assert.equal(r.status, 200, `vault write secret/${path}: ${r.body}`);
    return (JSON.parse(r.body) as { data: { version: number } }).data.version;
}

describe("test environment: the real External Secrets Operator", function () {
    let kc: KubeConfig;
    let core: CoreV1Api;
    let crd: CustomObjectsApi;
    let ns: string;
    const stores: string[] = [];

    before(async function () {
        if (!getEnv().eso) this.skip(); // PS_TEST_SKIP_ESO=1
        kc = getEnv().kubeConfig();
        core = kc.makeApiClient(CoreV1Api);
        crd = kc.makeApiClient(CustomObjectsApi);
        ns = randomName("eso");
        await core.createNamespace({ body: { metadata: { name: ns, labels: { "platform-secrets.io/test": "eso" } } } });
        // Token auth: the Secret the store reads the Vault token from.
        await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "vault-token" }, data: { token: b64(getEnv().vault.token) } } });
        await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "wrong-token" }, data: { token: b64("hvs.not-a-token") } } });
    });

    after(async function () {
        for (const name of stores) await crd.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: "clustersecretstores", name }).catch(() => undefined);
        if (ns) await core.deleteNamespace({ name: ns }).catch(() => undefined);
        const eso = getEnv().eso;
        if (eso?.pid) {
            const rss = rssKiB(eso.pid);
            process.stderr.write(`[test-env] external-secrets pid ${eso.pid}: VmRSS ${rss === undefined ? "?" : `${(rss / 1024).toFixed(0)} MiB`} after the ESO tests\n`);
        }
    });

    async function vaultStore(tokenSecret: string): Promise<string> {
        const name = randomName("vault");
        stores.push(name);
        await crd.createClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: "clustersecretstores",
            body: {
                apiVersion: `${GROUP}/${VERSION}`,
                kind: "ClusterSecretStore",
                metadata: { name },
                spec: {
                    provider: {
                        vault: { server: getEnv().vault.addr, path: "secret", version: "v2", auth: { tokenSecretRef: { name: tokenSecret, namespace: ns, key: "token" } } },
                    },
                },
            },
        });
        return name;
    }

    async function storeReady(name: string): Promise<Condition> {
        return eventually(async () => {
            const c = ready(await crd.getClusterCustomObject({ group: GROUP, version: VERSION, plural: "clustersecretstores", name }));
            return c && (c.status === "True" || c.status === "False") ? c : undefined;
        }, 60_000, `ClusterSecretStore ${name} gets a Ready condition`);
    }

    it("runs the controller built from the pinned ESO module, with the admin kubeconfig", function () {
        const eso = getEnv().eso!;
        assert.ok(eso.pid, "the controller has a pid");
        assert.equal(readlinkSync(`/proc/${eso.pid}/exe`), binPath(esoSpec(), "external-secrets"));
        const environ = readFileSync(`/proc/${eso.pid}/environ`, "utf8").split("\0");
        assert.ok(environ.includes(`KUBECONFIG=${eso.kubeconfigPath}`), "reads its kubeconfig from KUBECONFIG");
        assert.ok(!environ.some((e) => e.startsWith("VAULT_TOKEN=")), "no ambient Vault token");
        assert.match(readFileSync(eso.logPath, "utf8"), /Starting workers.*"controller":"externalsecret"/);
    });

    it("a ClusterSecretStore with Vault token auth becomes Ready; a wrong token makes it not Ready", async function () {
        const good = await vaultStore("vault-token");
        const bad = await vaultStore("wrong-token");
        const [g, b] = await withTimeout(Promise.all([storeReady(good), storeReady(bad)]), 90_000, "both stores validated");
        assert.equal(g.status, "True", `valid token: ${g.reason} ${g.message}`);
        assert.equal(b.status, "False", `wrong token: ${b.reason} ${b.message}`);
    });

    it("an ExternalSecret copies a Vault KV v2 value into a Secret and follows a new version", async function () {
        const store = await vaultStore("vault-token");
        assert.equal((await withTimeout(storeReady(store), 90_000, "store validated")).status, "True");
        const vaultPath = `test/${randomName("eso")}`;
        const v1 = await vaultPut(vaultPath, { password: "first-value", other: "x" });
        const name = randomName("synced");
        await crd.createNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: ns,
            plural: "externalsecrets",
            body: {
                apiVersion: `${GROUP}/${VERSION}`,
                kind: "ExternalSecret",
                metadata: { name, namespace: ns },
                spec: {
                    refreshInterval: "1s",
                    secretStoreRef: { kind: "ClusterSecretStore", name: store },
                    target: { name, creationPolicy: "Owner" },
                    data: [{ secretKey: "password", remoteRef: { key: vaultPath, property: "password" } }],
                },
            },
        });
        const read = async (): Promise<string | undefined> => {
            const s = await core.readNamespacedSecret({ name, namespace: ns }).catch(() => undefined);
            return s?.data?.password ? Buffer.from(s.data.password, "base64").toString("utf8") : undefined;
        };
        assert.equal(await eventually(async () => ((await read()) === "first-value" ? "ok" : undefined), 60_000, "Secret holds the Vault value"), "ok");
        const secret = await core.readNamespacedSecret({ name, namespace: ns });
        assert.deepEqual(Object.keys(secret.data ?? {}), ["password"], "only the mapped key");
        assert.equal(secret.metadata?.ownerReferences?.[0]?.kind, "ExternalSecret", "creationPolicy Owner: owned by the ExternalSecret");

        const v2 = await vaultPut(vaultPath, { password: "second-value", other: "x" });
        assert.equal(v2, v1 + 1, "a new KV v2 version");
        const t0 = Date.now();
        await eventually(async () => ((await read()) === "second-value" ? "ok" : undefined), 30_000, "Secret follows the new Vault version (refreshInterval 1s)");
        process.stderr.write(`[test-env] ESO re-synced a new Vault version in ${Date.now() - t0} ms\n`);
        const es = await crd.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "externalsecrets", name });
        assert.equal(ready(es)?.status, "True", JSON.stringify(ready(es)));
    });
});
