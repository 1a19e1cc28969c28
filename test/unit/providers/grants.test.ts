import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { KubeError, ensureGrants, grantStatus, releaseGrants } from "../../../providers";
import { FakeApi } from "./fake-api";
import type { SecretLike } from "../../../derive";
import { canaryValue } from "../../support";

const ALLOW = "platform-secrets.io/allow-namespaces";
const SELECTOR = "platform-secrets.io/allow-namespace-selector";
const BY_PROVIDER = "platform-secrets.io/provider-granted-namespaces";

const SRC = { namespace: "platform", name: "git" };

/** What ESO writes: a basic-auth source, optionally with the grants its ExternalSecret template carries. */
function api(annotations: Record<string, string> = {}, password = "pw"): FakeApi {
    const a = new FakeApi();
    a.put({ metadata: { ...SRC, labels: { "app.kubernetes.io/part-of": "platform-secrets" }, annotations }, type: "kubernetes.io/basic-auth", data: { username: "Ym90", password: Buffer.from(password).toString("base64") } });
    return a;
}

function derivedIn(a: FakeApi, namespace: string, name: string): void {
    a.put({ metadata: { namespace, name, labels: { "platform-secrets.io/derived": "true", "app.kubernetes.io/managed-by": "platform-secrets" }, annotations: { "platform-secrets.io/source-namespace": SRC.namespace, "platform-secrets.io/source-name": SRC.name } }, type: "Opaque", data: {} });
}

