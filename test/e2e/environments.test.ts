import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { Client } from "pg";
import * as YAML from "yaml";
import { startTestEnv, TestEnv } from "../env";
import { request } from "../env/http";
import { ROOT } from "../env/engine";
import { LOCAL_PASSPHRASE, LocalStack, openLocalStack } from "../env/local-stack";
import { ensureNamespaces, writeVault } from "../env/local-seed";
import { bootstrapHookRoles, readStackPolicy, startStackReconciler, StackReconciler } from "../env/sandbox-reconciler";
import { eventually } from "../support";
import { derivedSecretProvider } from "../../providers/derived-provider";
import { HarnessRunner, runDeployment } from "./drift-harness";
import { setUpDriftRun } from "./drift-setup";
import { getE2E, timings } from "./fixture";

/**
 * Issue 20, "done when": stacks side by side through the real engine. dev and staging share one cluster and one
 * Vault (their own path prefixes, instances, namespaces and reconcilers); a rotation in dev writes no version in
 * staging's paths, runs no ALTER ROLE of staging and restarts nothing of staging. A third stack aimed at a second
 * apiserver through one kubeconfig (kubeContext) creates nothing in the first. Refusals: a path another stack owns,
 * an empty stack, plain-http Vault.
 */
type Obj = Record<string, unknown>;

function stackConfig(env: string, extra: Obj, vaultAddr: string, pg: { host: string; port: number }): Obj {
    return {
        environment: env,
        vaultAddress: vaultAddr,
        vaultAuthMethod: "token",
        vaultTokenSecretName: "vault-token",
        vaultTokenSecretNamespace: "external-secrets",
        vaultTokenSecretKey: "token",
        passwords: [
            {
                name: "app-db-password",
                length: 32,
                vaultPath: "app/db",
                rotation: 0,
                consumers: [{ namespace: `app-${env}`, secretName: "app-db", secretKey: "password", refreshPolicy: "OnChange", hooks: [{ type: "postgres", host: pg.host, port: pg.port, user: `app_${env}`, database: "postgres", tls: { mode: "require" } }] }],
            },
        ],
        reconcilerEnabled: true,
        reconcilerImage: "platform-secrets/reconciler:local",
        reconcilerReplicas: 1,
        reconcilerSkipAwait: true,
        reconcilerNamespace: `ps-${env}`,
        reconcilerDebounceMs: 300,
        reconcilerVaultAuthMethod: "token-file",
        reconcilerVaultTokenSecretName: "reconciler-vault-token",
        secretNamespaces: [`app-${env}`],
        ...extra,
    };
}

/** A project dir with Pulumi.yaml and Pulumi.<stack>.yaml written from `config` (short keys). */
async function project(dir: string, stack: string, config: Obj): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    await fs.copyFile(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const l of ["node_modules", "index.ts"]) await fs.symlink(path.join(ROOT, l), path.join(dir, l)).catch(() => undefined);
    const doc = { config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`platform-secrets:${k}`, v])) };
    await fs.writeFile(path.join(dir, `Pulumi.${stack}.yaml`), YAML.stringify(doc));
    return dir;
}

/** One kubeconfig, two contexts (cluster-1 current), as a platform team's laptop has it. */
async function mergedKubeconfig(file: string, a: TestEnv, b: TestEnv): Promise<void> {
    const docs = await Promise.all([a, b].map(async (e) => YAML.parse(await fs.readFile(e.kubeconfigPath, "utf8")) as any));
    const out: any = { apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [], "current-context": "cluster-1", preferences: {} };
    docs.forEach((d, i) => {
        const n = `cluster-${i + 1}`;
        out.clusters.push({ name: n, cluster: d.clusters[0].cluster });
        out.users.push({ name: n, user: d.users[0].user });
        out.contexts.push({ name: n, context: { cluster: n, user: n } });
    });
    await fs.writeFile(file, YAML.stringify(out), { mode: 0o600 });
}

async function failingPreview(s: LocalStack): Promise<string> {
    const lines: string[] = [];
    const err = await s.preview({ onOutput: (l) => lines.push(l) }).then(() => undefined, (e: Error) => e);
    assert.ok(err, "preview passed");
    return lines.join("") + String(err);
}

