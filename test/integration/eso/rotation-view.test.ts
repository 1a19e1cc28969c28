import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { derivedSecretProvider } from "../../../providers";
import { POLICY_CONFIGMAP_NAME, POLICY_KEY } from "../../../reconciler/trust/policy";
import { eventually, randomName } from "../../support";
import { cli, createConsumer } from "../cli/helpers";
import { getEnv } from "../fixture";
import { admin, reconcilerIdentity, Running, startReconciler, superuser } from "../reconciler/helpers";
import { allowNamespaces, apply, createNamespace, createVaultTokenSecret, Obj, only, remove, renderStack, secretData, vaultDelete, vaultRead, waitReady, writeProgramVaultSecrets } from "./helpers";

/**
 * Issue 22 §3: `platform-secrets rotation NS/NAME` over a real chain (stack-rendered Vault write, ClusterSecretStore
 * and ExternalSecret, the REAL ESO controller, the reconciler with the stack's RBAC and policy, a postgres hook on the
 * real PostgreSQL, a derived copy, a consumer Deployment): every step done after a rotation, and the step that is
 * missing named while the reconciler is stopped, and while ESO has not synced a new Vault version.
 */
describe("eso: the rotation view through the real controller (platform-secrets rotation)", function () {
    this.timeout(300_000);
    const vaultPath = `platform-secrets-test/${randomName("view")}`;
    const role = `app_${randomName("v").replace(/-/g, "_")}`;
    const store = randomName("store");
    let ns: string;
    let own: string;
    let rec: Running | undefined;
    let identity: Awaited<ReturnType<typeof reconcilerIdentity>> | undefined;
    let tokenDir: string;
    const applied: Obj[] = [];

    const overrides = (rotation: number): Record<string, unknown> => {
        const pg = getEnv().postgres;
        return {
            vaultAddress: getEnv().vault.addr,
            storeName: store,
            vaultTokenSecretNamespace: own,
            storeAllowedNamespaces: allowNamespaces("local", [ns]),
            passwords: [{ name: "db-app", length: 32, vaultPath, rotation, consumers: [{ namespace: ns, secretName: "db-app", secretKey: "password", refreshPolicy: "OnChange", hooks: [{ type: "postgres", host: pg.host, port: pg.port, user: role, database: pg.database, tls: { mode: "require" } }] }] }],
            clusterExternalSecrets: [],
            externalSecrets: [],
        };
    };
    /** The CLI as an administrator runs it at the end of the rotation procedure, with their own Vault token file. */
    const view = () => cli(getEnv().kubeconfigPath, "rotation", `${ns}/db-app`, "--reconciler-namespace", own, "--vault-addr", getEnv().vault.addr, "--vault-token-file", path.join(tokenDir, "token"));

    before(async () => {
        own = await createNamespace("eso-own");
        ns = await createNamespace("eso-view");
        tokenDir = mkdtempSync(path.join(tmpdir(), "ps-vault-"));
        writeFileSync(path.join(tokenDir, "token"), getEnv().vault.token, { mode: 0o600 });
    });
    after(async () => {
        await rec?.stop();
        await identity?.cleanup();
        for (const o of applied.reverse()) await remove(o).catch(() => undefined);
        const k = await admin();
        for (const n of [ns, own]) if (n) await k.request("DELETE", `/api/v1/namespaces/${n}`).catch(() => undefined);
        await superuser((c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`)).catch(() => undefined);
        await vaultDelete("secret", vaultPath).catch(() => undefined);
        rmSync(tokenDir, { recursive: true, force: true });
    });

    it("every step done after a rotation; the hooks step named while the reconciler is stopped, the ESO step while ESO is stopped", async () => {
        const k = await admin();
        const r0 = await renderStack("local", overrides(0));
        await writeProgramVaultSecrets(r0.resources, (n) => n === vaultPath);
        const first = (await vaultRead("secret", vaultPath))!.data.password!;
        const storeObj = only(r0.objects, "ClusterSecretStore", store);
        const tokenRef = storeObj.spec.provider.vault.auth.tokenSecretRef as { name: string; namespace: string; key: string };
        await createVaultTokenSecret(tokenRef.namespace, tokenRef.name, tokenRef.key);
        for (const o of [storeObj, only(r0.objects, "ExternalSecret", "db-app", ns)]) {
            await apply(o);
            applied.push(o);
            await waitReady(o);
        }
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN PASSWORD ${c.escapeLiteral(first)}`));
        await createConsumer(ns, "api", "db-app");
        await derivedSecretProvider.create!({ format: "mirror", source: { namespace: ns, name: "db-app" }, target: { namespace: ns, name: "db-app-copy" }, kubeconfig: readFileSync(getEnv().kubeconfigPath, "utf8") } as never);
        const policy = r0.objects.find((o) => o.kind === "ConfigMap" && (o as { data?: Record<string, string> }).data?.[POLICY_KEY] !== undefined) as Obj & { data: Record<string, string> };
        await k.request("POST", `/api/v1/namespaces/${own}/configmaps`, { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: POLICY_CONFIGMAP_NAME, namespace: own }, data: { [POLICY_KEY]: policy.data[POLICY_KEY] } } });
        identity = await reconcilerIdentity(own);
        const start = async () => startReconciler([], { client: identity!.client, ownNamespace: own, vault: { addr: getEnv().vault.addr, auth: { method: "token-file", path: path.join(tokenDir, "token") } }, debounceMs: 200 });
        rec = await start();
        const before = await eventually(async () => {
            const r = await view();
            return r.code === 0 ? r : undefined;
        }, 60_000, "the first version is everywhere");
        // Looking in the wrong reconciler namespace is not "no hooks": the step says where to look.
        const wrongNs = await cli(getEnv().kubeconfigPath, "rotation", `${ns}/db-app`, "--reconciler-namespace", `${own}-nope`, "--vault-addr", getEnv().vault.addr, "--vault-token-file", path.join(tokenDir, "token"));
        assert.equal(wrongNs.code, 1);
        assert.match(wrongNs.out, /\? hooks +hooks of \S+\/db-app +unknown: no administrator policy in namespace \S+-nope: pass --reconciler-namespace/);
        for (const step of [/✓ vault +secret\/platform-secrets-test\/\S+ +done: version 1 \(the first/, /✓ eso +externalsecret\/\S+\/db-app +done/, /✓ hooks +hooks of \S+\/db-app +done/, /✓ derived +\S+\/db-app-copy +done/, /✓ workload +deployments\/\S+\/api +done/]) assert.match(before.out, step);

        // The reconciler stops; pulumi up rotates; ESO syncs: the hook is what is missing.
        await rec.stop();
        rec = undefined;
        const r1 = await renderStack("local", overrides(1));
        await writeProgramVaultSecrets(r1.resources, (n) => n === vaultPath);
        const second = (await vaultRead("secret", vaultPath))!.data.password!;
        await apply(only(r1.objects, "ExternalSecret", "db-app", ns));
        await eventually(async () => ((await secretData(ns, "db-app"))?.password === second ? true : undefined), 30_000, "ESO synced rotation 1");
        const stalled = await view();
        assert.equal(stalled.code, 1, stalled.out + stalled.err);
        assert.match(stalled.out, /✓ vault .* version 2, version 1 still readable/);
        assert.match(stalled.out, /✓ eso .*holds Vault's current version/);
        assert.match(stalled.out, /not complete: first missing step: hooks hooks of \S+\/db-app: hooks not yet applied for the current content \(is the reconciler running\?\)/);
        assert.match(stalled.out, /… derived .*db-app-copy .*pending: still derived from an earlier source version/);

        // The reconciler back: every step converges, down to the consumer.
        rec = await start();
        const after = await eventually(async () => {
            const r = await view();
            return r.code === 0 ? r : undefined;
        }, 60_000, "rotation 1 everywhere");
        assert.match(after.out, /every step has the new version/);
        // The same by the password: every consumer Secret of the Vault path (here the one).
        const byPassword = await cli(getEnv().kubeconfigPath, "rotation", "--password", vaultPath, "-A", "--reconciler-namespace", own, "--vault-addr", getEnv().vault.addr, "--vault-token-file", path.join(tokenDir, "token"));
        assert.equal(byPassword.code, 0, byPassword.out + byPassword.err);
        assert.match(byPassword.out, new RegExp(`^rotation of password secret/${vaultPath} \\(1 consumer Secret: ${ns}/db-app\\)`));
        assert.match(byPassword.out, /✓ hooks .*✓ derived .*✓ workload/s);

        // ESO stopped (its process frozen with SIGSTOP: no leader election to lose), then pulumi up rotates: the ESO
        // step is named. Resumed, it syncs and the chain converges again.
        const esoPid = getEnv().eso?.pid;
        assert.ok(esoPid, "the real ESO controller runs in this environment");
        let notSynced: Awaited<ReturnType<typeof view>>;
        process.kill(esoPid, "SIGSTOP");
        try {
            const r2 = await renderStack("local", overrides(2));
            await writeProgramVaultSecrets(r2.resources, (n) => n === vaultPath);
            await apply(only(r2.objects, "ExternalSecret", "db-app", ns));
            await new Promise((r) => setTimeout(r, 1000));
            notSynced = await view();
        } finally {
            process.kill(esoPid, "SIGCONT");
        }
        assert.equal(notSynced.code, 1);
        assert.match(notSynced.out, /first missing step: eso externalsecret\/\S+\/db-app: secret \S+\/db-app still holds an earlier version: ESO has not synced/);
        const resumed = await eventually(async () => {
            const r = await view();
            return r.code === 0 ? r : undefined;
        }, 60_000, "rotation 2 everywhere once ESO runs again");
        const third = (await vaultRead("secret", vaultPath))!.data.password!;
        for (const v of [first, second, third]) for (const r of [before, stalled, after, notSynced, resumed]) assert.ok(!r.out.includes(v) && !r.err.includes(v), "no value in the CLI's output");
    });
});
