import { AppsV1Api, CoreV1Api, KubeConfig, V1EnvVar } from "@kubernetes/client-node";
import { promises as fs } from "node:fs";
import { hostname } from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import * as YAML from "yaml";
import { parsePolicy, POLICY_CONFIGMAP_NAME, POLICY_KEY, ReconcilerPolicy } from "../../reconciler/trust/policy";
import { alterRolePassword } from "../../reconciler/hooks/postgres";
import { LABEL_INSTANCE } from "../../reconciler/trust/claims";
import { ROOT } from "./engine";
import type { TestEnv } from "./env";
import { request } from "./http";
import { freePort } from "./ports";
import { ManagedProcess } from "./process";

/**
 * The reconciler of the `local` stack, run as a local process the way the stack deployed it: the env of the
 * Deployment the stack created (policy ConfigMap, lease, debounce, Vault login method), the token of the
 * ServiceAccount the stack created (so the stack's RBAC is what it may do), and a Vault token whose policy reads
 * exactly the stack output `reconcilerVaultReadPaths`. What an operator and the kubelet would do is done here:
 * the Vault policy and token (operator; stored in the Secret the Deployment mounts), the token files (kubelet:
 * ServiceAccount token re-issued before expiry, Vault token from that Secret), and the database role of each
 * postgres hook, created with the password currently in Vault (the database owner's bootstrap).
 */
export const RECONCILER_CONTAINER = "reconciler";
/** Age at which the ServiceAccount token file is re-issued (tokens are issued for 1 h; the kubelet renews at 80 %). */
const SA_TOKEN_RENEW_MS = 40 * 60_000;

type Obj = Record<string, any>;

export interface StackReconcilerOptions {
    /** The reconciler's namespace and Deployment name, as the stack created them. */
    namespace: string;
    deployment: string;
    /** Vault paths (`<mount>/<path>`) the reconciler may read: the stack output `reconcilerVaultReadPaths`. */
    vaultReadPaths: string[];
    /** Each reconciler log line (JSON, as the process writes it). */
    onLine?: (line: string) => void;
    /** Identity (POD_NAME); default sandbox-<host>-<pid>. */
    identity?: string;
    /** LOG_LEVEL, as an operator would set it on the Deployment to look closer; default the Deployment's. */
    logLevel?: string;
}

export interface StackReconciler {
    pid: number;
    metricsUrl: string;
    logFile: string;
    serviceAccount: string;
    vaultPolicy: string | undefined;
    lines: string[];
    stop(): Promise<void>;
}

/** The Vault policy text: read on data/ and metadata/ (the current version number) of each path, nothing else. */
export function vaultReadPolicy(paths: string[]): string {
    return paths
        .flatMap((p) => {
            const [mount, ...rest] = p.split("/");
            const sub = rest.join("/");
            return [`path "${mount}/data/${sub}" {\n  capabilities = ["read"]\n}`, `path "${mount}/metadata/${sub}" {\n  capabilities = ["read"]\n}`];
        })
        .join("\n");
}

