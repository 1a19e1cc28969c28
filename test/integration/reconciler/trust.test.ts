import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ANNOTATION_ALLOW_NAMESPACES, ANNOTATION_FAN_OUT, ANNOTATION_FORMAT, ANNOTATION_HOOKS, ANNOTATION_SOURCE_NAME, ANNOTATION_SOURCE_NAMESPACE, LABEL_DERIVED, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../../../derive";
import { derivedSecretProvider } from "../../../providers";
import { isKubeError, KubeClient } from "../../../lib/kube";
import { ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH, ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE } from "../../../reconciler/keys";
import { canaryValue, randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin, auditLines, b64, createNamespace, createSource, deleteNamespaces, eventsText, eventually, getSecret, reconcilerIdentity, Running, startReconciler, tenantClient, unb64, writePolicy } from "./helpers";

/** A loopback TCP listener standing in for a hostile database: it records every connection and byte it gets. */
async function hostileListener(): Promise<{ port: number; connections: () => number; bytes: () => string; close: () => Promise<void> }> {
    let connections = 0;
    const chunks: Buffer[] = [];
    const server = net.createServer((sock) => {
        connections++;
        sock.on("data", (d) => chunks.push(d));
        // AuthenticationCleartextPassword after any startup message: a value sent back would land in `chunks`.
        sock.once("data", () => sock.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])));
        sock.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return {
        port: (server.address() as net.AddressInfo).port,
        connections: () => connections,
        bytes: () => Buffer.concat(chunks).toString("latin1"),
        close: () => new Promise((r) => server.close(() => r())),
    };
}

/**
 * Issue 10: a namespace tenant (a real ServiceAccount that may manage Secrets in its own namespace only) tries every
 * path to make the cluster-wide reconciler act beyond that namespace. The reconciler runs with exactly the RBAC the
 * stack deploys, cluster-wide, with Vault access and a policy ConfigMap in its own namespace.
 */
