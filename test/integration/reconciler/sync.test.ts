import assert from "node:assert/strict";
import { ANNOTATION_SOURCE_HASH, isManaged } from "../../../derive";
import { ANNOTATION_RETAIN, ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE, ANNOTATION_SYNC_HANDLED, ANNOTATION_SYNC_REQUESTED } from "../../../reconciler/keys";
import { canaryValue } from "../../support";
import { admin, auditLines, bootstrapDerived, createNamespace, createSource, deleteNamespaces, eventually, getSecret, mutateSecret, Running, startReconciler, unb64, b64 } from "./helpers";

describe("reconciler: derived secrets follow their sources (seed 000)", function () {
    let ns: string;
    let rec: Running;
    const canaries: string[] = [];

    before(async () => {
        ns = await createNamespace();
    });
    after(async () => {
        await rec?.stop();
        if (rec) for (const c of canaries) assert.ok(!rec.text().includes(c), "a canary value appeared in a log line");
        // Nor in any Event or in the metadata (status annotations) of any secret.
        const k = await admin();
        const events = JSON.stringify((await k.request("GET", `/api/v1/namespaces/${ns}/events`)).items);
        const metas = JSON.stringify((await k.request("GET", `/api/v1/namespaces/${ns}/secrets`)).items.map((x: any) => x.metadata));
        assert.ok(events.includes("platform-secrets"), "the reconciler recorded events");
        for (const c of canaries) assert.ok(!events.includes(c) && !metas.includes(c), "a canary value appeared in an event or status annotation");
        await deleteNamespaces([ns]);
    });

    it("rotating github-credentials rewrites github-credentials-tekton; a hand edit is restored with an audit line", async () => {
        const first = canaryValue();
        canaries.push(first);
        await createSource(ns, "github-credentials", { username: "myuser", password: first }, { type: "kubernetes.io/basic-auth" });
        await bootstrapDerived({ format: "tekton-git", source: { namespace: ns, name: "github-credentials" }, target: { namespace: ns, name: "github-credentials-tekton" }, options: { gitUrls: ["https://github.com"] } });
        rec = await startReconciler([ns]);

        await eventually(async () => ((await getSecret(ns, "github-credentials-tekton"))?.metadata.annotations?.[ANNOTATION_STATUS] === "in-sync" ? true : undefined), 10_000, "status in-sync after start");

        const rotated = canaryValue();
        canaries.push(rotated);
        await mutateSecret(ns, "github-credentials", (s) => (s.data.password = b64(rotated)));
        const d = await eventually(async () => {
            const t = await getSecret(ns, "github-credentials-tekton");
            return unb64(t?.data?.password) === rotated ? t : undefined;
        }, 10_000, "derived follows the rotation");
        assert.equal(d.metadata.annotations["tekton.dev/git-0"], "https://github.com");
        assert.equal(d.metadata.annotations[ANNOTATION_STATUS], "in-sync");

        await mutateSecret(ns, "github-credentials-tekton", (s) => (s.data.password = b64("typed-by-hand")));
        await eventually(async () => (unb64((await getSecret(ns, "github-credentials-tekton"))?.data?.password) === rotated ? true : undefined), 10_000, "hand edit restored");
        // The audit line follows the apiserver's answer to the write, which can reach this test's GET first.
        await eventually(async () => auditLines(rec.lines).some((a) => a.action === "write" && a.object === `${ns}/github-credentials-tekton` && /edited by hand/.test(a.reason)) || undefined, 10_000, "audit line of the restore");
        const audits = auditLines(rec.lines);
        assert.ok(audits.some((a) => a.action === "write" && a.object === `${ns}/github-credentials-tekton` && /source changed/.test(a.reason) && a.fingerprint && !a.sourceHash), "audit line of the rotation's write");
    });

    it("an invalid source leaves the derived value as is and says why; a trigger annotation forces a resync", async () => {
        const before = await getSecret(ns, "github-credentials-tekton");
        await mutateSecret(ns, "github-credentials", (s) => delete s.data.password);
        const d = await eventually(async () => {
            const t = await getSecret(ns, "github-credentials-tekton");
            return t?.metadata.annotations?.[ANNOTATION_STATUS] === "error" ? t : undefined;
        }, 10_000, "status error");
        assert.equal(d.data.password, before.data.password, "cached value keeps working (seed 003)");
        assert.match(d.metadata.annotations[ANNOTATION_STATUS_MESSAGE], /password/);

        const v = canaryValue();
        canaries.push(v);
        await mutateSecret(ns, "github-credentials", (s) => (s.data.password = b64(v)));
        await eventually(async () => ((await getSecret(ns, "github-credentials-tekton"))?.metadata.annotations?.[ANNOTATION_STATUS] === "in-sync" ? true : undefined), 10_000, "back in sync");

        const stamp = new Date().toISOString();
        await mutateSecret(ns, "github-credentials-tekton", (s) => (s.metadata.annotations[ANNOTATION_SYNC_REQUESTED] = stamp));
        await eventually(async () => ((await getSecret(ns, "github-credentials-tekton"))?.metadata.annotations?.[ANNOTATION_SYNC_HANDLED] === stamp ? true : undefined), 10_000, "sync request handled");
        assert.ok(auditLines(rec.lines).some((a) => a.reason === "sync requested"));
    });

    it("an unmanaged secret that looks derived is never written or deleted", async () => {
        const c = await admin();
        const body = {
            metadata: { name: "not-ours", namespace: ns, labels: { "platform-secrets.io/derived": "true" }, annotations: { "platform-secrets.io/source-namespace": ns, "platform-secrets.io/source-name": "github-credentials", "platform-secrets.io/format": "mirror" } },
            type: "Opaque",
            data: { password: b64("foreign") },
        };
        const created = await c.request("POST", `/api/v1/namespaces/${ns}/secrets`, { body });
        await mutateSecret(ns, "github-credentials", (s) => (s.data.password = b64(canaryValue())));
        await new Promise((r) => setTimeout(r, 1500));
        const after = await getSecret(ns, "not-ours");
        assert.equal(after.metadata.resourceVersion, created.metadata.resourceVersion);
        assert.equal(isManaged(after), false);
    });

    it("source deleted → derived deleted; with the retain annotation → kept with source-missing", async () => {
        const v = canaryValue();
        canaries.push(v);
        await createSource(ns, "keep-src", { username: "u", password: v }, { type: "kubernetes.io/basic-auth" });
        await bootstrapDerived({ format: "mirror", source: { namespace: ns, name: "keep-src" }, target: { namespace: ns, name: "keep-copy" } });
        await mutateSecret(ns, "keep-copy", (s) => (s.metadata.annotations[ANNOTATION_RETAIN] = "true"));
        await eventually(async () => ((await getSecret(ns, "keep-copy"))?.metadata.annotations?.[ANNOTATION_STATUS] === "in-sync" ? true : undefined), 10_000, "keep-copy in sync");

        const c = await admin();
        await c.request("DELETE", `/api/v1/namespaces/${ns}/secrets/keep-src`);
        await c.request("DELETE", `/api/v1/namespaces/${ns}/secrets/github-credentials`);
        await eventually(async () => ((await getSecret(ns, "github-credentials-tekton")) === undefined ? true : undefined), 10_000, "derived deleted with its source");
        const kept = await eventually(async () => {
            const k = await getSecret(ns, "keep-copy");
            return k?.metadata.annotations?.[ANNOTATION_STATUS] === "source-missing" ? k : undefined;
        }, 10_000, "retained copy reports source-missing");
        assert.equal(unb64(kept.data.password), v);
        assert.ok(kept.metadata.annotations[ANNOTATION_SOURCE_HASH]);
        assert.ok(auditLines(rec.lines).some((a) => a.action === "delete" && a.object === `${ns}/github-credentials-tekton`));
    });
});
