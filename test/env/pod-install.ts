import { PassThrough } from "node:stream";
import * as path from "node:path";
import { AppsV1Api, CoreV1Api, KubeConfig, Log, RbacAuthorizationV1Api, V1Container, V1Volume } from "@kubernetes/client-node";
import { Progress, stderrProgress } from "./build";
import type { TestEnv } from "./env";
import { request } from "./http";
import { buildImages, BuiltImages } from "./images";
import { NODE_IP } from "./node-net";
import { startTlsFront } from "./tls-front";

/**
 * The product installed as production installs it, on the environment's real node (issue 19): the images from THE
 * image build loaded into the node, Vault reachable from Pods over TLS with a private CA, PostgreSQL reachable from
 * Pods, and Vault's Kubernetes auth method set up exactly as docs/install.md §1 and §6 say. Used by the main job
 * (`npm run sandbox`, sandbox.ts) and the real-node e2e suite (test/e2e/reconciler-pods.test.ts).
 */
export interface PodInstall {
    images: BuiltImages;
    /** `https://<node address>:<port>`: Vault as Pods dial it. */
    vaultUrl: string;
    /** CA of that TLS listener (what `reconcilerVaultCaCert` carries). */
    vaultCaPem: string;
    /** PostgreSQL as Pods dial it. */
    postgres: { host: string; port: number };
    /** Vault's Kubernetes auth mount configured for this cluster. */
    authMount: string;
    stop(): Promise<void>;
}

type Vault = { addr: string; token: string };

export async function vaultApi(v: Vault, method: string, p: string, body?: unknown): Promise<any> {
    const r = await request(`${v.addr}/v1/${p}`, { method, headers: { "x-vault-token": v.token, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status >= 300) throw new Error(`vault ${method} ${p}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    return r.body ? JSON.parse(r.body) : undefined;
}

export const TOKEN_REVIEWER = { name: "vault-token-reviewer", namespace: "kube-system" };

/**
 * docs/install.md §1, "Vault's Kubernetes auth method": a reviewer ServiceAccount bound to system:auth-delegator, the
 * auth method enabled at `mount`, its config (apiserver URL, CA, reviewer token). Each command there is one call here.
 */
export async function enableKubernetesAuth(env: Pick<TestEnv, "kubeConfig" | "vault" | "apiServerUrl">, mount: string): Promise<void> {
    const kc = env.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: TOKEN_REVIEWER.namespace, body: { metadata: { name: TOKEN_REVIEWER.name } } }).catch((e: { code?: number }) => {
        if (e.code !== 409) throw e;
    });
    await kc
        .makeApiClient(RbacAuthorizationV1Api)
        .createClusterRoleBinding({
            body: {
                metadata: { name: TOKEN_REVIEWER.name },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
                subjects: [{ kind: "ServiceAccount", ...TOKEN_REVIEWER }],
            },
        })
        .catch((e: { code?: number }) => {
            if (e.code !== 409) throw e;
        });
    // `kubectl create token --duration`; the test apiserver caps the lifetime, which is plenty for one run.
    const reviewer = await core.createNamespacedServiceAccountToken({ ...TOKEN_REVIEWER, body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } } });
    await vaultApi(env.vault, "POST", `sys/auth/${mount}`, { type: "kubernetes" });
    await vaultApi(env.vault, "POST", `auth/${mount}/config`, {
        kubernetes_host: env.apiServerUrl,
        kubernetes_ca_cert: Buffer.from(kc.getCurrentCluster()!.caData!, "base64").toString("utf8"),
        token_reviewer_jwt: reviewer.status!.token,
    });
}

export interface VaultAccessOutputs {
    vaultPolicies: Record<string, { name: string; hcl: string }>;
    vaultKubernetesAuthRoles: Record<string, { mount: string; name: string; [field: string]: unknown }>;
}

/** docs/install.md §6: every policy and every role, exactly as the stack outputs give them. Returns what it wrote. */
export async function applyVaultAccess(v: Vault, out: VaultAccessOutputs): Promise<string[]> {
    const wrote: string[] = [];
    for (const pol of Object.values(out.vaultPolicies)) {
        await vaultApi(v, "PUT", `sys/policies/acl/${pol.name}`, { policy: pol.hcl });
        wrote.push(`policy ${pol.name}`);
    }
    for (const { mount, name, ...role } of Object.values(out.vaultKubernetesAuthRoles)) {
        await vaultApi(v, "POST", `auth/${mount}/role/${name}`, role);
        wrote.push(`role auth/${mount}/role/${name}`);
    }
    return wrote;
}

/** Images built and loaded, Vault (TLS) and PostgreSQL exposed to Pods, Kubernetes auth at `authMount`. */
export async function preparePodInstall(env: TestEnv, dir: string, o: { authMount?: string; progress?: Progress } = {}): Promise<PodInstall> {
    const node = env.node;
    if (!node) throw new Error("preparePodInstall needs the real node: startTestEnv({ node: true })");
    const progress = o.progress ?? stderrProgress;
    progress("building the images (THE image build: npm run images:build -- --base sandbox) and loading them into the node");
    const images = await buildImages({ base: "sandbox", progress });
    for (const i of Object.values(images)) {
        const names = await node.loadImage(i.archive);
        if (!names.includes(i.ref)) throw new Error(`loading ${i.archive} into the node gave ${names.join(", ")}, not ${i.ref}`);
    }
    const front = await startTlsFront(path.join(dir, "vault-tls"), Number(new URL(env.vault.addr).port), [NODE_IP]);
    try {
        const vaultAt = await node.exposeHostPort(front.port);
        const postgres = await node.exposeHostPort(env.postgres.port);
        const authMount = o.authMount ?? "kubernetes";
        await enableKubernetesAuth(env, authMount);
        return { images, vaultUrl: `https://${vaultAt.host}:${vaultAt.port}`, vaultCaPem: front.caPem, postgres, authMount, stop: () => front.stop() };
    } catch (e) {
        await front.stop();
        throw e;
    }
}

/**
 * A consumer as application teams write them, on ps-tiny `consume` (node-image/main.go): reads its password ONCE at
 * start, from env and from the mounted Secret, and logs a digest of each (never the value).
 */
export function consumerContainer(image: string, secret: string, key = "password", once = false): { container: V1Container; volume: V1Volume } {
    return {
        container: {
            name: "app",
            image,
            imagePullPolicy: "Never",
            args: ["consume", ...(once ? ["--once"] : []), "env:DB_PASSWORD", `file:/etc/db/${key}`],
            env: [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: secret, key } } }],
            volumeMounts: [{ name: "db", mountPath: "/etc/db", readOnly: true }],
            securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true },
        },
        volume: { name: "db", secret: { secretName: secret } },
    };
}