describe("trust model: a namespace tenant cannot reach beyond its namespace (issue 10)", function () {
    let tenantNs: string;
    let victimNs: string;
    let targetNs: string;
    let ownNs: string;
    let tenant: KubeClient;
    let rec: Running;
    let identity: Awaited<ReturnType<typeof reconcilerIdentity>>;
    let hostile: Awaited<ReturnType<typeof hostileListener>>;
    let tokenDir: string;
    const victimValue = canaryValue();
    const vaultValue = canaryValue();
    const vaultPath = `trust-test/${randomName("v")}`;

    before(async () => {
        tenantNs = await createNamespace({}, "tenant");
        victimNs = await createNamespace({}, "victim");
        targetNs = await createNamespace({ "argocd.argoproj.io/managed": "true" }, "argocd");
        ownNs = await createNamespace({}, "ps-system");
        tenant = await tenantClient(tenantNs);
        await createSource(victimNs, "app-private-key", { password: victimValue });
        const { addr, token } = getEnv().vault;
        const w = await fetch(`${addr}/v1/secret/data/${vaultPath}`, { method: "POST", headers: { "X-Vault-Token": token }, body: JSON.stringify({ data: { password: vaultValue } }) });
        assert.ok(w.ok, "vault write");
        // The administrator's policy: this tenant may fan out nowhere; no hooks for it.
        await writePolicy(ownNs, { fanOut: [], hooks: [] });
        hostile = await hostileListener();
        tokenDir = mkdtempSync(path.join(tmpdir(), "ps-trust-"));
        writeFileSync(path.join(tokenDir, "token"), token, { mode: 0o600 });
        identity = await reconcilerIdentity(ownNs);
        rec = await startReconciler([], { client: identity.client, ownNamespace: ownNs, vault: { addr, auth: { method: "token-file", path: path.join(tokenDir, "token") } } });
    });

    after(async () => {
        await rec?.stop();
        await identity?.cleanup();
        await hostile?.close();
        if (tokenDir) rmSync(tokenDir, { recursive: true, force: true });
        if (rec) for (const v of [victimValue, vaultValue]) assert.ok(!rec.text().includes(v), "a canary value reached the reconciler's log");
        for (const ns of [tenantNs, targetNs]) {
            const ev = await eventsText(ns);
            for (const v of [victimValue, vaultValue]) assert.ok(!ev.includes(v), `a canary value reached an Event in ${ns}`);
        }
        await deleteNamespaces([tenantNs, victimNs, targetNs, ownNs]);
    });

    it("precondition: the tenant itself cannot read the victim's secret or write outside its namespace", async () => {
        await assert.rejects(tenant.request("GET", `/api/v1/namespaces/${victimNs}/secrets/app-private-key`), (e) => isKubeError(e, 403));
        await assert.rejects(tenant.request("POST", `/api/v1/namespaces/${targetNs}/secrets`, { body: { metadata: { name: "x" }, data: {} } }), (e) => isKubeError(e, 403));
        await assert.rejects(tenant.request("POST", `/api/v1/namespaces/${ownNs}/secrets`, { body: { metadata: { name: "hook-state-x" }, data: {} } }), (e) => isKubeError(e, 403), "hook state cannot be forged");
        await assert.rejects(tenant.request("PUT", `/api/v1/namespaces/${ownNs}/configmaps/platform-secrets-policy`, { body: { metadata: { name: "platform-secrets-policy" }, data: {} } }), (e) => isKubeError(e, 403), "policy cannot be forged");
    });

    it("a forged derived secret naming the victim's secret is refused: no data, status refused with the fix, a Warning Event", async () => {
        const forged = {
            metadata: {
                name: "stolen",
                labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LABEL_DERIVED]: "true" },
                annotations: { [ANNOTATION_SOURCE_NAMESPACE]: victimNs, [ANNOTATION_SOURCE_NAME]: "app-private-key", [ANNOTATION_FORMAT]: "mirror", "platform-secrets.io/options": "{}" },
            },
            type: "Opaque",
            data: { password: b64("placeholder") },
        };
        await tenant.request("POST", `/api/v1/namespaces/${tenantNs}/secrets`, { body: forged });
        const s = await eventually(async () => {
            const x = await getSecret(tenantNs, "stolen");
            return x?.metadata.annotations?.[ANNOTATION_STATUS] === "refused" ? x : undefined;
        }, 15_000, "forged derived secret refused");
        assert.equal(unb64(s.data.password), "placeholder", "no data copied");
        assert.match(s.metadata.annotations[ANNOTATION_STATUS_MESSAGE], new RegExp(`${victimNs}/app-private-key.*${tenantNs}.*Fix: annotate source`));
        await eventually(async () => ((await eventsText(tenantNs)).includes("Refused") ? true : undefined), 10_000, "Warning event");
        const metrics = await rec.r.metrics.registry.getSingleMetricAsString("platform_secrets_refusals_total");
        assert.match(metrics, /reason="no-grant"\} [1-9]/);
    });

    it("fan-out into other namespaces (victim, kube-system, an Argo CD namespace) creates nothing there; the refusal is an Event", async () => {
        const spec = [
            { format: "mirror", namespaces: [victimNs, "kube-system"] },
            { format: "argocd", namespaces: [targetNs], options: { secretType: "repository", url: "https://github.com/evil/repo" } },
        ];
        await createSource(tenantNs, "spray", { username: "u", password: "p" }, { type: "kubernetes.io/basic-auth", annotations: { [ANNOTATION_FAN_OUT]: JSON.stringify(spec) }, client: tenant });
        await eventually(async () => ((await eventsText(tenantNs)).includes("FanOutRefused") ? true : undefined), 15_000, "FanOutRefused event");
        for (const ns of [victimNs, "kube-system", targetNs]) assert.equal(await getSecret(ns, "spray"), undefined, `nothing written into ${ns}`);
        const metrics = await rec.r.metrics.registry.getSingleMetricAsString("platform_secrets_refusals_total");
        assert.match(metrics, /reason="fan-out-not-allowed"\} [1-9]/);
    });

    it("a hooks annotation is ignored: no connection to the tenant's host, no Vault read, no Job anywhere", async () => {
        const hooks = [
            { type: "postgres", host: "127.0.0.1", port: hostile.port, user: "x", vault: { path: vaultPath }, tls: { mode: "disable" } },
            { type: "job-rerun", job: "pwn", namespace: "kube-system" },
        ];
        await createSource(tenantNs, "hooked", { password: "p1" }, { annotations: { [ANNOTATION_HOOKS]: JSON.stringify(hooks) }, client: tenant });
        // The old companion-secret location of hook state, forged with a Job template: state now lives only in the
        // reconciler's own namespace, so this is just another tenant secret.
        const forgedTemplate = { apiVersion: "batch/v1", kind: "Job", metadata: { name: "pwn", namespace: "kube-system" }, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "registry.invalid/x" }] } } } };
        await createSource(tenantNs, "hooked.hook-state", { "job-1-template": JSON.stringify(forgedTemplate) }, { annotations: { "platform-secrets.io/hook-1-applied": "x" }, client: tenant });
        await eventually(async () => ((await eventsText(tenantNs)).includes("HooksAnnotationIgnored") ? true : undefined), 15_000, "HooksAnnotationIgnored event");
        await tenant.request("PATCH", `/api/v1/namespaces/${tenantNs}/secrets/hooked`, { body: { data: { password: b64("p2") } }, contentType: "application/merge-patch+json" });
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(hostile.connections(), 0, "the reconciler never connected to the tenant's host");
        assert.ok(!hostile.bytes().includes(vaultValue));
        const jobs = await (await admin()).request("GET", "/apis/batch/v1/namespaces/kube-system/jobs");
        assert.ok(!jobs.items.some((j: { metadata: { name: string } }) => j.metadata.name === "pwn"), "no Job in kube-system");
    });

    it("an administrator-declared postgres hook pointed at a hostile server sends it no password (only SCRAM is answered)", async () => {
        const p1 = canaryValue();
        const p2 = canaryValue();
        await createSource(tenantNs, "db-pw", { password: p1 }, { client: tenant });
        // A misconfigured (or DNS-spoofed) database address in the administrator's own policy.
        await writePolicy(ownNs, { fanOut: [], hooks: [{ source: { namespace: tenantNs, name: "db-pw" }, hooks: [{ type: "postgres", host: "127.0.0.1", port: hostile.port, user: "app", vault: { path: vaultPath }, tls: { mode: "disable" } }] }] });
        await eventually(async () => (hostile.connections() > 0 ? true : undefined), 15_000, "the hook connected");
        await tenant.request("PATCH", `/api/v1/namespaces/${tenantNs}/secrets/db-pw`, { body: { data: { password: b64(p2) } }, contentType: "application/merge-patch+json" });
        await eventually(async () => ((await eventsText(tenantNs)).includes("HookFailed") ? true : undefined), 15_000, "HookFailed event");
        await new Promise((r) => setTimeout(r, 1000));
        const got = hostile.bytes();
        for (const v of [p1, p2, vaultValue]) assert.ok(!got.includes(v), "the hostile server received a password");
        await writePolicy(ownNs, { fanOut: [], hooks: [] });
    });

    it("legitimate flows keep working: same-namespace derivation, and a cross-namespace one the source grants", async () => {
        const v = canaryValue();
        await createSource(tenantNs, "own-src", { password: v }, { client: tenant });
        // The derived secret as `pulumi up` creates it: through the real dynamic provider.
        await derivedSecretProvider.create!({ format: "mirror", source: { namespace: tenantNs, name: "own-src" }, target: { namespace: tenantNs, name: "own-copy" }, kubeconfig: readFileSync(getEnv().kubeconfigPath, "utf8") } as never);
        const v2 = canaryValue();
        await tenant.request("PATCH", `/api/v1/namespaces/${tenantNs}/secrets/own-src`, { body: { data: { password: b64(v2) } }, contentType: "application/merge-patch+json" });
        await eventually(async () => (unb64((await getSecret(tenantNs, "own-copy"))?.data?.password) === v2 ? true : undefined), 15_000, "same-namespace derivation follows the tenant's rotation");
        // The victim's owner grants the tenant namespace: now (and only now) the forged-looking secret receives data.
        const k = await admin();
        await k.request("PATCH", `/api/v1/namespaces/${victimNs}/secrets/app-private-key`, { body: { metadata: { annotations: { [ANNOTATION_ALLOW_NAMESPACES]: tenantNs } } }, contentType: "application/merge-patch+json" });
        const s = await eventually(async () => {
            const x = await getSecret(tenantNs, "stolen");
            return x?.metadata.annotations?.[ANNOTATION_STATUS] === "in-sync" ? x : undefined;
        }, 15_000, "granted derivation in sync");
        assert.equal(unb64(s.data.password), victimValue);
    });

    it("fingerprints that leave a secret are keyed: audit lines and a workload's secrets-hash are not plain sha256", async () => {
        const k = await admin();
        const dep = {
            metadata: { name: "web", annotations: { [ANNOTATION_RESTART_ON]: "auto" } },
            spec: { selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "registry.invalid/x", envFrom: [{ secretRef: { name: "own-src" } }] }] } } },
        };
        await k.request("POST", `/apis/apps/v1/namespaces/${tenantNs}/deployments`, { body: dep });
        const d = await eventually(async () => {
            const x = await k.request("GET", `/apis/apps/v1/namespaces/${tenantNs}/deployments/web`);
            return x.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? x : undefined;
        }, 15_000, "baseline recorded");
        const live = await getSecret(tenantNs, "own-src");
        const sha = (s: string) => createHash("sha256").update(s).digest("hex");
        const plain = [sha(JSON.stringify({ type: live.type, data: live.data })), sha(live.data.password), sha(unb64(live.data.password)!)];
        const recorded = d.metadata.annotations[ANNOTATION_SECRETS_HASH];
        assert.ok(plain.every((p) => !p.startsWith(recorded)), "secrets-hash is keyed");
        for (const a of auditLines(rec.lines)) {
            assert.equal(a.sourceHash, undefined, "no plain source hash in audit lines");
            if (a.fingerprint) assert.ok(plain.every((p) => !p.startsWith(a.fingerprint)));
        }
        const status = JSON.stringify((await getSecret(tenantNs, "own-copy")).metadata.annotations);
        assert.ok(!/[0-9a-f]{12,}/.test(JSON.parse(status)[ANNOTATION_STATUS_MESSAGE]), "no hash in the status message");
    });
});
