import { strict as assert } from "node:assert";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { AppsV1Api, BatchV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, V1Container, V1Pod } from "@kubernetes/client-node";
import { Client } from "pg";
import * as YAML from "yaml";
import { createClusterContent } from "../../bench/cluster";
import { kubeClientFrom } from "../support";
import { ROOT } from "../env/engine";
import { BuiltImages } from "../env/images";
import { LocalStack, openLocalStack } from "../env/local-stack";
import { ensureNamespaces } from "../env/local-seed";
import { bootstrapHookRoles, readStackPolicy } from "../env/sandbox-reconciler";
import { applyVaultAccess, consumerContainer, createConsumerDeployment, PodInstall, preparePodInstall, TOKEN_REVIEWER, vaultApi, VaultAccessOutputs } from "../env/pod-install";
import { eventually } from "../support";
import { GitHubStandIn } from "../support/github-standin";
import { tokenGeneratorFragment } from "../../stacks/github/tokenGenerator";
import { getE2E, timings } from "./fixture";
import { consumeDigest, isRunningReady, podLog, podsOf, vaultValue, waitForSolePodLogging } from "../env/pod-checks";

/**
 * Issue 19, "done when": the product installed as production installs it, on the environment's real node. `pulumi
 * up` (real engine) deploys the reconciler from the image THE image build makes (buildImages, loaded into the node),
 * 2 replicas, the rollout awaited (no skip-await): in-cluster config, uid 65532, read-only root, probes, the Lease.
 * It logs in to Vault over TLS (a private CA from config) with Kubernetes auth and a projected ServiceAccount token of
 * audience "vault", set up exactly as docs/install.md says (policies and roles from the stack's outputs). Consumers
 * are real Pods (ps-tiny `consume`: reads its password once, at start, from env and from a file); a rotation must
 * show up as a NEW Pod reading the new value, the bootstrap Job re-run must run to completion, the PostgreSQL role
 * must change. The leader Pod is deleted in the middle of a rotation burst. The token generator runs as init + sidecar
 * next to a runner of another uid, against the GitHub API stand-in, with the App's credentials carried by ESO.
 */
type Obj = Record<string, unknown>;

const ENV = "pods";
const NS = "app-pods";
/** The benchmark's content (bench/cluster.ts) at a fraction of its size, in a namespace the reconciler watches. */
const BENCH_NS = "bench-pods";
const BIG_SECRETS = 80;
const BENCH_SIZES = { sources: 1000, unrelated: 3000, unrelatedBytes: 16 * 1024, deployments: 0, concurrency: 16 };
const WF = "workflows-pods";
const RECONCILER_NS = "ps-pods";
const LEASE = `platform-secrets-${ENV}-reconciler`;
const RECONCILER_SELECTOR = "app.kubernetes.io/name=platform-secrets-reconciler";
const PASSWORDS = [0, 1, 2];
const APP_VAULT_PATH = `e2e-${ENV}/github/rex`;
const INSTALLATION = { id: 4242, login: "acme" };

function stackConfig(o: { image: string; vaultAddr: string; frontUrl: string; caPem: string; authMount: string; pg: { host: string; port: number } }): Obj {
    return {
        environment: ENV,
        vaultAddress: o.vaultAddr,
        vaultAuthMethod: "token",
        vaultTokenSecretName: "vault-token",
        vaultTokenSecretNamespace: "external-secrets",
        vaultTokenSecretKey: "token",
        passwords: PASSWORDS.map((i) => ({
            name: `db-${i}-password`,
            length: 24,
            vaultPath: `app/db-${i}`,
            rotation: 0,
            consumers: [
                {
                    namespace: NS,
                    secretName: `db-${i}`,
                    secretKey: "password",
                    refreshPolicy: "OnChange",
                    // db-0 is the database's own password: ALTER ROLE from the Pod (Vault login) and the bootstrap Job.
                    hooks: i === 0 ? [{ type: "postgres", host: o.pg.host, port: o.pg.port, user: "app_pods", database: "postgres", tls: { mode: "require" } }, { type: "job-rerun", job: "bootstrap" }] : [],
                },
            ],
        })),
        workflowsNamespace: WF,
        githubApps: [{ name: "rex", vaultPath: APP_VAULT_PATH, syncInstallationId: true }],
        // The App's credentials are written by whoever registers the App (here: the test, before the first up).
        externalVaultPaths: [APP_VAULT_PATH],
        reconcilerEnabled: true,
        reconcilerImage: o.image,
        reconcilerReplicas: 2,
        reconcilerNamespace: RECONCILER_NS,
        reconcilerDebounceMs: 300,
        reconcilerVaultAddress: o.frontUrl,
        reconcilerVaultCaCert: o.caPem,
        reconcilerVaultAuthMethod: "kubernetes",
        reconcilerVaultAuthMount: o.authMount,
        reconcilerVaultRole: `platform-secrets-${ENV}-reconciler`,
        secretNamespaces: [NS, BENCH_NS],
    };
}

