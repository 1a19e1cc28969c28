import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { derivedSecretProvider } from "../../../providers";
import { ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH, ANNOTATION_STATUS } from "../../../reconciler/keys";
import { canaryValue, randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin, auditLines, b64, createNamespace, createSource, deleteNamespaces, eventually, getSecret, mutateSecret, Running, startReconciler, unb64 } from "./helpers";

/** `kubectl create secret generic <name> --type=kubernetes.io/basic-auth --from-literal=…`: no label of ours. */
async function kubectlCreateBasicAuth(ns: string, name: string, username: string, password: string): Promise<void> {
    await createSource(ns, name, { username, password }, { type: "kubernetes.io/basic-auth" });
}

function deployment(name: string, podSpec: Record<string, unknown>) {
    return {
        metadata: { name, annotations: { [ANNOTATION_RESTART_ON]: "auto" } },
        spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "registry.invalid/x" }], ...podSpec } } },
    };
}

/**
 * Issue 11: the reconciler follows secrets as users and ESO create them (no label of ours on a source), rolls
 * plain consumers like Stakater Reloader, writes once per change, keeps what others own on a derived secret.
 */
describe("reconciler follows unlabelled sources and plain consumers (issue 11)", function () {
    let ns: string;
    let rec: Running;
    /** Log text of a suite reconciler stopped on the way (checked for canaries with the last one's). */
    let earlierLog = "";
    const canaries: string[] = [];

    before(async () => {
        ns = await createNamespace({}, "follow");
        rec = await startReconciler([ns], { debounceMs: 200, deleteGraceMs: 1500 });
    });
    after(async () => {
        await rec?.stop();
        if (rec) for (const c of canaries) assert.ok(!(earlierLog + rec.text()).includes(c), "canary in the reconciler log");
        await deleteNamespaces([ns]);
    });

    it("seed 000: a kubectl-created source and the derived secret the real dynamic provider creates; rotation, .gitconfig, one write per change", async () => {
        const p1 = canaryValue();
        canaries.push(p1);
        await kubectlCreateBasicAuth(ns, "github-credentials", "myuser", p1);
        const inputs = {
            format: "tekton-git" as const,
            source: { namespace: ns, name: "github-credentials" },
            target: { namespace: ns, name: "github-credentials-tekton" },
            options: { gitUrls: ["https://github.com/org/repo"] },
            kubeconfig: readFileSync(getEnv().kubeconfigPath, "utf8"),
        };
        await derivedSecretProvider.create!(inputs as never);
        const src = await getSecret(ns, "github-credentials");
        assert.equal(Object.keys(src.metadata.labels ?? {}).filter((k) => k.startsWith("platform-secrets.io/")).length, 0, "the source carries no label of ours");

        await eventually(async () => ((await getSecret(ns, "github-credentials-tekton"))?.metadata.annotations?.[ANNOTATION_STATUS] === "in-sync" ? true : undefined), 10_000, "first status written");
        const p2 = canaryValue();
        canaries.push(p2);
        const writesBefore = auditLines(rec.lines).filter((a) => a.object === `${ns}/github-credentials-tekton`).length;
        await mutateSecret(ns, "github-credentials", (s) => (s.data.password = b64(p2)));
        await eventually(async () => (unb64((await getSecret(ns, "github-credentials-tekton"))?.data?.password) === p2 ? true : undefined), 10_000, "derived follows the rotation");
        await new Promise((r) => setTimeout(r, 800));
        const lines = auditLines(rec.lines).filter((a) => a.object === `${ns}/github-credentials-tekton`).slice(writesBefore);
        assert.deepEqual(lines.map((a) => a.action), ["write"], "exactly one write per rotation (status carried in the same write)");

        await mutateSecret(ns, "github-credentials", (s) => (s.data[".gitconfig"] = b64("[credential]\n\thelper = store\n")));
        await eventually(async () => (unb64((await getSecret(ns, "github-credentials-tekton"))?.data?.[".gitconfig"])?.includes("helper") ? true : undefined), 10_000, "derived follows .gitconfig");
    });

    it("deletion: re-created within the grace period keeps the derived secret; deleted for good removes it", async () => {
        const k = await admin();
        const src = await getSecret(ns, "github-credentials");
        await k.request("DELETE", `/api/v1/namespaces/${ns}/secrets/github-credentials`);
        await new Promise((r) => setTimeout(r, 300));
        await k.request("POST", `/api/v1/namespaces/${ns}/secrets`, { body: { metadata: { name: "github-credentials" }, type: src.type, data: src.data } });
        await new Promise((r) => setTimeout(r, 2500));
        assert.ok(await getSecret(ns, "github-credentials-tekton"), "kept across a quick re-creation");
        await k.request("DELETE", `/api/v1/namespaces/${ns}/secrets/github-credentials`);
        await eventually(async () => ((await getSecret(ns, "github-credentials-tekton")) === undefined ? true : undefined), 10_000, "removed after the grace period");
    });

    it("Reloader flow (seed 004 phase 1): a plain ESO-synced secret rolls restart-on consumers on data change only", async () => {
        const k = await admin();
        await createSource(ns, "powerdns-api-key", { apiKey: "k1" }, { labels: { "reconcile.external-secrets.io/managed": "true" } });
        await createSource(ns, "registry-pull", { ".dockerconfigjson": '{"auths":{}}' }, { type: "kubernetes.io/dockerconfigjson" });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
            body: deployment("external-dns", {
                imagePullSecrets: [{ name: "registry-pull" }],
                volumes: [{ name: "p", projected: { sources: [{ secret: { name: "powerdns-api-key" } }] } }],
            }),
        });
        const get = () => k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/external-dns`);
        const base = await eventually(async () => ((await get()).metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? get() : undefined), 10_000, "baseline");
        assert.equal(base.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined, "opting in does not roll");

        await mutateSecret(ns, "powerdns-api-key", (s) => (s.metadata.annotations = { ...(s.metadata.annotations ?? {}), note: "metadata only" }));
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal((await get()).metadata.generation, base.metadata.generation, "metadata-only change never rolls");

        await mutateSecret(ns, "powerdns-api-key", (s) => (s.data.apiKey = b64("k2")));
        const rolled = await eventually(async () => {
            const d = await get();
            return d.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? d : undefined;
        }, 10_000, "rolled on data change");

        await k.request("DELETE", `/api/v1/namespaces/${ns}/secrets/registry-pull`);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal((await get()).metadata.generation, rolled.metadata.generation, "a deleted secret never rolls");
    });

    it("rewrites keep ownerReferences, finalizers and foreign metadata; an immutable derived secret is replaced", async () => {
        const k = await admin();
        const owner = await k.request("POST", `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: randomName("owner") } } });
        const ownerRef = { apiVersion: "v1", kind: "ConfigMap", name: owner.metadata.name, uid: owner.metadata.uid };
        const kubeconfig = readFileSync(getEnv().kubeconfigPath, "utf8");
        await createSource(ns, "mirror-src", { password: "a" });
        for (const name of ["kept-dst", "frozen-dst"]) await derivedSecretProvider.create!({ format: "mirror", source: { namespace: ns, name: "mirror-src" }, target: { namespace: ns, name }, kubeconfig } as never);
        // What other controllers and people put on a derived secret.
        await mutateSecret(ns, "kept-dst", (s) => {
            s.metadata.ownerReferences = [ownerRef];
            s.metadata.finalizers = ["example.com/keep"];
            s.metadata.labels = { ...s.metadata.labels, team: "a" };
            s.metadata.annotations = { ...s.metadata.annotations, "example.com/note": "x" };
        });
        await mutateSecret(ns, "frozen-dst", (s) => {
            s.metadata.ownerReferences = [ownerRef];
            s.metadata.labels = { ...s.metadata.labels, team: "b" };
            s.immutable = true;
        });
        try {
            await mutateSecret(ns, "mirror-src", (s) => (s.data.password = b64("b")));
            for (const name of ["kept-dst", "frozen-dst"]) {
                const d = await eventually(async () => {
                    const x = await getSecret(ns, name);
                    return unb64(x?.data?.password) === "b" && x.metadata.deletionTimestamp === undefined ? x : undefined;
                }, 15_000, `${name} follows the source`);
                assert.deepEqual(d.metadata.ownerReferences.map((o: { uid: string }) => o.uid), [owner.metadata.uid], `${name} keeps ownerReferences`);
                assert.equal(d.metadata.annotations[ANNOTATION_STATUS], "in-sync");
                if (name === "kept-dst") {
                    assert.deepEqual(d.metadata.finalizers, ["example.com/keep"]);
                    assert.equal(d.metadata.labels.team, "a");
                    assert.equal(d.metadata.annotations["example.com/note"], "x");
                } else {
                    assert.equal(d.immutable, true, "replaced, still immutable");
                    assert.equal(d.metadata.labels.team, "b");
                }
            }
        } finally {
            await k.request("PATCH", `/api/v1/namespaces/${ns}/secrets/kept-dst`, { body: { metadata: { finalizers: null } }, contentType: "application/merge-patch+json" }).catch(() => undefined);
        }
    });

    it("a restart over an in-sync namespace makes no write (the synced fingerprint in the cache answers)", async () => {
        // One reconciler at a time, as in production (a Lease): the suite's reconciler, with another key, would take
        // the fingerprint back once (each process takes another key's over at most once an hour per secret).
        await rec.stop();
        earlierLog += rec.text();
        const fp = (await import("../../../reconciler/fingerprint")).Fingerprinter.ephemeral();
        const a = await startReconciler([ns], { fingerprint: fp });
        await eventually(async () => ((await getSecret(ns, "kept-dst"))?.metadata.annotations?.["platform-secrets.io/synced-fingerprint"]?.startsWith(`${fp.keyId}.`) ? true : undefined), 10_000, "fingerprint of this key recorded");
        await a.stop();
        const before = (await getSecret(ns, "kept-dst")).metadata.resourceVersion;
        const b = await startReconciler([ns], { fingerprint: fp });
        try {
            await new Promise((r) => setTimeout(r, 1500));
            assert.equal((await getSecret(ns, "kept-dst")).metadata.resourceVersion, before, "not written again");
            assert.equal(auditLines(b.lines).filter((l) => l.object === `${ns}/kept-dst`).length, 0);
        } finally {
            await b.stop();
            rec = await startReconciler([ns], { debounceMs: 200, deleteGraceMs: 1500 });
        }
    });

    it("/healthz reports real health and /metrics exports keys in retry", async () => {
        const r = await startReconciler([ns], { metricsPort: 0, metricsHost: "127.0.0.1" });
        try {
            const get = (p: string) => new Promise<{ code: number; body: string }>((resolve, reject) => http.get({ host: "127.0.0.1", port: r.r.port, path: p }, (res) => {
                let body = "";
                res.on("data", (c) => (body += c));
                res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
            }).on("error", reject));
            assert.deepEqual(await get("/healthz"), { code: 200, body: "ok" });
            assert.match((await get("/metrics")).body, /platform_secrets_keys_in_retry 0/);
            assert.match((await get("/metrics")).body, /platform_secrets_derived_secrets\{status="in-sync"\} [1-9]/);
        } finally {
            await r.stop();
        }
    });
});
