import assert from "node:assert/strict";
import { EsoReady, fetchSource, missingEsoSourceMessage, SecretsApi, SourceOrigin } from "../../../providers";

/** Only what fetchSource touches; every other call is a test failure. */
function api(get: () => Promise<any>, ready: EsoReady | undefined): SecretsApi {
    const no = () => Promise.reject(new Error("unexpected call"));
    return { get, create: no, replace: no, remove: no, listNamespaces: no, namespaceLabels: no, listDerived: no, ...(ready ? { externalSecretReady: () => Promise.resolve(ready) } : {}) };
}

const source = { namespace: "platform-secrets", name: "platform-repo" };
const origin: SourceOrigin = { externalSecret: source, store: "vault-kv", vaultPath: "secret/git/platform-repo", waitSeconds: 0 };

describe("providers: a source ESO writes in the same run", () => {
    it("is waited for (polled until it appears)", async () => {
        let calls = 0;
        const s = await fetchSource(api(async () => (++calls < 3 ? undefined : { metadata: source, data: {} }), undefined), source, "t/x", { ...origin, waitSeconds: 60 }, async () => undefined);
        assert.equal(calls, 3);
        assert.deepEqual(s.metadata, source);
    });

    it("never comes: the error names the ExternalSecret, the store, the Vault path and ESO's own condition", async () => {
        const ready: EsoReady = { status: "False", reason: "SecretSyncedError", message: "could not get secret data from provider" };
        await assert.rejects(fetchSource(api(async () => undefined, ready), source, "tekton-pipelines/platform-repo-git", origin, async () => undefined), (e: Error) => {
            for (const part of ["platform-secrets/platform-repo", "tekton-pipelines/platform-repo-git", "secret/git/platform-repo", "ClusterSecretStore vault-kv", "Ready=False (SecretSyncedError): could not get secret data from provider", "kubectl get clustersecretstore vault-kv"]) {
                assert.ok(e.message.includes(part), `${part} in: ${e.message}`);
            }
            return true;
        });
    });

    it("without an ESO condition the message asks whether the controller runs", () => {
        assert.match(missingEsoSourceMessage(source, "t/x", origin, "no-condition"), /is the External Secrets Operator controller running\?/);
        assert.match(missingEsoSourceMessage(source, "t/x", origin, "missing"), /ExternalSecret platform-secrets\/platform-repo does not exist/);
    });

    it("without an origin a missing source fails at once, as before", async () => {
        let calls = 0;
        await assert.rejects(fetchSource(api(async () => (calls++, undefined), undefined), source, "t/x"), /not found\. Fix: create the source secret first/);
        assert.equal(calls, 1);
    });
});