/** A Deployment following `secret` (restart-on: auto), one replica of the consumer above. */
export async function createConsumerDeployment(kc: KubeConfig, namespace: string, name: string, image: string, secret: string, key = "password"): Promise<void> {
    const c = consumerContainer(image, secret, key);
    const labels = { app: name };
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
        namespace,
        body: {
            metadata: { name, annotations: { "platform-secrets.io/restart-on": "auto" } },
            spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 5, containers: [c.container], volumes: [c.volume] } } },
        },
    });
}

/**
 * Follows the logs of every Pod matching `selector` (new ones as they appear, e.g. after a leader's Pod is
 * replaced), as `kubectl logs -f -l` does, line by line with the Pod's name.
 */
export function followPodLogs(kc: KubeConfig, namespace: string, selector: string, container: string, onLine: (pod: string, line: string) => void): { stop(): void } {
    const followed = new Map<string, AbortController>();
    const core = kc.makeApiClient(CoreV1Api);
    let stopped = false;
    const scan = async (): Promise<void> => {
        const pods = (await core.listNamespacedPod({ namespace, labelSelector: selector }).catch(() => ({ items: [] }))).items;
        for (const p of pods) {
            const name = p.metadata!.name!;
            if (followed.has(name) || p.status?.phase !== "Running") continue;
            const stream = new PassThrough();
            let buf = "";
            stream.on("data", (d: Buffer) => {
                buf += d.toString();
                let nl: number;
                while ((nl = buf.indexOf("\n")) >= 0) {
                    onLine(name, buf.slice(0, nl));
                    buf = buf.slice(nl + 1);
                }
            });
            const ctl = await new Log(kc).log(namespace, name, container, stream, { follow: true }).catch(() => undefined);
            if (ctl) followed.set(name, ctl);
        }
    };
    const timer = setInterval(() => void (stopped ? undefined : scan()), 2000);
    void scan();
    return {
        stop() {
            stopped = true;
            clearInterval(timer);
            for (const c of followed.values()) c.abort();
        },
    };
}