async function project(dir: string, config: Obj): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    await fs.copyFile(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const l of ["node_modules", "index.ts"]) await fs.symlink(path.join(ROOT, l), path.join(dir, l)).catch(() => undefined);
    await fs.writeFile(path.join(dir, `Pulumi.${ENV}.yaml`), YAML.stringify({ config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`platform-secrets:${k}`, v])) }));
    return dir;
}

describe("e2e: installed as production installs it, on a real node (issue 19)", function () {
    let dir: string;
    let kc: KubeConfig;
    let images: BuiltImages;
    let install: PodInstall | undefined;
    let standin: GitHubStandIn | undefined;
    let stack: LocalStack | undefined;
    let authMount: string;
    let tiny: string;
    let apiUrl: string;
    const core = () => kc.makeApiClient(CoreV1Api);
    const lease = async () => (await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: RECONCILER_NS })).spec?.holderIdentity;
    const reconcilerPods = () => podsOf(kc, RECONCILER_NS, RECONCILER_SELECTOR);
    const rolPassword = async () => {
        const c = new Client({ connectionString: getE2E().env.postgres.url });
        await c.connect();
        try {
            return (await c.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_pods'")).rows[0]?.rolpassword as string | undefined;
        } finally {
            await c.end();
        }
    };
    const secretValue = async (i: number) => Buffer.from((await core().readNamespacedSecret({ name: `db-${i}`, namespace: NS })).data?.password ?? "", "base64").toString("utf8");
    const webSelector = (i: number) => `app=web-${i}`;
    const digestLine = async (i: number) => `env:DB_PASSWORD ${consumeDigest(await vaultValue(getE2E().env.vault, `${ENV}/app/db-${i}`))}`;

    before(async () => {
        const { env, engine } = getE2E();
        const node = env.node;
        if (!node) throw new Error("the e2e fixture starts no node: startTestEnv({ node: true }) in test/e2e/fixture.ts");
        kc = env.kubeConfig();
        tiny = node.images.tiny;
        dir = await fs.mkdtemp(path.join(tmpdir(), "ps-pods-"));
        const t0 = Date.now();
        // THE image build (the release workflow's command) loaded into the node; Vault over TLS with a private CA and
        // PostgreSQL, as Pods reach them; Vault's Kubernetes auth method (docs/install.md §1).
        authMount = `kubernetes-${randomBytes(3).toString("hex")}`;
        install = await preparePodInstall(env, dir, { authMount });
        images = install.images;
        timings["pods.install"] = (Date.now() - t0) / 1000;
        // The GitHub API stand-in, reachable from Pods.
        const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs1", format: "pem" } });
        standin = new GitHubStandIn({ apps: [{ appId: "31337", publicKey }], installations: [{ id: INSTALLATION.id, appId: "31337", account: { login: INSTALLATION.login, type: "Organization" } }] });
        const apiAt = await node.exposeHostPort(Number(new URL(await standin.start()).port));
        apiUrl = `http://${apiAt.host}:${apiAt.port}`;

        // What the operator has in place before the first `up` (docs/install.md §1): namespaces, ESO's Vault token,
        // the App's credentials in Vault.
        await ensureNamespaces(kc, new Map([[NS, {}], [WF, {}], [BENCH_NS, {}], ["external-secrets", {}]]));
        await core().createNamespacedSecret({ namespace: "external-secrets", body: { metadata: { name: "vault-token" }, stringData: { token: env.vault.token } } }).catch(() => undefined);
        await vaultApi(env.vault, "POST", `secret/data/${APP_VAULT_PATH}`, { data: { appId: "31337", installationId: String(INSTALLATION.id), privateKey } });

        const cfg = stackConfig({ image: images.reconciler.ref, vaultAddr: env.vault.addr, frontUrl: install.vaultUrl, caPem: install.vaultCaPem, authMount, pg: install.postgres });
        stack = await openLocalStack({ engine, kubeconfigPath: env.kubeconfigPath, vault: env.vault, stateDir: path.join(dir, "state"), workDir: await project(path.join(dir, ENV), cfg), stackName: ENV, noKubelet: false });
    });

    after(async () => {
        const { env } = getE2E();
        await stack?.destroy().catch((e: Error) => process.stderr.write(`[pods] destroy: ${e.message}\n`));
        for (const ns of [NS, WF, BENCH_NS]) await core().deleteNamespace({ name: ns }).catch(() => undefined);
        await kc?.makeApiClient(RbacAuthorizationV1Api).deleteClusterRoleBinding({ name: TOKEN_REVIEWER.name }).catch(() => undefined);
        if (authMount) await vaultApi(env.vault, "DELETE", `sys/auth/${authMount}`).catch(() => undefined);
        await standin?.stop();
        await install?.stop();
        if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it("`pulumi up` rolls out the reconciler from its image: 2 Pods Running on the node, one holds the Lease", async () => {
        const t0 = Date.now();
        const up = await stack!.up();
        timings["pods.firstUp"] = (Date.now() - t0) / 1000;
        assert.equal(up.summary.result, "succeeded");
        const pods = await reconcilerPods();
        assert.equal(pods.length, 2, pods.map((p) => p.metadata?.name).join(", "));
        for (const p of pods) {
            assert.ok(isRunningReady(p), `${p.metadata?.name}: ${JSON.stringify(p.status?.containerStatuses)}`);
            assert.equal(p.spec?.nodeName, getE2E().env.node!.nodeName);
            assert.equal(p.spec?.containers[0]!.image, images.reconciler.ref);
            assert.equal(p.status?.containerStatuses?.[0]?.restartCount, 0, `${p.metadata?.name} restarted`);
        }
        const holder = await eventually(async () => (await lease()) || undefined, 30_000, `Lease ${LEASE} has a holder`);
        assert.ok(pods.some((p) => p.metadata?.name === holder), `holder ${holder} is one of the Pods`);
        // In-cluster config, no kubeconfig: the leader logs that it runs, the standby that it waits.
        const logs = await Promise.all(pods.map((p) => podLog(kc, RECONCILER_NS, p.metadata!.name!)));
        assert.ok(logs.every((l) => l.includes("reconciler running")), logs.join("\n---\n").slice(-3000));
        // What the operator does next (docs/install.md §6): policies and roles, exactly as the outputs give them.
        const out = await stack!.stack.outputs();
        const access = { vaultPolicies: out.vaultPolicies.value, vaultKubernetesAuthRoles: out.vaultKubernetesAuthRoles.value } as VaultAccessOutputs;
        assert.equal(access.vaultKubernetesAuthRoles.reconciler?.mount, authMount);
        assert.equal(access.vaultKubernetesAuthRoles.reconciler?.audience, "vault");
        await applyVaultAccess(getE2E().env.vault, access);
    });

    it("consumers are Pods: a rotation restarts them into NEW Pods reading the new value; the Job re-runs; ALTER ROLE from the Pod", async () => {
        const { env } = getE2E();
        const apps = kc.makeApiClient(AppsV1Api);
        // What the application team has: ESO's Secrets, then the role bootstrapped with the password, a bootstrap Job
        // and one Deployment per password that follows its Secret (restart-on: auto).
        for (const i of PASSWORDS) await eventually(async () => (await core().readNamespacedSecret({ name: `db-${i}`, namespace: NS }).catch(() => undefined))?.data?.password, 60_000, `ESO syncs ${NS}/db-${i}`);
        await bootstrapHookRoles(env, await readStackPolicy(kc, RECONCILER_NS));
        const job = consumerContainer(tiny, "db-0", "password", true);
        await kc.makeApiClient(BatchV1Api).createNamespacedJob({
            namespace: NS,
            body: { metadata: { name: "bootstrap" }, spec: { backoffLimit: 2, template: { spec: { restartPolicy: "Never", containers: [job.container], volumes: [job.volume] } } } },
        });
        for (const i of PASSWORDS) await createConsumerDeployment(kc, NS, `web-${i}`, tiny, `db-${i}`);
        const before = { web: await Promise.all(PASSWORDS.map(digestLine)), role: await rolPassword() };
        for (const i of PASSWORDS) await waitForSolePodLogging(kc, NS, webSelector(i), before.web[i]!, 90_000, `web-${i} runs with the first value`);
        await eventually(async () => ((await kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: "bootstrap", namespace: NS })).status?.succeeded === 1 ? true : undefined), 60_000, "the bootstrap Job completes");
        // The reconciler recorded each workload's baseline (the product's own annotation), so the next change restarts.
        for (const i of PASSWORDS) await eventually(async () => (await apps.readNamespacedDeployment({ name: `web-${i}`, namespace: NS })).metadata?.annotations?.["platform-secrets.io/secrets-hash"], 30_000, `web-${i} baseline`);
        const oldJobUid = (await kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: "bootstrap", namespace: NS })).metadata!.uid;
        const oldPod = (await podsOf(kc, NS, webSelector(0)))[0]!.metadata!.name!;

        const t0 = Date.now();
        assert.equal((await stack!.cli(["config", "set", "--path", "platform-secrets:passwords[0].rotation", "1"])).code, 0);
        assert.equal((await stack!.up()).summary.result, "succeeded");
        const line = await digestLine(0);
        assert.notEqual(line, before.web[0]);
        const pod = await waitForSolePodLogging(kc, NS, webSelector(0), line, 120_000, "web-0: a new Pod reads the rotated value from env and file");
        timings["pods.rotationToNewPod"] = (Date.now() - t0) / 1000;
        assert.notEqual(pod.metadata!.name, oldPod, "a new Pod, not the old one");
        const log = await podLog(kc, NS, pod.metadata!.name!);
        assert.match(log, new RegExp(`file:/etc/db/password ${consumeDigest(await vaultValue(env.vault, `${ENV}/app/db-0`))}`));
        await eventually(async () => ((await core().readNamespacedPod({ name: oldPod, namespace: NS }).catch(() => undefined)) === undefined ? true : undefined), 60_000, `old Pod ${oldPod} is gone`);
        await eventually(async () => ((await rolPassword()) !== before.role ? true : undefined), 90_000, "ALTER ROLE app_pods (the leader logged in to Vault with its audience-vault token)");
        const rerun = await eventually(async () => {
            const j = await kc.makeApiClient(BatchV1Api).readNamespacedJob({ name: "bootstrap", namespace: NS }).catch(() => undefined);
            return j && j.metadata?.uid !== oldJobUid && j.status?.succeeded === 1 ? j : undefined;
        }, 120_000, "the bootstrap Job is re-run and completes");
        const jobPods = await podsOf(kc, NS, `batch.kubernetes.io/controller-uid=${rerun.metadata!.uid}`);
        assert.ok((await podLog(kc, NS, jobPods[0]!.metadata!.name!)).includes(line), "the re-run Job read the new value");
        // web-1 and web-2 did not change: their Pods are the ones from before.
        for (const i of [1, 2]) assert.ok((await podLog(kc, NS, (await podsOf(kc, NS, webSelector(i)))[0]!.metadata!.name!)).includes(before.web[i]!));
    });

    it("the leader Pod deleted in the middle of a rotation burst: the standby takes the Lease and every rotation converges", async () => {
        const holder = (await lease())!;
        const before = await Promise.all(PASSWORDS.map(digestLine));
        const role = await rolPassword();
        const first = await secretValue(0);
        for (const i of PASSWORDS) assert.equal((await stack!.cli(["config", "set", "--path", `platform-secrets:passwords[${i}].rotation`, "2"])).code, 0);
        const t0 = Date.now();
        const up = stack!.up();
        // In the middle: as soon as ESO has carried the first new value into the cluster, the leader goes.
        await eventually(async () => ((await secretValue(0)) !== first ? true : undefined), 180_000, "ESO carries the burst's first new value into the cluster");
        await core().deleteNamespacedPod({ name: holder, namespace: RECONCILER_NS });
        assert.equal((await up).summary.result, "succeeded");
        const next = await eventually(async () => {
            const h = await lease();
            return h && h !== holder ? h : undefined;
        }, 90_000, "another Pod takes the Lease");
        const standbys = (await reconcilerPods()).map((p) => p.metadata!.name!);
        assert.ok(standbys.includes(next), `${next} is a reconciler Pod`);
        for (const i of PASSWORDS) {
            const line = await digestLine(i);
            assert.notEqual(line, before[i]);
            await waitForSolePodLogging(kc, NS, webSelector(i), line, 180_000, `web-${i} converges after the leader kill`);
        }
        await eventually(async () => ((await rolPassword()) !== role ? true : undefined), 120_000, "ALTER ROLE after the leader kill");
        timings["pods.leaderKillConverged"] = (Date.now() - t0) / 1000;
        await eventually(async () => ((await reconcilerPods()).filter(isRunningReady).length === 2 ? true : undefined), 90_000, "the Deployment is back to 2 ready Pods");
    });

    it("under its memory limit (the kubelet's), a new leader lists the benchmark's Secrets and 80 big ones, and keeps reconciling", async () => {
        const { env } = getE2E();
        const t0 = Date.now();
        const client = await kubeClientFrom(kc);
        const setup = await createClusterContent(client, BENCH_NS, BENCH_SIZES, { namespaceExists: true });
        timings["pods.benchContentS"] = Math.round(setup.totalMs / 100) / 10;
        // And what any tenant with `edit` in its namespace may create: 80 Secrets of ~700 KiB (issue 21: one list page
        // of them held whole is ~3 x 75 MB, past the limit; each is parsed and slimmed on its own now).
        const big = Buffer.alloc(700 * 1024, 7).toString("base64");
        for (let i = 0; i < BIG_SECRETS; i++) await client.request("POST", `/api/v1/namespaces/${BENCH_NS}/secrets`, { body: { metadata: { name: `big-${i}` }, data: { blob: big } } });
        const limit = (await reconcilerPods())[0]!.spec!.containers[0]!.resources?.limits?.memory;
        assert.equal(limit, "192Mi", "the Deployment's default memory limit");
        // A standby holds no caches: the one that takes the Lease lists every Secret it watches, page by page.
        const holder = (await lease())!;
        await core().deleteNamespacedPod({ name: holder, namespace: RECONCILER_NS });
        const next = await eventually(async () => {
            const h = await lease();
            return h && h !== holder ? h : undefined;
        }, 90_000, "another Pod takes the Lease");
        await eventually(async () => {
            const p = await core().readNamespacedPod({ name: next, namespace: RECONCILER_NS }).catch(() => undefined);
            return p && isRunningReady(p) ? p : undefined;
        }, 120_000, `the new leader ${next} has listed everything and is ready (its caches synced)`);
        timings["pods.relistReadyS"] = (Date.now() - t0) / 1000;
        // While it works through the content: rotate db-1 and expect the new Pod, from a leader that did not die.
        assert.equal((await stack!.cli(["config", "set", "--path", "platform-secrets:passwords[1].rotation", "3"])).code, 0);
        assert.equal((await stack!.up()).summary.result, "succeeded");
        await waitForSolePodLogging(kc, NS, webSelector(1), await digestLine(1), 180_000, "web-1 restarted by the leader that listed the benchmark's Secrets").catch(async (e: Error) => {
            const pods = await reconcilerPods();
            throw new Error(`${e.message}; reconciler containers: ${JSON.stringify(pods.map((x) => [x.metadata?.name, x.status?.containerStatuses?.[0]?.restartCount, x.status?.containerStatuses?.[0]?.lastState]))}`);
        });
        const p = await core().readNamespacedPod({ name: next, namespace: RECONCILER_NS });
        const st = p.status?.containerStatuses?.[0];
        assert.equal(st?.restartCount, 0, `${next} restarted: ${JSON.stringify(st?.lastState)}`);
        assert.equal(await lease(), next, "the same leader throughout");
        // The kubelet's own view of the container's memory (working set), for the closing note.
        const summary = await kc.makeApiClient(CoreV1Api).connectGetNodeProxyWithPath({ name: env.node!.nodeName, path: "stats/summary" }).catch(() => undefined);
        const pods = (typeof summary === "string" ? JSON.parse(summary) : summary) as { pods?: { podRef: { name: string }; containers?: { memory?: { workingSetBytes?: number } }[] }[] } | undefined;
        const ws = pods?.pods?.find((x) => x.podRef.name === next)?.containers?.[0]?.memory?.workingSetBytes;
        if (ws) timings["pods.leaderWorkingSetMiB"] = Math.round(ws / 1048576);
    });

    it("the token generator: init + sidecar write the installation token; a runner with another uid reads it", async () => {
        const { env } = getE2E();
        // ESO carried the App's credentials (the stack's ExternalSecret github-app-rex) from Vault.
        await eventually(async () => (await core().readNamespacedSecret({ name: "github-app-rex", namespace: WF }).catch(() => undefined))?.data?.privateKey, 60_000, `ESO syncs ${WF}/github-app-rex`);
        const f = tokenGeneratorFragment({ name: "rex" }, { image: images.tokengen.ref, sidecar: true, githubApiUrl: apiUrl });
        const pull = (c: { image: string }) => ({ ...c, imagePullPolicy: "Never" });
        const runner: V1Container = {
            name: "runner",
            image: tiny,
            imagePullPolicy: "Never",
            args: ["consume", "file:/var/run/github/token"],
            env: f.env as V1Container["env"],
            volumeMounts: f.volumeMounts,
            securityContext: { runAsUser: 1001, runAsGroup: 1001, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
        };
        const body: V1Pod = {
            metadata: { name: "runner" },
            spec: {
                serviceAccountName: "github-app-rex",
                securityContext: f.podSecurityContext,
                initContainers: f.initContainers.map(pull) as V1Container[],
                containers: [runner, ...(f.containers.map(pull) as V1Container[])],
                volumes: f.volumes as never,
            },
        };
        await core().createNamespacedPod({ namespace: WF, body });
        const pod = await eventually(async () => {
            const p = await core().readNamespacedPod({ name: "runner", namespace: WF });
            return isRunningReady(p) ? p : undefined;
        }, 120_000, "the runner Pod runs (init container done, sidecar and runner up)");
        assert.equal(pod.spec?.nodeName, env.node!.nodeName);
        const issued = standin!.issued.at(-1);
        assert.ok(issued, "the stand-in issued an installation token");
        assert.equal(issued.installationId, INSTALLATION.id);
        const log = await eventually(async () => {
            const l = await podLog(kc, WF, "runner", "runner");
            return l.includes("file:/var/run/github/token") ? l : undefined;
        }, 30_000, "the runner logs what it read");
        // The runner (uid 1001) read the token the init container wrote (uid 65532, mode 0640, group fsGroup).
        const tokens = standin!.issued.map((t) => consumeDigest(t.token));
        assert.ok(tokens.some((d) => log.includes(`file:/var/run/github/token ${d} uid=1001`)), `${log} (issued: ${tokens.join(", ")})`);
        const sidecar = await podLog(kc, WF, "runner", f.containers[0]!.name);
        for (const t of standin!.issued) assert.ok(!sidecar.includes(t.token) && !log.includes(t.token), "no token in a Pod log");
    });
});
