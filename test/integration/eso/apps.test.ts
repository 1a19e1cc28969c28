import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin } from "../reconciler/helpers";
import { allowNamespaces, apply, createNamespace, createVaultTokenSecret, Obj, only, remove, renderStack, secretData, vaultDelete, vaultWrite, waitReady } from "./helpers";

/**
 * GitHub App credentials (seed 001) through the real controller: the program's externalSecret-mode ExternalSecrets
 * turn what the operator stored in Vault into `appId`/`privateKey` Secrets in the workflows namespace, one per app,
 * with the PEM intact (newlines and all).
 */
describe("eso: GitHub App credentials through the real controller (stack-rendered ExternalSecrets)", function () {
    this.timeout(180_000);
    const store = randomName("store");
    /** The apps Pulumi.local.yaml declares. */
    const apps = ["rex", "clippy"];
    let own: string;
    let workflows: string;
    const applied: Obj[] = [];
    const written: string[] = [];

    before(async () => {
        own = await createNamespace("eso-own");
        workflows = await createNamespace("eso-wf");
    });

    after(async () => {
        for (const o of applied.reverse()) await remove(o).catch(() => undefined);
        const k = await admin();
        for (const n of [own, workflows]) if (n) await k.request("DELETE", `/api/v1/namespaces/${n}`).catch(() => undefined);
        for (const p of written) await vaultDelete("secret", p).catch(() => undefined);
    });

    it("every app's Secret carries the appId and the PEM exactly as stored in Vault", async () => {
        const { objects } = await renderStack("local", {
            storeName: store,
            vaultAddress: getEnv().vault.addr,
            vaultTokenSecretNamespace: own,
            storeAllowedNamespaces: allowNamespaces("local", [workflows]),
            workflowsNamespace: workflows,
        });
        const storeObj = only(objects, "ClusterSecretStore", store);
        const tokenRef = storeObj.spec.provider.vault.auth.tokenSecretRef as { name: string; namespace: string; key: string };
        await createVaultTokenSecret(tokenRef.namespace, tokenRef.name, tokenRef.key);
        await apply(storeObj);
        applied.push(storeObj);
        const expected = new Map<string, { appId: string; privateKey: string }>();
        const esList = objects.filter((o) => o.kind === "ExternalSecret" && o.metadata.namespace === workflows);
        assert.equal(esList.length, apps.length, `one credentials ExternalSecret per app (${esList.map((o) => o.metadata.name).join(", ")})`);
        for (const [i, es] of esList.entries()) {
            const data = es.spec.data as { secretKey: string; remoteRef: { key: string; property: string } }[];
            const path = data[0]!.remoteRef.key;
            const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
            const value = { appId: String(100000 + i), privateKey: pem };
            // The operator stores each App's credentials under the path the stack reads (an externally written path).
            await vaultWrite("secret", path, value);
            written.push(path);
            expected.set(es.spec.target.name as string, value);
            await apply(es);
            applied.push(es);
        }
        await waitReady(storeObj);
        for (const es of esList) await waitReady(es);
        for (const [name, value] of expected) {
            const got = await secretData(workflows, name);
            assert.equal(got?.appId, value.appId, `${workflows}/${name} appId`);
            assert.equal(got?.privateKey, value.privateKey, `${workflows}/${name} privateKey byte for byte`);
        }
    });
});
