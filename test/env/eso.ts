import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { request, waitUntil } from "./http";
import { AdminTls } from "./kube";
import { freePort, retryOnAddressInUse } from "./ports";
import { ManagedProcess } from "./process";

/**
 * The REAL External Secrets Operator controller (eso-binary.ts builds it), run like the cluster's ESO: admin
 * credentials, all of its reconcilers (SecretStore, ClusterSecretStore, ExternalSecret, ClusterExternalSecret,
 * PushSecret, ClusterPushSecret, GeneratorState), the CRDs installed beforehand (eso-crds.ts).
 *
 * v0.16.2's root command has no --kubeconfig flag (controller-runtime's GetConfig reads KUBECONFIG), no health or
 * readiness endpoint (`healthzAddr` is only used by the `webhook` subcommand), and no webhook or certificate
 * machinery (those are the `webhook` and `certcontroller` subcommands; the controller registers no webhooks, so
 * its manager never binds the webhook port). Its only listener is the metrics server, given a free loopback port.
 */
export interface EsoController {
    process: ManagedProcess;
    kubeconfigPath: string;
    logPath: string;
    metricsUrl: string;
    /** Spawn to ready (see waitEsoReady), seconds. */
    readySeconds: number;
}

/** Requeue of healthy (Cluster)SecretStores: 5 min upstream; short so a store whose Vault auth broke shows it. */
export const ESO_STORE_REQUEUE = "10s";

export function esoArgs(metricsPort: number): string[] {
    return [
        `--metrics-addr=127.0.0.1:${metricsPort}`,
        "--enable-leader-election=false", // the default, spelled out: one replica, no Lease to wait for
        "--loglevel=info",
        "--zap-time-encoding=iso8601",
        // Upstream default 1 worker per reconciler; the stack renders dozens of ExternalSecrets at once.
        "--concurrent=4",
        `--store-requeue-interval=${ESO_STORE_REQUEUE}`,
    ];
}

/**
 * What the controller sees of our environment: KUBECONFIG, and none of the developer's Vault or AWS variables
 * (Vault's Go client reads VAULT_TOKEN/VAULT_ADDR from the environment, which would mask a broken store auth).
 */
export function esoEnv(kubeconfigPath: string, home: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(base)) if (!/^(VAULT_|AWS_|KUBECONFIG$|POD_NAMESPACE$)/.test(k)) env[k] = v;
    return { ...env, KUBECONFIG: kubeconfigPath, HOME: home };
}

export interface ApiAccess {
    server: string;
    tls: AdminTls;
}

