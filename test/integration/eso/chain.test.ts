import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { derivedSecretProvider } from "../../../providers";
import { ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { POLICY_CONFIGMAP_NAME, POLICY_KEY } from "../../../reconciler/trust/policy";
import { eventually, randomName, withTimeout } from "../../support";
import { getEnv } from "../fixture";
import { admin, auditLines, canLogin, reconcilerIdentity, Running, startReconciler, superuser } from "../reconciler/helpers";
import { ANNOTATION_ROTATION, externalSecretManifest } from "../../../stacks/eso/manifests";
import type { RefreshPolicy } from "../../../stacks/config/types";
import { allowNamespaces, apply, vaultWrite, createNamespace, createVaultTokenSecret, Obj, only, remove, renderStack, secretData, vaultDelete, vaultRead, waitReady, writeProgramVaultSecrets } from "./helpers";



/**
 * Issue 12's "done when": random password → Vault KV v2 → the REAL ESO controller → Secret → reconciler → derived
 * secret + restart + PostgreSQL rotation, with every object rendered by the program from the `local` stack file
 * (only names are randomised). Nothing here carries a label or annotation the product or ESO would not put there.
 */
describe("eso: the seed-004 chain through the real controller (stack-rendered objects)", function () {
    this.timeout(300_000);
    const vaultPath = `platform-secrets-test/${randomName("chain")}`;
    const role = `app_${randomName("r").replace(/-/g, "_")}`;
    const store = randomName("store");
    let ns: string;
    let nsPeriodic: string;
    let own: string;
    let rec: Running | undefined;
    let identity: Awaited<ReturnType<typeof reconcilerIdentity>> | undefined;
    let tokenDir: string | undefined;
    const applied: Obj[] = [];

    const overrides = (rotation: number): Record<string, unknown> => {
        const pg = getEnv().postgres;
        return {
            vaultAddress: getEnv().vault.addr,
            storeName: store,
            vaultTokenSecretNamespace: own,
            storeAllowedNamespaces: allowNamespaces("local", [ns, nsPeriodic]),
            passwords: [
                {
                    name: "db-app",
                    length: 32,
                    vaultPath,
                    rotation,
                    consumers: [
                        // The app reads the password at init (seed 004): the database keeps the first value unless a hook moves it.
                        { namespace: ns, secretName: "db-app", secretKey: "password", refreshPolicy: "OnChange", hooks: [{ type: "postgres", host: pg.host, port: pg.port, user: role, database: pg.database, tls: { mode: "require" } }] },
                        { namespace: nsPeriodic, secretName: "db-app", secretKey: "password", refreshPolicy: "Periodic", refreshInterval: "1h" },
                    ],
                },
            ],
            clusterExternalSecrets: [],
            externalSecrets: [],
        };
    };

    before(async () => {
        own = await createNamespace("eso-own");
        ns = await createNamespace("eso-app");
        nsPeriodic = await createNamespace("eso-per");
    });

    after(async () => {
        await rec?.stop();
        await identity?.cleanup();
        for (const o of applied.reverse()) await remove(o).catch(() => undefined);
        const k = await admin();
        for (const n of [ns, nsPeriodic, own]) if (n) await k.request("DELETE", `/api/v1/namespaces/${n}`).catch(() => undefined);
        await superuser((c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`)).catch(() => undefined);
        await vaultDelete("secret", vaultPath).catch(() => undefined);
        if (tokenDir) rmSync(tokenDir, { recursive: true, force: true });
    });

    it("a rotation-counter bump re-syncs both refresh policies, rewrites the derived copy, restarts the consumer and moves PostgreSQL to the new password", async () => {
        const k = await admin();
        // --- pulumi up, rotation 0: the program's Vault write, store and ExternalSecrets.
        const r0 = await renderStack("local", overrides(0));
        assert.equal(await writeProgramVaultSecrets(r0.resources, (n) => n === vaultPath), 1, "the program writes the password once");
        const v1 = (await vaultRead("secret", vaultPath))!;
        assert.equal(v1.version, 1);
        const storeObj = only(r0.objects, "ClusterSecretStore", store);
        const esObj = only(r0.objects, "ExternalSecret", "db-app", ns);
        const esPeriodic = only(r0.objects, "ExternalSecret", "db-app", nsPeriodic);
        const tokenRef = storeObj.spec.provider.vault.auth.tokenSecretRef as { name: string; namespace: string; key: string };
        await createVaultTokenSecret(tokenRef.namespace, tokenRef.name, tokenRef.key);
        for (const o of [storeObj, esObj, esPeriodic]) {
            await apply(o);
            applied.push(o);
        }
        await waitReady(storeObj);
        await waitReady(esObj);
        await waitReady(esPeriodic);
        const first = v1.data.password!;
        assert.deepEqual(await secretData(ns, "db-app"), { password: first }, "ESO wrote the Vault value");
        assert.deepEqual(await secretData(nsPeriodic, "db-app"), { password: first });

        // --- what the app's bootstrap did with the first value, what its owner declared, and what `pulumi up` derived.
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN PASSWORD ${c.escapeLiteral(first)}`));
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
            body: {
                metadata: { name: "api", annotations: { [ANNOTATION_RESTART_ON]: "auto" } },
                spec: { selector: { matchLabels: { app: "api" } }, template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "c", image: "registry.invalid/api", env: [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "db-app", key: "password" } } }] }] } } },
            },
        });
        const kubeconfig = readFileSync(getEnv().kubeconfigPath, "utf8");
        await derivedSecretProvider.create!({ format: "mirror", source: { namespace: ns, name: "db-app" }, target: { namespace: ns, name: "db-app-copy" }, kubeconfig } as never);

        // --- the reconciler with exactly the stack's RBAC, the stack-rendered policy, Vault by token file.
        // Named after the stack's instance (platform-secrets-local-policy); the reconciler here reads the default name.
        const policy = r0.objects.find((o) => o.kind === "ConfigMap" && (o as { data?: Record<string, string> }).data?.[POLICY_KEY] !== undefined) as Obj & { data: Record<string, string> };
        await k.request("POST", `/api/v1/namespaces/${own}/configmaps`, { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: POLICY_CONFIGMAP_NAME, namespace: own }, data: { [POLICY_KEY]: policy.data[POLICY_KEY] } } });
        identity = await reconcilerIdentity(own);
        tokenDir = mkdtempSync(path.join(tmpdir(), "ps-vault-"));
        writeFileSync(path.join(tokenDir, "token"), getEnv().vault.token, { mode: 0o600 });
        rec = await startReconciler([], { client: identity.client, ownNamespace: own, vault: { addr: getEnv().vault.addr, auth: { method: "token-file", path: path.join(tokenDir, "token") } }, debounceMs: 200 });
        await eventually(async () => auditLines(rec!.lines).some((a) => a.action === "hook" && a.object === `${ns}/db-app` && /baseline/.test(a.reason)) || undefined, 30_000, "hook baseline");
        await eventually(async () => ((await k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/api`)).metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? true : undefined), 15_000, "consumer baseline");

        // --- pulumi up, rotation 1: a new Vault version, the bumped ExternalSecrets.
        const r1 = await renderStack("local", overrides(1));
        assert.equal(await writeProgramVaultSecrets(r1.resources, (n) => n === vaultPath), 1);
        const v2 = (await vaultRead("secret", vaultPath))!;
        assert.equal(v2.version, 2, "a rotation is one new Vault version");
        const second = v2.data.password!;
        assert.notEqual(second, first);
        assert.equal((await vaultRead("secret", vaultPath, 1))!.data.password, first, "the previous version stays readable");
        const t0 = Date.now();
        await apply(only(r1.objects, "ExternalSecret", "db-app", ns));
        await apply(only(r1.objects, "ExternalSecret", "db-app", nsPeriodic));
        const synced: Record<string, number> = {};
        await withTimeout(Promise.all([ns, nsPeriodic].map((n) => eventually(async () => {
            if ((await secretData(n, "db-app"))?.password !== second) return undefined;
            synced[n] = (Date.now() - t0) / 1000;
            return true;
        }, 30_000, `ESO re-sync of ${n}/db-app`, 100))), 40_000, "ESO re-syncs");
        process.stderr.write(`[eso] re-sync after the counter bump: OnChange ${synced[ns]} s, Periodic(1h) ${synced[nsPeriodic]} s\n`);

        // --- the reconciler: derived copy, PostgreSQL moved with the previous version of the same path, restart.
        await eventually(async () => ((await secretData(ns, "db-app-copy"))?.password === second ? true : undefined), 30_000, "derived copy rewritten");
        await eventually(async () => ((await canLogin(role, second)) ? true : undefined), 30_000, "PostgreSQL accepts the new password");
        assert.equal(await canLogin(role, first), false, "the old password no longer logs in");
        await eventually(async () => ((await k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/api`)).spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? true : undefined), 30_000, "consumer restarted");
        const hook = auditLines(rec!.lines).find((a) => a.action === "hook" && a.object === `${ns}/db-app` && /applied/.test(a.reason));
        assert.ok(hook, "the hook's audit line says it was applied");
        for (const v of [first, second]) assert.ok(!rec!.text().includes(v), "no password in the reconciler's logs");
    });

    it("the controller's own semantics the stack relies on: CreatedOnce ignores the counter, Retain keeps a Secret whose Vault data went, Owner lets it go with its ExternalSecret", async () => {
        const path2 = `${vaultPath}-semantics`;
        await vaultWrite("secret", path2, { password: "first-value" });
        const spec = (policy: RefreshPolicy) => ({ storeName: store, refreshPolicy: policy, refreshInterval: "1h", targetName: `s-${policy.toLowerCase()}`, data: [{ secretKey: "password", key: path2, property: "password" }] });
        // What the builders render for each policy (the config refuses CreatedOnce for a stable password, stacks/config).
        const once = externalSecretManifest("s-createdonce", ns, {}, { [ANNOTATION_ROTATION]: "0" }, spec("CreatedOnce"));
        const onChange = externalSecretManifest("s-onchange", ns, {}, { [ANNOTATION_ROTATION]: "0" }, spec("OnChange"));
        for (const o of [once, onChange]) {
            await apply(o);
            applied.push(o);
            await waitReady(o);
        }
        await vaultWrite("secret", path2, { password: "second-value" });
        for (const o of [once, onChange]) await apply({ ...o, metadata: { ...o.metadata, annotations: { [ANNOTATION_ROTATION]: "1" } } });
        await eventually(async () => ((await secretData(ns, "s-onchange"))?.password === "second-value" ? true : undefined), 20_000, "OnChange re-synced on the bump");
        await new Promise((r) => setTimeout(r, 3000));
        assert.equal((await secretData(ns, "s-createdonce"))?.password, "first-value", "CreatedOnce never re-syncs on a bump: a rotation could not reach it");

        // deletionPolicy Retain: the Vault data is gone, the Secret stays as it was.
        await vaultDelete("secret", path2);
        await apply({ ...onChange, metadata: { ...onChange.metadata, annotations: { [ANNOTATION_ROTATION]: "2" } } });
        await new Promise((r) => setTimeout(r, 3000));
        assert.equal((await secretData(ns, "s-onchange"))?.password, "second-value", "Retain keeps the last value when the provider has none");

        // creationPolicy Owner: deleting the ExternalSecret lets the garbage collector remove the Secret, Retain or not.
        await remove(onChange);
        await eventually(async () => ((await secretData(ns, "s-onchange")) === undefined ? true : undefined), 60_000, "Secret collected with its ExternalSecret");
    });
});