async function vault(addr: string, token: string, method: string, p: string, body?: unknown): Promise<Obj | undefined> {
    const res = await request(`${addr}/v1/${p}`, { method, headers: { "x-vault-token": token, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`vault ${method} ${p}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    return res.body ? (JSON.parse(res.body) as Obj) : undefined;
}

/** Operator: a Vault policy for the read paths and a token limited to it (no default policy). */
export async function createReconcilerVaultToken(v: { addr: string; token: string }, name: string, paths: string[]): Promise<string> {
    await vault(v.addr, v.token, "PUT", `sys/policies/acl/${name}`, { policy: vaultReadPolicy(paths) });
    const r = await vault(v.addr, v.token, "POST", "auth/token/create", { policies: [name], no_default_policy: true, ttl: "768h", display_name: name });
    return r!.auth.client_token as string;
}

/**
 * The administrator policy the stack rendered into the reconciler's namespace: the ConfigMap carrying the stack's
 * instance label (its name derives from the instance), else the single-instance default name.
 */
export async function readStackPolicy(kc: KubeConfig, namespace: string): Promise<ReconcilerPolicy> {
    const core = kc.makeApiClient(CoreV1Api);
    const labelled = (await core.listNamespacedConfigMap({ namespace, labelSelector: LABEL_INSTANCE })).items[0];
    const cm = labelled ?? (await core.readNamespacedConfigMap({ name: POLICY_CONFIGMAP_NAME, namespace }));
    return parsePolicy(cm.data?.[POLICY_KEY] ?? "", `${namespace}/${cm.metadata?.name}`);
}

/**
 * Database owner's bootstrap: each postgres hook's role exists and logs in with the password currently in Vault
 * (the value ESO delivers), so the first rotation finds the previous version working. Set through a SCRAM verifier
 * (the reconciler's own helper), never the plaintext in SQL.
 */
export async function bootstrapHookRoles(env: Pick<TestEnv, "vault" | "postgres">, policy: ReconcilerPolicy): Promise<string[]> {
    const roles: string[] = [];
    for (const b of policy.hooks) {
        for (const h of b.hooks) {
            if (h.type !== "postgres" || !h.vault) continue;
            const r = await vault(env.vault.addr, env.vault.token, "GET", `${h.vault.mount ?? "secret"}/data/${h.vault.path}`);
            const pw = r?.data?.data?.[h.vault.key ?? h.passwordKey ?? "password"] as string | undefined;
            if (!pw) throw new Error(`bootstrap of role ${h.user}: no value at ${h.vault.mount}/${h.vault.path}`);
            const c = new Client({ connectionString: env.postgres.url });
            await c.connect();
            try {
                const exists = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [h.user]);
                if (exists.rowCount === 0) await c.query(`CREATE ROLE ${c.escapeIdentifier(h.user)} LOGIN`);
                await alterRolePassword(c, h.user, pw);
            } finally {
                await c.end();
            }
            roles.push(h.user);
        }
    }
    return roles;
}

function tokenOf(kubeconfigText: string): string {
    const doc = YAML.parse(kubeconfigText) as Obj;
    const t = doc.users?.[0]?.user?.token;
    if (typeof t !== "string") throw new Error("minted kubeconfig has no token");
    return t;
}

/** POD_NAME/POD_NAMESPACE from the downward API, the Vault token path from the mount; everything else as deployed. */
export function processEnv(deployEnv: V1EnvVar[], resolve: { podName: string; podNamespace: string; vaultTokenFile: string; metricsPort: number }): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of deployEnv) {
        if (e.value !== undefined) out[e.name] = e.value;
        // No value and no source is Kubernetes' empty string (the apiserver drops `value: ""` when it returns it).
        else if (e.valueFrom === undefined) out[e.name] = "";
        else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") out[e.name] = resolve.podName;
        else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") out[e.name] = resolve.podNamespace;
        else throw new Error(`the reconciler Deployment's env ${e.name} has a source the sandbox cannot resolve: ${JSON.stringify(e.valueFrom)}`);
    }
    if (out.VAULT_TOKEN_FILE !== undefined) out.VAULT_TOKEN_FILE = resolve.vaultTokenFile;
    // A local process: metrics on loopback, on a free port.
    out.RECONCILER_METRICS_PORT = String(resolve.metricsPort);
    out.RECONCILER_METRICS_HOST = "127.0.0.1";
    return out;
}

async function waitReady(url: string, proc: ManagedProcess, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
        proc.assertRunning();
        const r = await request(url, { timeoutMs: 2000 }).catch(() => undefined);
        if (r?.status === 200) return;
        if (Date.now() > deadline) throw new Error(`the reconciler was not ready after ${ms} ms (${url}: ${r ? `HTTP ${r.status} ${r.body}` : "no answer"}); log:\n${proc.logTail()}`);
        await new Promise((res) => setTimeout(res, 250));
    }
}

/**
 * Starts reconciler/main.ts as the stack deployed it (see the file comment). Its files (kubeconfig with a token
 * file, the token files, the log) live in the environment's own temp dir, so the environment's teardown removes
 * them and a later start's sweep finds the process by its argv should this owner be SIGKILLed.
 */
export async function startStackReconciler(env: Pick<TestEnv, "kubeConfig" | "vault" | "postgres" | "mintServiceAccountKubeconfig">, opts: StackReconcilerOptions): Promise<StackReconciler> {
    const kc = env.kubeConfig();
    const dep = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: opts.deployment, namespace: opts.namespace });
    const pod = dep.spec!.template.spec!;
    const container = pod.containers.find((c) => c.name === RECONCILER_CONTAINER) ?? pod.containers[0];
    const sa = pod.serviceAccountName!;

    // Kubelet: the ServiceAccount's token as a file, re-issued before it expires (the reconciler re-reads it).
    const minted = await env.mintServiceAccountKubeconfig(opts.namespace, sa);
    const dir = path.dirname(minted);
    const base = path.join(dir, `reconciler-${opts.namespace}-${sa}`);
    const saTokenFile = `${base}.sa-token`;
    const kubeconfigFile = `${base}.kubeconfig`;
    const mintedText = await fs.readFile(minted, "utf8");
    await fs.writeFile(saTokenFile, tokenOf(mintedText), { mode: 0o600 });
    await fs.rm(minted, { force: true });
    const doc = YAML.parse(mintedText) as Obj;
    doc.users[0].user = { tokenFile: saTokenFile };
    await fs.writeFile(kubeconfigFile, YAML.stringify(doc), { mode: 0o600 });
    // Operator + kubelet: a Vault token limited to the read paths, in the Secret the Deployment mounts, as a file.
    const vaultTokenFile = `${base}.vault-token`;
    let vaultPolicy: string | undefined;
    const vaultVolume = (pod.volumes ?? []).find((v) => v.name === "vault-token")?.secret?.secretName;
    const deployEnv = container.env ?? [];
    if (deployEnv.some((e) => e.name === "VAULT_TOKEN_FILE")) {
        if (!vaultVolume) throw new Error(`the reconciler Deployment ${opts.namespace}/${opts.deployment} sets VAULT_TOKEN_FILE but mounts no vault-token Secret`);
        vaultPolicy = `${opts.namespace}-${opts.deployment}`;
        const token = await createReconcilerVaultToken(env.vault, vaultPolicy, opts.vaultReadPaths);
        const admin = kc.makeApiClient(CoreV1Api);
        await admin.deleteNamespacedSecret({ name: vaultVolume, namespace: opts.namespace }).catch(() => undefined);
        await admin.createNamespacedSecret({ namespace: opts.namespace, body: { metadata: { name: vaultVolume, namespace: opts.namespace }, stringData: { token } } });
        await fs.writeFile(vaultTokenFile, token, { mode: 0o600 });
    }

    // Like the kubelet: re-issue before expiry, and at once when the ServiceAccount was recreated (a `pulumi
    // destroy` + `up` from the runner gives it a new uid, which invalidates the old token).
    const core = kc.makeApiClient(CoreV1Api);
    const saUid = async (): Promise<string | undefined> => (await core.readNamespacedServiceAccount({ name: sa, namespace: opts.namespace }).catch(() => undefined))?.metadata?.uid;
    let uid = await saUid();
    let issuedAt = Date.now();
    let renewing = false;
    const renew = setInterval(() => {
        if (renewing) return;
        renewing = true;
        void (async () => {
            const now = await saUid();
            if (now === undefined || (now === uid && Date.now() - issuedAt < SA_TOKEN_RENEW_MS)) return;
            const f = await env.mintServiceAccountKubeconfig(opts.namespace, sa);
            await fs.writeFile(`${saTokenFile}.tmp`, tokenOf(await fs.readFile(f, "utf8")), { mode: 0o600 });
            await fs.rename(`${saTokenFile}.tmp`, saTokenFile);
            await fs.rm(f, { force: true });
            uid = now;
            issuedAt = Date.now();
            // The mounted Secret went with the namespace: put the same token back, as the operator would.
            if (vaultVolume && vaultPolicy) {
                const token = await fs.readFile(vaultTokenFile, "utf8");
                await core.createNamespacedSecret({ namespace: opts.namespace, body: { metadata: { name: vaultVolume, namespace: opts.namespace }, stringData: { token } } }).catch(() => undefined);
            }
        })()
            .catch(() => undefined)
            .finally(() => (renewing = false));
    }, 30_000);
    renew.unref();

    const port = await freePort();
    const identity = opts.identity ?? `sandbox-${hostname()}-${process.pid}`;
    const childEnv = {
        // Nothing of ours leaks in (no VAULT_TOKEN, no admin KUBECONFIG): only what the pod would have.
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"),
        ...processEnv(deployEnv, { podName: identity, podNamespace: opts.namespace, vaultTokenFile, metricsPort: port }),
        ...(opts.logLevel ? { LOG_LEVEL: opts.logLevel } : {}),
    };
    const logFile = `${base}.log`;
    const proc = new ManagedProcess(
        "reconciler",
        process.execPath,
        ["-r", path.join(ROOT, "node_modules/ts-node/register/transpile-only"), path.join(ROOT, "reconciler/main.ts"), `--kubeconfig=${kubeconfigFile}`],
        logFile,
        { env: childEnv, cwd: ROOT },
    );
    const lines: string[] = [];
    let partial = "";
    proc.child.stdout?.on("data", (d: Buffer) => {
        const parts = (partial + d.toString()).split("\n");
        partial = parts.pop() ?? "";
        for (const l of parts) {
            if (!l) continue;
            lines.push(l);
            opts.onLine?.(l);
        }
    });
    const stop = async (): Promise<void> => {
        clearInterval(renew);
        await proc.stop(10_000);
    };
    try {
        await waitReady(`http://127.0.0.1:${port}/readyz`, proc, 120_000);
    } catch (e) {
        await stop();
        throw e;
    }
    return { pid: proc.pid!, metricsUrl: `http://127.0.0.1:${port}/metrics`, logFile, serviceAccount: `${opts.namespace}/${sa}`, vaultPolicy, lines, stop };
}