async function api(a: ApiAccess, method: string, p: string, body?: unknown): Promise<{ status: number; json: any }> {
    const r = await request(`${a.server}${p}`, { ...a.tls, method, timeoutMs: 5000, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    let json: any;
    try {
        json = JSON.parse(r.body);
    } catch {
        json = undefined;
    }
    return { status: r.status, json };
}

function readyCondition(obj: any): { status?: string; message?: string } | undefined {
    return ((obj?.status?.conditions ?? []) as { type: string; status?: string; message?: string }[]).find((c) => c.type === "Ready");
}

/**
 * Ready = ESO did a full round trip: a throwaway ClusterSecretStore (fake provider) turns Ready and an
 * ExternalSecret reading it writes the expected value into a Secret in `default`. The metrics port answering
 * proves nothing (controller-runtime serves metrics before its informers sync, and a reconciler only starts its
 * workers once its caches are synced); this proves the store and ExternalSecret reconcilers are running, can
 * read their CRDs and can write Secrets. The objects are deleted afterwards, whatever happened.
 */
export async function waitEsoReady(a: ApiAccess, proc: ManagedProcess, timeoutMs = 90_000): Promise<void> {
    const name = `ps-eso-ready-${randomBytes(4).toString("hex")}`;
    const value = randomBytes(8).toString("hex");
    const css = `/apis/external-secrets.io/v1/clustersecretstores/${name}`;
    const es = `/apis/external-secrets.io/v1/namespaces/default/externalsecrets/${name}`;
    const secret = `/api/v1/namespaces/default/secrets/${name}`;
    const labels = { "app.kubernetes.io/managed-by": "platform-secrets-test-env" };
    const deadline = Date.now() + timeoutMs;
    let last = "nothing reconciled yet";
    const wait = (what: string, check: () => Promise<boolean>): Promise<void> =>
        waitUntil(`external-secrets controller (${what})`, check, { timeoutMs: Math.max(deadline - Date.now(), 1000), everyMs: 100, alive: () => proc.assertRunning() }).catch((e: Error) => {
            throw new Error(`${e.message} (${last}); log ${proc.logFile}:\n${proc.logTail(15)}`);
        });
    const create = async (p: string, body: unknown): Promise<void> => {
        const r = await api(a, "POST", p, body);
        if (r.status !== 201) throw new Error(`creating ${p}/${name}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
    };
    try {
        await create("/apis/external-secrets.io/v1/clustersecretstores", {
            apiVersion: "external-secrets.io/v1",
            kind: "ClusterSecretStore",
            metadata: { name, labels },
            spec: { provider: { fake: { data: [{ key: "ready", value }] } } },
        });
        await wait("throwaway ClusterSecretStore Ready", async () => {
            const c = readyCondition((await api(a, "GET", css)).json);
            last = `ClusterSecretStore Ready=${c?.status ?? "?"} ${c?.message ?? ""}`;
            return c?.status === "True";
        });
        // Only now: an ExternalSecret reconciled before its store is Ready fails once and backs off for 1 s.
        await create("/apis/external-secrets.io/v1/namespaces/default/externalsecrets", {
            apiVersion: "external-secrets.io/v1",
            kind: "ExternalSecret",
            metadata: { name, namespace: "default", labels },
            spec: {
                refreshInterval: "0s",
                secretStoreRef: { kind: "ClusterSecretStore", name },
                target: { name, creationPolicy: "Owner" },
                data: [{ secretKey: "ready", remoteRef: { key: "ready" } }],
            },
        });
        await wait("throwaway ExternalSecret synced", async () => {
            const c = readyCondition((await api(a, "GET", es)).json);
            last = `ExternalSecret Ready=${c?.status ?? "?"} ${c?.message ?? ""}`;
            // Ready as well as the Secret: the reconcile is over (status written), so deleting it races nothing.
            if (c?.status !== "True") return false;
            const s = await api(a, "GET", secret);
            return s.status === 200 && s.json?.data?.ready === Buffer.from(value).toString("base64");
        });
    } finally {
        // The Secret is owned by the ExternalSecret (garbage-collected), deleted too so nothing waits on the GC.
        for (const p of [es, secret, css]) await api(a, "DELETE", p).catch(() => undefined);
    }
}

async function startOnce(bin: string, dir: string, kubeconfigPath: string, a: ApiAccess): Promise<EsoController> {
    const port = await freePort();
    const logPath = path.join(dir, "external-secrets.log");
    const t0 = Date.now();
    const proc = new ManagedProcess("external-secrets", bin, esoArgs(port), logPath, { env: esoEnv(kubeconfigPath, dir), cwd: dir });
    try {
        await waitEsoReady(a, proc);
    } catch (e) {
        await proc.stop(1000);
        throw e;
    }
    return { process: proc, kubeconfigPath, logPath, metricsUrl: `http://127.0.0.1:${port}/metrics`, readySeconds: Math.round((Date.now() - t0) / 100) / 10 };
}

/** Starts ESO with `kubeconfigPath` (admin credentials), retrying when its metrics port was taken meanwhile. */
export async function startEso(bin: string, dir: string, kubeconfigPath: string, a: ApiAccess, attempts = 3): Promise<EsoController> {
    return retryOnAddressInUse(() => startOnce(bin, dir, kubeconfigPath, a), attempts);
}

/** Resident set size of a process in KiB (VmRSS of /proc/<pid>/status), undefined when it is gone. */
export function rssKiB(pid: number): number | undefined {
    try {
        const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        return m ? Number(m[1]) : undefined;
    } catch {
        return undefined;
    }
}
