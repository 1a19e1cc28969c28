import { execFile } from "node:child_process";

/**
 * kubeconfig exec credential plugins (client.authentication.k8s.io v1 / v1beta1): what EKS (`aws eks get-token`),
 * GKE (`gke-gcloud-auth-plugin`) and AKS (`kubelogin`) kubeconfigs use. The plugin runs non-interactively; its
 * ExecCredential is cached until its expirationTimestamp (or, without one, until the apiserver answers 401).
 */
export interface ExecConfig {
    apiVersion: string;
    command: string;
    args: string[];
    env: { name: string; value: string }[];
    /** Directory relative commands resolve against: the kubeconfig's (kubectl's rule). */
    cwd: string;
    /** provideClusterInfo: the cluster's server and CA go to the plugin in KUBERNETES_EXEC_INFO. */
    cluster?: { server: string; "certificate-authority-data"?: string };
}

export interface ExecCredential {
    token?: string;
    cert?: Buffer;
    key?: Buffer;
    /** Epoch ms; undefined: valid until rejected. */
    expiresAt?: number;
}

const SUPPORTED = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

/** Parses a plugin's stdout (pure). Throws naming the command and what is wrong; never echoes the output. */
export function parseExecCredential(stdout: string, cfg: Pick<ExecConfig, "apiVersion" | "command">): ExecCredential {
    let doc: { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> };
    try {
        doc = JSON.parse(stdout);
    } catch {
        throw new Error(`kubeconfig exec plugin ${cfg.command}: its output is not JSON (an ExecCredential was expected)`);
    }
    if (doc?.kind !== "ExecCredential") throw new Error(`kubeconfig exec plugin ${cfg.command}: its output is not an ExecCredential`);
    if (doc.apiVersion !== cfg.apiVersion) throw new Error(`kubeconfig exec plugin ${cfg.command}: answered ${String(doc.apiVersion)}, the kubeconfig asked for ${cfg.apiVersion}`);
    const s = doc.status ?? {};
    const expiresAt = typeof s.expirationTimestamp === "string" ? Date.parse(s.expirationTimestamp) : undefined;
    const cred: ExecCredential = { ...(Number.isFinite(expiresAt) ? { expiresAt } : {}) };
    if (typeof s.token === "string" && s.token) cred.token = s.token;
    if (typeof s.clientCertificateData === "string" && typeof s.clientKeyData === "string") {
        cred.cert = Buffer.from(s.clientCertificateData);
        cred.key = Buffer.from(s.clientKeyData);
    }
    if (!cred.token && !cred.cert) throw new Error(`kubeconfig exec plugin ${cfg.command}: the ExecCredential has neither status.token nor clientCertificateData + clientKeyData`);
    return cred;
}

/** Runs the plugin (no shell, no stdin: never interactive) and returns its credential. */
export function runExecPlugin(cfg: ExecConfig, timeoutMs = 60_000): Promise<ExecCredential> {
    if (!SUPPORTED.includes(cfg.apiVersion)) {
        return Promise.reject(new Error(`kubeconfig exec plugin ${cfg.command}: apiVersion ${cfg.apiVersion} is not supported; use client.authentication.k8s.io/v1 or v1beta1`));
    }
    const info = { apiVersion: cfg.apiVersion, kind: "ExecCredential", spec: { interactive: false, ...(cfg.cluster ? { cluster: { server: cfg.cluster.server, ...(cfg.cluster["certificate-authority-data"] ? { "certificate-authority-data": cfg.cluster["certificate-authority-data"] } : {}) } } : {}) } };
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const e of cfg.env) env[e.name] = e.value;
    return new Promise((resolve, reject) => {
        const child = execFile(cfg.command, cfg.args, { env, cwd: cfg.cwd, timeout: timeoutMs, maxBuffer: 1 << 20, windowsHide: true }, (err, stdout, stderr) => {
            if (err) {
                // The first line of stderr says what the plugin wants (a login, a missing binary); no stdout (it may hold a token).
                const why = String(stderr ?? "").split("\n").find((l) => l.trim()) ?? (err as Error).message.split("\n")[0];
                const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
                reject(new Error(`kubeconfig exec plugin ${cfg.command} ${missing ? "not found on PATH; install it or fix users[].user.exec.command" : `failed: ${why.slice(0, 200)}`}`));
                return;
            }
            try {
                resolve(parseExecCredential(String(stdout), cfg));
            } catch (e) {
                reject(e);
            }
        });
        child.stdin?.end();
    });
}