describe("providers: source grants (ensureGrants / releaseGrants)", () => {
    it("adds a missing grant by name with one guarded write, keeping the source's other annotations and data", async () => {
        const a = api({ "kept.example/x": "1" });
        const before = (await a.get(SRC.namespace, SRC.name))!;
        assert.deepEqual(await ensureGrants(a, SRC, ["tekton", "argocd", "tekton"]), { added: ["argocd", "tekton"], managed: ["argocd", "tekton"] });
        const after = (await a.get(SRC.namespace, SRC.name))!;
        assert.equal(a.writes, 1);
        assert.equal(after.metadata.annotations?.[ALLOW], "argocd,tekton");
        assert.equal(after.metadata.annotations?.[BY_PROVIDER], "argocd,tekton", "recorded as provider-added");
        assert.equal(after.metadata.annotations?.["kept.example/x"], "1");
        assert.deepEqual(after.data, before.data);
    });

    it("writes nothing when the source already grants (by name or selector) or the target is in its own namespace", async () => {
        const a = api({ [ALLOW]: "argocd,tekton", [SELECTOR]: "team=ci" });
        a.nsLabels.set("ci-1", { team: "ci" });
        assert.deepEqual(await ensureGrants(a, SRC, ["tekton", "ci-1", "platform"]), { added: [], managed: [] });
        assert.equal(a.writes, 0);
        a.nsLabels.set("other", { team: "web" });
        assert.deepEqual(await ensureGrants(a, SRC, ["other"]), { added: ["other"], managed: ["other"] }, "a selector that does not match grants nothing");
        assert.equal(a.annotation(SRC.namespace, SRC.name), "argocd,other,tekton");
        assert.equal(a.annotation(SRC.namespace, SRC.name, BY_PROVIDER), "other");
        // A second resource relying on the provider-added grant: nothing written, but the grant is provider-managed.
        assert.deepEqual(await ensureGrants(a, SRC, ["other", "tekton"]), { added: [], managed: ["other"] });
        const status = await grantStatus(a, (await a.get(SRC.namespace, SRC.name))!, ["ci-1", "nope", "platform"]);
        assert.deepEqual([...status], [["ci-1", true], ["nope", false], ["platform", true]]);
    });

    it("re-reads on 409 and keeps a concurrent writer's change; gives up after a few conflicts", async () => {
        const a = api();
        a.concurrent = [(s) => (s.metadata.annotations = { ...s.metadata.annotations, [ALLOW]: "kargo" }), (s) => (s.metadata.labels = { ...s.metadata.labels, touched: "yes" })];
        assert.deepEqual((await ensureGrants(a, SRC, ["tekton"])).added, ["tekton"]);
        assert.equal(a.annotation(SRC.namespace, SRC.name), "kargo,tekton");
        assert.equal((await a.get(SRC.namespace, SRC.name))!.metadata.labels?.touched, "yes");
        const b = api();
        b.concurrent = Array.from({ length: 10 }, () => (s: SecretLike) => (s.metadata.labels = { ...s.metadata.labels, n: String(Math.random()).slice(2, 8) }));
        await assert.rejects(ensureGrants(b, SRC, ["tekton"]), (e: KubeError) => e.status === 409);
        assert.equal(b.annotation(SRC.namespace, SRC.name), undefined);
    });

    it("a forbidden write fails naming the source, the annotation and the fix, never a value", async () => {
        const canary = canaryValue();
        const a = api({}, canary);
        a.forbid = true;
        await assert.rejects(ensureGrants(a, SRC, ["tekton"]), (e: KubeError) => {
            assert.equal(e.status, 403);
            assert.match(e.message, /source secret platform\/git does not grant namespace\(s\) tekton \(annotation platform-secrets.io\/allow-namespaces\) and this identity may not add the grant \(HTTP 403\)\. Fix: annotate source platform\/git with platform-secrets.io\/allow-namespaces: "tekton"/);
            assert.match(e.message, /ExternalSecret's target.template.metadata.annotations/);
            assert.ok(!e.message.includes(canary) && !e.message.includes(Buffer.from(canary).toString("base64")));
            return true;
        });
        const gone = new FakeApi();
        await assert.rejects(ensureGrants(gone, SRC, ["tekton"]), /source secret platform\/git not found while granting namespace\(s\) tekton\. Fix: create the source secret first/);
    });

    it("release withdraws only provider-added grants of the given namespaces, drops emptied annotations, tolerates a gone source", async () => {
        const a = api({ [ALLOW]: "argocd,kargo,tekton", [BY_PROVIDER]: "argocd,tekton" });
        assert.deepEqual(await releaseGrants(a, SRC, [{ namespace: "kargo", name: "git" }]), [], "kargo was granted by someone else: kept");
        assert.deepEqual(await releaseGrants(a, SRC, [{ namespace: "tekton", name: "git" }]), ["tekton"]);
        assert.equal(a.annotation(SRC.namespace, SRC.name), "argocd,kargo");
        assert.equal(a.annotation(SRC.namespace, SRC.name, BY_PROVIDER), "argocd");
        assert.deepEqual(await releaseGrants(a, SRC, [{ namespace: "tekton", name: "git" }]), [], "already gone: no write");
        assert.deepEqual(await releaseGrants(a, SRC, [{ namespace: "argocd", name: "repo" }]), ["argocd"]);
        assert.equal(a.annotation(SRC.namespace, SRC.name), "kargo");
        assert.ok(!(BY_PROVIDER in ((await a.get(SRC.namespace, SRC.name))!.metadata.annotations ?? {})), "an empty list removes its annotation");
        const b = api({ [ALLOW]: "ci", [BY_PROVIDER]: "ci" });
        await releaseGrants(b, SRC, [{ namespace: "ci", name: "x" }]);
        assert.deepEqual((await b.get(SRC.namespace, SRC.name))!.metadata.annotations, {}, "both annotations gone");
        await a.remove(SRC.namespace, SRC.name);
        assert.deepEqual(await releaseGrants(a, SRC, [{ namespace: "argocd", name: "repo" }]), []);
    });

    it("release keeps a grant another derived secret in that namespace still relies on", async () => {
        const a = api({ [ALLOW]: "ci", [BY_PROVIDER]: "ci" });
        derivedIn(a, "ci", "git-tekton");
        derivedIn(a, "ci", "git-docker");
        assert.deepEqual(await releaseGrants(a, SRC, [{ namespace: "ci", name: "git-tekton" }]), []);
        assert.equal(a.annotation(SRC.namespace, SRC.name), "ci");
        await a.remove("ci", "git-docker");
        assert.deepEqual(await releaseGrants(a, SRC, [{ namespace: "ci", name: "git-tekton" }]), ["ci"], "only itself left: withdrawn");
    });

    it("ensure then release restores the source's grant list exactly (property)", async () => {
        const ns = fc.constantFrom("a", "b", "c", "d", "platform");
        await fc.assert(fc.asyncProperty(fc.uniqueArray(ns, { maxLength: 4 }), fc.uniqueArray(ns, { minLength: 1, maxLength: 3 }), async (initial, targets) => {
            const start = initial.filter((n) => n !== "platform").sort().join(",");
            const a = api(start ? { [ALLOW]: start } : {});
            const { added, managed } = await ensureGrants(a, SRC, targets);
            assert.deepEqual(added, targets.filter((t) => t !== "platform" && !initial.includes(t)).sort());
            assert.deepEqual(managed, added, "grants that existed before are not the provider's");
            // Release everything asked for: only what the provider added goes.
            await releaseGrants(a, SRC, targets.map((n) => ({ namespace: n, name: "x" })));
            assert.equal(a.annotation(SRC.namespace, SRC.name), start || undefined);
            assert.equal(a.annotation(SRC.namespace, SRC.name, BY_PROVIDER), undefined);
        }));
    });
});
