/**
 * The Kubernetes half of the test environment (test/env): etcd, kube-apiserver and kube-controller-manager on
 * random loopback ports, from the same cached binaries and the same building blocks as `startTestEnv()`. The
 * benchmark needs neither Vault nor PostgreSQL: not starting them keeps their CPU and memory out of the figures
 * (and the bench does not wait for a Vault build).
 */
import { mkdtempSync, promises as fs, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ApiServer, createPki, ENV_DIR_PREFIX, ensureAll, etcdSpec, kubernetesSpec, loadAdminTls, ManagedProcess, onProcessExit, renderKubeconfig, startControllerManager, startEtcd, stderrProgress, sweepStale, waitControllerManagerReady, writeOwner } from "../test/env";

export interface KubeEnv {
    kubeconfigPath: string;
    stop(): Promise<void>;
}

export async function startKubeEnv(): Promise<KubeEnv> {
    const [etcdBuild, kubeBuild] = await ensureAll([etcdSpec(), kubernetesSpec()], { progress: stderrProgress });
    await sweepStale();
    const root = mkdtempSync(path.join(tmpdir(), ENV_DIR_PREFIX));
    await writeOwner(root);
    const unregister = onProcessExit(() => rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
    let etcd: ManagedProcess | undefined;
    let apiServer: ApiServer | undefined;
    let kcm: ManagedProcess | undefined;
    let stopped = false;
    const stop = async () => {
        if (stopped) return;
        stopped = true;
        await kcm?.stop();
        await apiServer?.stop();
        await etcd?.stop();
        await fs.rm(root, { recursive: true, force: true });
        unregister();
    };
    try {
        const pki = await createPki(root);
        const tls = await loadAdminTls(pki);
        const e = await startEtcd(etcdBuild!.paths.etcd!, root);
        etcd = e.process;
        apiServer = new ApiServer(kubeBuild!.paths["kube-apiserver"]!, root, pki, tls, e.clientUrl);
        await apiServer.start();
        kcm = await startControllerManager(kubeBuild!.paths["kube-controller-manager"]!, root, pki, apiServer.url);
        await waitControllerManagerReady(apiServer.url, tls, kcm);
        const kubeconfigPath = path.join(root, "admin.kubeconfig");
        const text = renderKubeconfig({ name: "platform-secrets-bench", server: apiServer.url, caPem: tls.ca, credentials: { kind: "clientCert", certPem: tls.cert, keyPem: tls.key } });
        await fs.writeFile(kubeconfigPath, text, { mode: 0o600 });
        return { kubeconfigPath, stop };
    } catch (err) {
        await stop().catch(() => undefined);
        throw err;
    }
}
