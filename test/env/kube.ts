import { promises as fs } from "node:fs";
import * as path from "node:path";
import { request, waitUntil } from "./http";
import { renderKubeconfig } from "./kubeconfig";
import { Pki } from "./pki";
import { freePort, isAddressInUse } from "./ports";
import { ManagedProcess } from "./process";

/** PEM contents of the admin identity, for readiness probes and raw API calls. */
export interface AdminTls {
    ca: string;
    cert: string;
    key: string;
}

export async function loadAdminTls(pki: Pki): Promise<AdminTls> {
    const [ca, cert, key] = await Promise.all([pki.caCert, pki.adminCert, pki.adminKey].map((f) => fs.readFile(f, "utf8")));
    return { ca: ca!, cert: cert!, key: key! };
}

export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

export function apiServerArgs(pki: Pki, etcdUrl: string, port: number, certDir: string): string[] {
    return [
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        `--etcd-servers=${etcdUrl}`,
        `--tls-cert-file=${pki.serverCert}`,
        `--tls-private-key-file=${pki.serverKey}`,
        `--client-ca-file=${pki.caCert}`,
        "--authorization-mode=Node,RBAC",
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${pki.saPublicKey}`,
        `--service-account-signing-key-file=${pki.saPrivateKey}`,
        // Without a node, a config value only; with one (node.ts), Pods dial the `kubernetes` Service's ClusterIP
        // (10.0.0.1, in the serving certificate), which the node's network namespace serves (node-net.ts).
        "--service-cluster-ip-range=10.0.0.0/24",
        // The default reconciler would publish 127.0.0.1 as the kubernetes Service endpoint, which validation
        // rejects (loopback), and log that error forever.
        "--endpoint-reconciler-type=none",
        "--profiling=false",
        "--v=1",
    ];
}

export function controllerManagerArgs(pki: Pki, kubeconfig: string, port: number, certDir: string): string[] {
    return [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        `--service-account-private-key-file=${pki.saPrivateKey}`,
        `--root-ca-file=${pki.caCert}`,
        "--use-service-account-credentials=true",
        // serviceaccount (default SAs), namespace lifecycle and garbage collector are among them.
        "--controllers=*",
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        "--profiling=false",
        "--v=1",
    ];
}

/** The kube-apiserver of one environment; restartable on the same port and etcd. */
export class ApiServer {
    process: ManagedProcess | undefined;
    port = 0;

    constructor(
        private readonly bin: string,
        private readonly dir: string,
        private readonly pki: Pki,
        private readonly tls: AdminTls,
        private readonly etcdUrl: string,
        /** Added to apiServerArgs (the node's egress selector and kubelet client certificate: node.ts). */
        private readonly extraArgs: string[] = [],
    ) {}

    get url(): string {
        return `https://127.0.0.1:${this.port}`;
    }

    /** Spawns the process without waiting; `start()` and `restart()` wait for /readyz. */
    private spawn(): void {
        const certDir = path.join(this.dir, "apiserver-certs");
        this.process = new ManagedProcess("kube-apiserver", this.bin, [...apiServerArgs(this.pki, this.etcdUrl, this.port, certDir), ...this.extraArgs], path.join(this.dir, "kube-apiserver.log"));
    }

    async waitReady(timeoutMs = 60_000): Promise<void> {
        const proc = this.process;
        if (!proc) throw new Error("kube-apiserver was never started");
        await waitUntil(
            `kube-apiserver ${this.url}`,
            async () => (await request(`${this.url}/readyz`, { ...this.tls, timeoutMs: 2000 })).status === 200,
            { timeoutMs, everyMs: 100, alive: () => proc.assertRunning() },
        );
    }

    /** Starts on a fresh random port, retrying when the port was taken in the meantime. */
    async start(attempts = 3): Promise<void> {
        for (let i = 1; ; i++) {
            this.port = await freePort();
            this.spawn();
            try {
                await this.waitReady();
                return;
            } catch (e) {
                await this.process?.stop(2000);
                const msg = e instanceof Error ? e.message : String(e);
                if (i >= attempts || !isAddressInUse(msg)) throw e;
            }
        }
    }

    async stop(): Promise<void> {
        await this.process?.stop();
    }

    async restart(downMs = 0): Promise<void> {
        await this.stop();
        if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
        this.spawn();
        await this.waitReady();
    }
}

export async function writeControllerManagerKubeconfig(pki: Pki, server: string, file: string): Promise<void> {
    const [ca, cert, key] = await Promise.all([pki.caCert, pki.controllerManagerCert, pki.controllerManagerKey].map((f) => fs.readFile(f, "utf8")));
    const text = renderKubeconfig({ name: "kube-controller-manager", server, caPem: ca!, credentials: { kind: "clientCert", certPem: cert!, keyPem: key! } });
    await fs.writeFile(file, text, { mode: 0o600 });
}

export async function startControllerManager(bin: string, dir: string, pki: Pki, server: string): Promise<ManagedProcess> {
    const kubeconfig = path.join(dir, "controller-manager.kubeconfig");
    await writeControllerManagerKubeconfig(pki, server, kubeconfig);
    const port = await freePort();
    const certDir = path.join(dir, "controller-manager-certs");
    return new ManagedProcess("kube-controller-manager", bin, controllerManagerArgs(pki, kubeconfig, port, certDir), path.join(dir, "kube-controller-manager.log"));
}

/** The serviceaccount controller creating default/default proves the controller-manager runs and is authorized. */
export async function waitControllerManagerReady(server: string, tls: AdminTls, proc: ManagedProcess, timeoutMs = 60_000): Promise<void> {
    await waitUntil(
        "kube-controller-manager (default/default ServiceAccount)",
        async () => (await request(`${server}/api/v1/namespaces/default/serviceaccounts/default`, { ...tls, timeoutMs: 2000 })).status === 200,
        { timeoutMs, everyMs: 100, alive: () => proc.assertRunning() },
    );
}

/** A bearer token for namespace/serviceAccount from the TokenRequest API (admin credentials). */
export async function requestServiceAccountToken(server: string, tls: AdminTls, namespace: string, serviceAccount: string, expirationSeconds = 3600): Promise<string> {
    const url = `${server}/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`;
    const body = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds } });
    const r = await request(url, { ...tls, method: "POST", body });
    if (r.status !== 201 && r.status !== 200) {
        // The body is a Status object (no token in it on failure).
        throw new Error(`TokenRequest for ServiceAccount ${namespace}/${serviceAccount} failed: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    }
    const token = (JSON.parse(r.body) as { status?: { token?: string } }).status?.token;
    if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${serviceAccount} returned no token`);
    return token;
}
