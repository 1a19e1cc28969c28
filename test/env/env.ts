import { KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { mkdtempSync, promises as fs, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BinarySpec, etcdSpec, kubernetesNodeSpec, kubernetesSpec, vaultSpec } from "./binaries";
import { ensureAll, Progress, stderrProgress } from "./build";
import { startEso } from "./eso";
import { esoSpec } from "./eso-binary";
import { installEsoCrds } from "./eso-crds";
import { startEtcd } from "./etcd";
import { ApiServer, loadAdminTls, requestServiceAccountToken, startControllerManager, waitControllerManagerReady } from "./kube";
import { renderKubeconfig } from "./kubeconfig";
import { nodeApiServerArgs, startNode, TestNode } from "./node";
import { createPki } from "./pki";
import { startPostgres } from "./postgres";
import { ManagedProcess, onProcessExit } from "./process";
import { sweepStale, writeOwner } from "./sweep";
import { startVault } from "./vault";

export interface TestEnv {
    kubeconfigPath: string;
    kubeConfig(): KubeConfig;
    apiServerUrl: string;
    vault: { addr: string; token: string };
    /**
     * The REAL External Secrets Operator controller (eso.ts), with admin credentials, its CRDs installed; ready
     * means it has synced a throwaway ExternalSecret. `kubeconfigPath`: the file it reads (KUBECONFIG); `logPath`:
     * its log. Undefined under PS_TEST_SKIP_ESO=1 or `startTestEnv({ eso: false })` (the CRDs are installed anyway).
     */
    eso: { kubeconfigPath?: string; logPath: string; pid?: number } | undefined;
    /** `caPem`: the CA of the server's TLS certificate (ssl is on, optional for clients); `logPath`: its stderr log. */
    postgres: { host: string; port: number; user: string; password: string; database: string; url: string; caPem: string; logPath: string };
    /**
     * The real node (node.ts: kubelet + containerd/runc in a network namespace of its own, and kube-scheduler), when
     * started with `startTestEnv({ node: true })`; undefined otherwise (no Pod ever runs then).
     */
    node: TestNode | undefined;
    mintServiceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string>;
    restartApiServer(opts?: { downMs?: number }): Promise<void>;
    stop(): Promise<void>;
}

export interface StartOptions {
    progress?: Progress;
    /** Run the ESO controller (default: yes, unless PS_TEST_SKIP_ESO=1). A caller that plays ESO itself says false. */
    eso?: boolean;
    /** Start a real node and the scheduler (default: no; suites that run no Pod keep the faster environment). */
    node?: boolean;
}

/** Seconds since `t0`, one decimal. */
function since(t0: number): number {
    return Math.round((Date.now() - t0) / 100) / 10;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, a Vault dev server, PostgreSQL and the External Secrets
 * Operator controller (with its CRDs), all on random 127.0.0.1 ports with temp dirs, and resolves once every one
 * is ready. Binaries are built first when not cached.
 * Everything it started is stopped by `stop()`, and killed by pid (temp dirs removed) if the process exits first.
 */
export async function startTestEnv(opts: StartOptions = {}): Promise<TestEnv & { timings: Record<string, number> }> {
    const progress = opts.progress ?? stderrProgress;
    // PS_TEST_SKIP_VAULT=1: a developer's inner loop while Vault (the longest build) is not cached yet; tests that
    // need Vault then fail on connection refused. CI never sets it.
    const skipVault = process.env.PS_TEST_SKIP_VAULT === "1";
    // PS_TEST_SKIP_ESO=1: the same for the ESO controller (its CRDs are still installed, so manifests validate);
    // tests that need the controller then time out waiting for it to sync. CI never sets it.
    const runEso = opts.eso ?? process.env.PS_TEST_SKIP_ESO !== "1";
    const specs: BinarySpec[] = [etcdSpec(), kubernetesSpec()];
    if (!skipVault) specs.push(vaultSpec());
    if (runEso) specs.push(esoSpec());
    if (opts.node) specs.push(kubernetesNodeSpec());
    const built = new Map((await ensureAll(specs, { progress })).map((b) => [b.spec.name, b]));
    const [etcdBuild, kubeBuild, vaultBuild, esoBuild, nodeBuild] = [etcdSpec(), kubernetesSpec(), vaultSpec(), esoSpec(), kubernetesNodeSpec()].map((s) => built.get(s.name));
    const swept = await sweepStale();
    if (swept.length) progress(`removed ${swept.length} environment dir(s) left by dead runs: ${swept.join(", ")}`);
    const t0 = Date.now();
    const timings: Record<string, number> = {};
    const root = mkdtempSync(path.join(tmpdir(), "ps-env-"));
    await writeOwner(root);
    const processes: ManagedProcess[] = [];
    const dirs = [root];
    const unregister = onProcessExit(() => {
        // Retries: a server just SIGKILLed by the same hook may still be writing into its dir.
        for (const d of dirs) rmSync(d, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    });
    let stopped = false;
    let apiServer: ApiServer | undefined;
    let kcm: ManagedProcess | undefined;
    let esoProc: ManagedProcess | undefined;
    let node: TestNode | undefined;
    const pending: Promise<unknown>[] = [];
    const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        // ESO and the controller-manager before the apiserver before etcd, so none logs errors about the next one.
        // The node first: its kubelet would otherwise retry the gone apiserver while its Pods are torn down.
        await node?.stop();
        await esoProc?.stop();
        await kcm?.stop();
        await apiServer?.stop();
        await Promise.all(processes.map((p) => p.stop()));
        for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
        unregister();
    };
    try {
        // Vault and PostgreSQL do not depend on Kubernetes: start them alongside it.
        const vaultP = (skipVault ? Promise.resolve({ addr: "http://127.0.0.1:1", token: "vault-skipped", process: undefined }) : startVault(vaultBuild!.paths.vault!, root)).then((v) => {
            if (!v.process) return v;
            processes.push(v.process);
            timings.vault = since(t0);
            return v;
        });
        const pgP = startPostgres(progress).then((p) => {
            processes.push(p.process);
            dirs.push(p.dir);
            timings.postgres = since(t0);
            return p;
        });
        // Observe rejections now so a failure in one does not become an unhandled rejection while k8s starts.
        const settled = Promise.allSettled([vaultP, pgP]);
        pending.push(settled);

        const pki = await createPki(root);
        const tls = await loadAdminTls(pki);
        const etcd = await startEtcd(etcdBuild!.paths.etcd!, root);
        processes.push(etcd.process);
        timings.etcd = since(t0);
        const nodeArgs = opts.node ? await nodeApiServerArgs(root, pki) : [];
        apiServer = new ApiServer(kubeBuild!.paths["kube-apiserver"]!, root, pki, tls, etcd.clientUrl, nodeArgs);
        await apiServer.start();
        timings.apiserver = since(t0);
        const server = apiServer.url;
        const kubeconfigPath = path.join(root, "admin.kubeconfig");
        await fs.writeFile(kubeconfigPath, renderKubeconfig({ name: "platform-secrets-test", server, caPem: tls.ca, credentials: { kind: "clientCert", certPem: tls.cert, keyPem: tls.key } }), {
            mode: 0o600,
        });
        const kubeConfig = (): KubeConfig => {
            const kc = new KubeConfig();
            kc.loadFromFile(kubeconfigPath);
            return kc;
        };
        // ESO's CRDs go in while the controller-manager starts (the module is in the Go module cache after the build).
        const crdsP = installEsoCrds(kubeConfig()).then((n) => {
            timings.esoCrds = since(t0);
            return n;
        });
        pending.push(crdsP.catch(() => undefined));
        kcm = await startControllerManager(kubeBuild!.paths["kube-controller-manager"]!, root, pki, server);
        await waitControllerManagerReady(server, tls, kcm);
        timings.controllerManager = since(t0);
        await crdsP;
        if (opts.node) {
            const api = apiServer;
            node = await startNode(
                { root, pki, apiServerUrl: server, apiServerPort: () => api.port, adminKubeConfig: kubeConfig, progress },
                { kubelet: nodeBuild!.paths.kubelet!, scheduler: nodeBuild!.paths["kube-scheduler"]! },
            );
            timings.node = since(t0);
            timings.nodeReady = node.timings.ready!;
        }

        // The cluster's ESO: admin credentials, its own copy of the kubeconfig (tests may not edit it under it).
        let eso: TestEnv["eso"];
        if (runEso) {
            const esoKubeconfig = path.join(root, "external-secrets.kubeconfig");
            await fs.copyFile(kubeconfigPath, esoKubeconfig);
            const started = await startEso(esoBuild!.paths["external-secrets"]!, root, esoKubeconfig, { server, tls });
            esoProc = started.process;
            eso = { kubeconfigPath: esoKubeconfig, logPath: started.logPath, pid: started.process.pid };
            timings.eso = since(t0);
            timings.esoReady = started.readySeconds;
        }

        const [vr, pr] = await settled;
        if (vr!.status === "rejected") throw vr!.reason;
        if (pr!.status === "rejected") throw pr!.reason;
        const vault = await vaultP;
        const pg = await pgP;

        timings.total = since(t0);
        const api = apiServer;
        return {
            timings,
            kubeconfigPath,
            apiServerUrl: server,
            kubeConfig,
            vault: { addr: vault.addr, token: vault.token },
            eso,
            node,
            postgres: { host: pg.host, port: pg.port, user: pg.user, password: pg.password, database: pg.database, url: pg.url, caPem: pg.caPem, logPath: pg.logPath },
            async mintServiceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string> {
                const token = await requestServiceAccountToken(server, tls, namespace, serviceAccount);
                const file = path.join(root, `sa-${namespace}-${serviceAccount}-${randomBytes(3).toString("hex")}.kubeconfig`);
                const text = renderKubeconfig({ name: `${namespace}-${serviceAccount}`, server, caPem: tls.ca, credentials: { kind: "token", token }, namespace });
                await fs.writeFile(file, text, { mode: 0o600 });
                return file;
            },
            async restartApiServer(o: { downMs?: number } = {}): Promise<void> {
                await api.restart(o.downMs ?? 0);
            },
            stop,
        };
    } catch (e) {
        // Keep whatever the failing server logged: the temp dir is about to go.
        const msg = e instanceof Error ? e.message : String(e);
        await Promise.all(pending);
        await stop().catch(() => undefined);
        throw new Error(`test environment failed to start after ${since(t0)} s: ${msg}`);
    }
}