describe("e2e: environments and clusters side by side (issue 20)", function () {
    let env2: TestEnv | undefined;
    let dir: string;
    const stacks: LocalStack[] = [];
    const recs: StackReconciler[] = [];
    let kc1: KubeConfig;
    let kc2: KubeConfig;
    let dev: LocalStack;
    let staging: LocalStack;
    let kubeconfig: string;
    let cfgs: Record<string, Obj>;

    async function open(name: string, config: Obj): Promise<LocalStack> {
        const { env, engine } = getE2E();
        const s = await openLocalStack({ engine, kubeconfigPath: kubeconfig, vault: env.vault, stateDir: path.join(dir, "state"), workDir: await project(path.join(dir, name), name, config), stackName: name });
        stacks.push(s);
        return s;
    }

    const vaultMeta = async (p: string) => {
        const { env } = getE2E();
        const r = await request(`${env.vault.addr}/v1/secret/metadata/${p}`, { headers: { "x-vault-token": env.vault.token } });
        return r.status === 200 ? (JSON.parse(r.body).data as { current_version: number; custom_metadata: Record<string, string> }) : undefined;
    };
    const rolPassword = async (role: string) => {
        const c = new Client({ connectionString: getE2E().env.postgres.url });
        await c.connect();
        try {
            return (await c.query("SELECT rolpassword FROM pg_authid WHERE rolname = $1", [role])).rows[0]?.rolpassword as string | undefined;
        } finally {
            await c.end();
        }
    };
    const template = async (ns: string) => JSON.stringify((await kc1.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: "web", namespace: ns })).spec!.template.metadata?.annotations ?? {});

    before(async () => {
        const { env } = getE2E();
        const t0 = Date.now();
        env2 = await startTestEnv({ eso: false });
        timings.secondCluster = (Date.now() - t0) / 1000;
        dir = await fs.mkdtemp(path.join(tmpdir(), "ps-envs-"));
        kubeconfig = path.join(dir, "kubeconfig");
        await mergedKubeconfig(kubeconfig, env, env2);
        kc1 = env.kubeConfig();
        kc2 = env2.kubeConfig();
        const pg = { host: env.postgres.host, port: env.postgres.port };
        cfgs = { dev: stackConfig("dev", {}, env.vault.addr, pg), staging: stackConfig("staging", {}, env.vault.addr, pg) };
        // What the operator has in place: namespaces, ESO's Vault token, and a workload following each env's secret.
        await ensureNamespaces(kc1, new Map([["app-dev", {}], ["app-staging", {}], ["external-secrets", {}]]));
        const core = kc1.makeApiClient(CoreV1Api);
        await core.createNamespacedSecret({ namespace: "external-secrets", body: { metadata: { name: "vault-token" }, stringData: { token: env.vault.token } } }).catch(() => undefined);
        for (const ns of ["app-dev", "app-staging"]) {
            const labels = { app: "web" };
            await kc1.makeApiClient(AppsV1Api).createNamespacedDeployment({
                namespace: ns,
                body: {
                    metadata: { name: "web", annotations: { "platform-secrets.io/restart-on": "auto", "pulumi.com/skipAwait": "true" } },
                    spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "web", image: "web:1", env: [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "app-db", key: "password" } } }] }] } } },
                },
            });
        }
    });

    after(async () => {
        for (const r of recs) await r.stop().catch(() => undefined);
        for (const s of stacks.reverse()) await s.destroy().catch(() => undefined);
        await env2?.stop();
        if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it("dev and staging both `up` into one cluster and one Vault, each under its own prefix, stamped with its owner", async () => {
        dev = await open("dev", cfgs.dev);
        staging = await open("staging", cfgs.staging);
        const t0 = Date.now();
        for (const s of [dev, staging]) assert.equal((await s.up()).summary.result, "succeeded");
        timings.upDevAndStaging = (Date.now() - t0) / 1000;
        for (const e of ["dev", "staging"]) {
            const m = await vaultMeta(`${e}/app/db`);
            assert.equal(m?.current_version, 1);
            assert.deepEqual(m?.custom_metadata, { "managed-by": "platform-secrets", "pulumi-project": "platform-secrets", "pulumi-stack": e });
            // Instance-derived cluster-scoped names: both exist side by side.
            await kc1.makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: `platform-secrets-${e}-reconciler-secrets` });
            await kc1.makeApiClient(CustomObjectsApi).getClusterCustomObject({ group: "external-secrets.io", version: "v1", plural: "clustersecretstores", name: `vault-kv-${e}` });
        }
        const out = await dev.stack.outputs();
        assert.match(out.vaultPolicies.value.reconciler.hcl, /path "secret\/metadata\/dev\/app\/db"/);
        assert.equal(out.instance.value, "dev");
    });

    it("a rotation in dev: new version, ALTER ROLE and restart in dev only; staging's path, role and workload untouched", async () => {
        const { env } = getE2E();
        for (const [name, s] of [["dev", dev], ["staging", staging]] as const) {
            const exported = (await s.stack.exportStack()).deployment as { resources: { type: string; urn: string; outputs?: any }[] };
            const dep = exported.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.urn.includes("ReconcilerDeployment"))!;
            const ns = dep.outputs.metadata.namespace as string;
            // ESO syncs the secret; the database owner bootstraps the role with it (what the hook's previous version logs in with).
            await eventually(async () => (await kc1.makeApiClient(CoreV1Api).readNamespacedSecret({ name: "app-db", namespace: `app-${name}` }).catch(() => undefined))?.data?.password, 60_000, `ESO syncs app-${name}/app-db`);
            await bootstrapHookRoles(env, await readStackPolicy(kc1, ns));
            const outputs = await s.stack.outputs();
            recs.push(await startStackReconciler(env, { namespace: ns, deployment: dep.outputs.metadata.name, vaultReadPaths: outputs.reconcilerVaultReadPaths.value as string[], identity: `e2e-${name}` }));
        }
        await new Promise((r) => setTimeout(r, 2000)); // baselines recorded
        const before = { stagingRole: await rolPassword("app_staging"), devRole: await rolPassword("app_dev"), stagingWeb: await template("app-staging"), devWeb: await template("app-dev") };
        assert.equal((await dev.cli(["config", "set", "--path", "platform-secrets:passwords[0].rotation", "1"])).code, 0);
        const up = await dev.up();
        assert.equal(up.summary.result, "succeeded");
        assert.equal((await vaultMeta("dev/app/db"))?.current_version, 2);
        await eventually(async () => ((await rolPassword("app_dev")) !== before.devRole ? true : undefined), 90_000, "dev's hook runs ALTER ROLE app_dev");
        await eventually(async () => ((await template("app-dev")) !== before.devWeb ? true : undefined), 60_000, "dev's workload is restarted");
        await new Promise((r) => setTimeout(r, 3000)); // anything staging's reconciler would do, it has done by now
        assert.equal((await vaultMeta("staging/app/db"))?.current_version, 1, "no new version in staging's path");
        assert.equal(await rolPassword("app_staging"), before.stagingRole, "no ALTER ROLE of staging");
        assert.equal(await template("app-staging"), before.stagingWeb, "nothing of staging restarted");
        assert.ok(!recs[1].lines.some((l) => /app-dev|ALTER|hook/i.test(l) && /app-dev/.test(l)), "staging's reconciler never acted in app-dev");
    });

    it("both drift harness runs (dev after its rotation, staging) are clean, with only what their settings give them", async () => {
        const { env, engine } = getE2E();
        for (const [name, s] of [["dev", dev], ["staging", staging]] as const) {
            const work = await fs.mkdtemp(path.join(dir, `drift-${name}-`));
            const { plan, origin } = await setUpDriftRun(s, { stackName: name, work, vaultToken: env.vault.token, kubeconfigPath: kubeconfig });
            const runner: HarnessRunner = { engine, login: { PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`, PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE }, workRoot: work };
            const r = await runDeployment(runner, { repoUrl: origin, plan, stack: name, operation: "detect" });
            timings[`drift.${name}`] = r.seconds;
            timings[`drift.${name}.resources`] = r.resources;
            assert.equal(r.drift, false, `${name}: ${JSON.stringify(r.changes)}\n${r.output.slice(-3000)}`);
            assert.ok(r.resources > 0, `${name}: the run went through the stack's resources`);
        }
    });

    it("two reconciler processes claiming one namespace: the newer (staging) refuses it loudly in /healthz, the older (dev) keeps acting", async () => {
        const { env } = getE2E();
        assert.equal((await staging.cli(["config", "set", "--path", "platform-secrets:secretNamespaces[1]", "app-dev"])).code, 0);
        assert.equal((await staging.up()).summary.result, "succeeded");
        const ns = await kc1.makeApiClient(CoreV1Api).readNamespace({ name: "ps-staging" });
        assert.equal(ns.metadata?.annotations?.["platform-secrets.io/reconciler-namespaces"], "app-dev,app-staging");
        // The Deployment's env changed (RECONCILER_NAMESPACES): run staging's reconciler as it is deployed now.
        await recs[1].stop();
        const outputs = await staging.stack.outputs();
        recs[1] = await startStackReconciler(env, { namespace: "ps-staging", deployment: "platform-secrets-reconciler", vaultReadPaths: outputs.reconcilerVaultReadPaths.value as string[], identity: "e2e-staging-2", logLevel: "debug" });
        const health = async (r: StackReconciler) => request(r.metricsUrl.replace(/\/metrics$/, "/healthz"));
        const bad = await eventually(async () => {
            const h = await health(recs[1]);
            return h.status === 503 ? h : undefined;
        }, 30_000, "staging's /healthz reports the overlap");
        assert.match(bad.body, /namespaces claimed by older reconciler instance "dev" \(ps-dev\) are refused: app-dev/);
        assert.equal((await health(recs[0])).status, 200, "dev, the older claim, stays healthy");
        assert.ok(recs[1].lines.some((l) => /reconciler instances claim the same namespaces/.test(l)), "staging logs the overlap");
        // A derived secret in the shared namespace (as a provider writes it): dev keeps it in sync, staging marks it
        // refused (annotation + Event) and leaves its status to dev.
        const kubeconfigText = await fs.readFile(env.kubeconfigPath, "utf8");
        await derivedSecretProvider.create!({ format: "mirror", source: { namespace: "app-dev", name: "app-db" }, target: { namespace: "app-dev", name: "app-db-copy" }, kubeconfig: kubeconfigText } as never);
        const core = kc1.makeApiClient(CoreV1Api);
        const ann = await eventually(async () => {
            const a = (await core.readNamespacedSecret({ name: "app-db-copy", namespace: "app-dev" })).metadata?.annotations ?? {};
            return a["platform-secrets.io/claim-refused"] && a["platform-secrets.io/status"] === "in-sync" ? a : undefined;
        // Both reconcilers write this one Secret (dev its status, staging its refusal), each guarded by resourceVersion:
        // a 409 is retried with backoff. (Twice in CI the copy stayed unmarked: it appeared while staging's caches were
        // syncing and start-up queued only its source; the refused branch now marks a source's dependants too, and
        // test/integration/reconciler/claims.test.ts pins that case.)
        }, 60_000, "staging marks app-dev/app-db-copy refused, dev keeps it in sync").catch(async (e) => {
            const a = (await core.readNamespacedSecret({ name: "app-db-copy", namespace: "app-dev" }).catch(() => undefined))?.metadata?.annotations ?? {};
            // What each said about the secret, and staging's last lines whatever they were about (it logs at debug here).
            const said = (r: StackReconciler) => r.lines.filter((l) => /app-db/.test(l)).slice(-6).join("\n");
            const last = recs[1].lines.filter((l) => !/app-db/.test(l)).slice(-20).join("\n");
            throw new Error(`${(e as Error).message}; annotations: ${JSON.stringify(Object.keys(a).filter((k) => k.startsWith("platform-secrets.io/")).map((k) => `${k}=${k.endsWith("hash") ? "…" : a[k]}`))}\ndev said:\n${said(recs[0])}\nstaging said:\n${said(recs[1])}\nstaging's last other lines:\n${last}`);
        });
        assert.match(ann["platform-secrets.io/claim-refused"], /namespace app-dev is claimed by reconciler instance "dev" \(namespace ps-dev.*instance "staging" refuses to act there.*Fix: give the stacks disjoint platform-secrets:secretNamespaces/);
        const events = await eventually(async () => {
            const l = await core.listNamespacedEvent({ namespace: "app-dev", fieldSelector: "reason=NamespaceClaimed" });
            return l.items.length ? l.items : undefined;
        }, 15_000, "a NamespaceClaimed Event");
        assert.equal(events[0].type, "Warning");
    });

    it("a stack aimed at a path another stack owns fails preview naming the path, the owner and the fix", async () => {
        const { env } = getE2E();
        const intruder = await open("intruder", stackConfig("intruder", { vaultPathPrefix: "staging", instance: "intruder", reconcilerNamespace: "ps-intruder", secretNamespaces: ["app-intruder"] }, env.vault.addr, env.postgres));
        const text = await failingPreview(intruder);
        assert.match(text, /platform-secrets:passwords\[0\]\.vaultPath: Vault path secret\/staging\/app\/db is owned by stack "staging" of project "platform-secrets" .*this stack \("intruder"\).*fix: give this stack its own platform-secrets:vaultPathPrefix/);
        assert.equal((await vaultMeta("staging/app/db"))?.current_version, 1);
    });

    it("an empty stack fails preview listing what to set; plain-http Vault to a non-loopback host is refused", async () => {
        assert.match(await failingPreview(await open("empty", {})), /platform-secrets:environment, platform-secrets:vaultAddress: are not set.*fix: pulumi config set platform-secrets:environment dev/);
        const insecure = await open("insecure", { ...cfgs.dev, environment: "insecure", vaultAddress: "http://vault.vault.svc:8200" });
        assert.match(await failingPreview(insecure), /platform-secrets:vaultAddress: "http:\/\/vault\.vault\.svc:8200" is plain http to a non-loopback host.*fix: use https:\/\/vault\.vault\.svc:8200/);
    });

    it("a third stack with kubeContext cluster-2 creates everything in cluster 2 and nothing in cluster 1, dynamic resources included", async () => {
        const { env } = getE2E();
        await ensureNamespaces(kc2, new Map([["app-far", {}]]));
        // The git source as ESO would land it in cluster 2 (no ESO runs there); the derived Tekton secret comes from it.
        await writeVault(env.vault, "secret", "git/far", { username: "bot", password: "far-not-a-secret" });
        await kc2.makeApiClient(CoreV1Api).createNamespacedSecret({ namespace: "app-far", body: { metadata: { name: "far-repo" }, type: "kubernetes.io/basic-auth", stringData: { username: "bot", password: "far-not-a-secret" } } });
        const far = await open("far", {
            ...stackConfig("far", { kubeContext: "cluster-2", reconcilerVaultAuthMethod: "kubernetes" }, env.vault.addr, env.postgres),
            passwords: [{ name: "far-token", length: 32, vaultPath: "app/token", rotation: 0, consumers: [{ namespace: "app-far", secretName: "far-token", refreshPolicy: "OnChange" }] }],
            externalVaultPaths: ["git/far"],
            gitCredentials: [{ name: "far-repo", url: "https://git.example/far.git", vaultPath: "git/far", sourceNamespace: "app-far", tekton: { namespace: "app-far", secretName: "far-repo-git" } }],
        });
        assert.equal((await far.up()).summary.result, "succeeded");
        const core2 = kc2.makeApiClient(CoreV1Api);
        assert.equal(Buffer.from((await core2.readNamespacedSecret({ name: "far-repo-git", namespace: "app-far" })).data!.password, "base64").toString(), "far-not-a-secret");
        await kc2.makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: "platform-secrets-far-reconciler" });
        await core2.readNamespace({ name: "ps-far" });
        // Nothing of it in cluster 1: no namespace, no cluster-scoped object, no store, nothing labelled with its environment.
        const core1 = kc1.makeApiClient(CoreV1Api);
        for (const n of ["ps-far", "app-far"]) assert.equal(await core1.readNamespace({ name: n }).then(() => "present", () => "absent"), "absent", `namespace ${n} in cluster 1`);
        const roles = (await kc1.makeApiClient(RbacAuthorizationV1Api).listClusterRole()).items.map((r) => r.metadata!.name!);
        assert.deepEqual(roles.filter((r) => r.includes("-far-")), []);
        const stores = (await kc1.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: "external-secrets.io", version: "v1", plural: "clustersecretstores" })) as { items: { metadata: { name: string } }[] };
        assert.ok(!stores.items.some((s) => s.metadata.name === "vault-kv-far"));
        const labelled = await core1.listSecretForAllNamespaces({ labelSelector: "platform-secrets.io/environment=far" });
        assert.deepEqual(labelled.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`), []);
    });
});
