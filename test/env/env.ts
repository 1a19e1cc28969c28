import { KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { mkdtempSync, promises as fs, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { etcdSpec, kubernetesSpec, vaultSpec } from "./binaries";
import { ensureAll, Progress, stderrProgress } from "./build";
import { startEtcd } from "./etcd";
import { ApiServer, loadAdminTls, requestServiceAccountToken, startControllerManager, waitControllerManagerReady } from "./kube";
import { renderKubeconfig } from "./kubeconfig";
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
    /** `caPem`: the CA of the server's TLS certificate (ssl is on, optional for clients); `logPath`: its stderr log. */
    postgres: { host: string; port: number; user: string; password: string; database: string; url: string; caPem: string; logPath: string };
    mintServiceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string>;
    restartApiServer(opts?: { downMs?: number }): Promise<void>;
    stop(): Promise<void>;
}

export interface StartOptions {
    progress?: Progress;
}

/** Seconds since `t0`, one decimal. */
function since(t0: number): number {
    return Math.round((Date.now() - t0) / 100) / 10;
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, a Vault dev server and PostgreSQL, all on random
 * 127.0.0.1 ports with temp dirs, and resolves once every one is ready. Binaries are built first when not cached.
 * Everything it started is stopped by `stop()`, and killed by pid (temp dirs removed) if the process exits first.
 */
export async function startTestEnv(opts: StartOptions = {}): Promise<TestEnv & { timings: Record<string, number> }> {
    const progress = opts.progress ?? stderrProgress;
    // PS_TEST_SKIP_VAULT=1: a developer's inner loop while Vault (the longest build) is not cached yet; tests that
    // need Vault then fail on connection refused. CI never sets it.
    const skipVault = process.env.PS_TEST_SKIP_VAULT === "1";
    const [etcdBuild, kubeBuild, vaultBuild] = await ensureAll(skipVault ? [etcdSpec(), kubernetesSpec()] : [etcdSpec(), kubernetesSpec(), vaultSpec()], { progress });
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
    const pending: Promise<unknown>[] = [];
    const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        // The controller-manager before the apiserver before etcd, so none logs errors about the next one.
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
        apiServer = new ApiServer(kubeBuild!.paths["kube-apiserver"]!, root, pki, tls, etcd.clientUrl);
        await apiServer.start();
        timings.apiserver = since(t0);
        const server = apiServer.url;
        kcm = await startControllerManager(kubeBuild!.paths["kube-controller-manager"]!, root, pki, server);
        await waitControllerManagerReady(server, tls, kcm);
        timings.controllerManager = since(t0);

        const [vr, pr] = await settled;
        if (vr!.status === "rejected") throw vr!.reason;
        if (pr!.status === "rejected") throw pr!.reason;
        const vault = await vaultP;
        const pg = await pgP;

        const kubeconfigPath = path.join(root, "admin.kubeconfig");
        await fs.writeFile(kubeconfigPath, renderKubeconfig({ name: "platform-secrets-test", server, caPem: tls.ca, credentials: { kind: "clientCert", certPem: tls.cert, keyPem: tls.key } }), {
            mode: 0o600,
        });
        timings.total = since(t0);
        const api = apiServer;
        return {
            timings,
            kubeconfigPath,
            apiServerUrl: server,
            kubeConfig(): KubeConfig {
                const kc = new KubeConfig();
                kc.loadFromFile(kubeconfigPath);
                return kc;
            },
            vault: { addr: vault.addr, token: vault.token },
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
