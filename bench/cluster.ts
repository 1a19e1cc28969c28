/**
 * Cluster content for the reconciler benchmark, created the way users, ESO and the Pulumi provider create it:
 * - N sources `src-<i>`: plain Opaque Secrets with NO label of ours (as `kubectl create secret` or ESO makes them);
 * - N derived `dst-<i>`: `deriveSecret(source, mirror recipe)` POSTed as is (what the DerivedSecret provider writes);
 * - U unrelated `u-<i>`: Opaque Secrets with ~1 KiB of data and foreign labels, nothing of ours;
 * - D Deployments `app-<d>` annotated `platform-secrets.io/restart-on: auto`, replicas 0, each consuming ONE secret
 *   through `env.valueFrom.secretKeyRef`: even d → `u-<d>` (an ordinary ESO-synced secret, the Reloader flow),
 *   odd d → `dst-<d>` (a derived secret: source rotation → derived rewritten → consumer rolled).
 */
import { randomBytes } from "node:crypto";
import { deriveSecret, Recipe, SecretLike } from "../derive";
import { KubeClient } from "../lib/kube";
import { ANNOTATION_RESTART_ON } from "../reconciler/keys";
import { b64, log, pool, retry } from "./lib";

export interface Sizes {
    sources: number;
    unrelated: number;
    deployments: number;
    /** Bytes of data in each unrelated secret. */
    unrelatedBytes: number;
    concurrency: number;
}

export const srcName = (i: number) => `src-${i}`;
export const dstName = (i: number) => `dst-${i}`;
export const unrelatedName = (i: number) => `u-${i}`;
export const appName = (d: number) => `app-${d}`;
/** Label on the bench's Deployments (the restart observer's selector). */
export const APP_LABEL = "bench.platform-secrets.io/app";

/** The secret Deployment `d` consumes (see the file comment), or undefined when the cluster has no such secret. */
export function consumedBy(d: number, s: Sizes): string | undefined {
    if (d % 2 === 0) return d < s.unrelated ? unrelatedName(d) : d < s.sources ? dstName(d) : undefined;
    return d < s.sources ? dstName(d) : d < s.unrelated ? unrelatedName(d) : undefined;
}

export const mirrorRecipe = (ns: string, i: number): Recipe => ({ format: "mirror", source: { namespace: ns, name: srcName(i) }, target: { namespace: ns, name: dstName(i) }, options: {} });

export interface SetupTimes {
    namespace: string;
    sourcesMs: number;
    unrelatedMs: number;
    deploymentsMs: number;
    totalMs: number;
    objects: number;
}

function progress(what: string, total: number): (n: number) => void {
    const step = Math.max(1, Math.round(total / 10));
    const t0 = performance.now();
    return (n) => {
        if (n % step === 0 || n === total) log(`  ${what}: ${n}/${total} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    };
}

function unrelatedSecret(ns: string, i: number, bytes: number): unknown {
    // Realistic-looking foreign content: an app config blob plus credentials, labels of other tools.
    const blob = randomBytes(Math.max(0, bytes - 48));
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: unrelatedName(i), namespace: ns, labels: { "app.kubernetes.io/name": `svc-${i % 97}`, "app.kubernetes.io/managed-by": i % 3 === 0 ? "external-secrets" : "Helm" }, annotations: { "meta.helm.sh/release-name": `rel-${i % 53}` } },
        type: "Opaque",
        data: { username: b64(`user-${i}`), password: b64(randomBytes(18).toString("base64url")), "config.bin": b64(blob) },
    };
}

function deployment(ns: string, d: number, secret: string): unknown {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: appName(d), namespace: ns, labels: { [APP_LABEL]: "true" }, annotations: { [ANNOTATION_RESTART_ON]: "auto" } },
        spec: {
            // replicas 0: the reconciler only reads the pod template; no scheduler/kubelet runs here anyway.
            replicas: 0,
            selector: { matchLabels: { app: appName(d) } },
            template: {
                metadata: { labels: { app: appName(d) } },
                spec: { containers: [{ name: "app", image: "registry.invalid/app:1", env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: secret, key: "password" } } }] }] },
            },
        },
    };
}

/** Creates the namespace and every object, in parallel with bounded concurrency; returns the time of each part. */
/** `namespaceExists`: the namespace is already there (e2e: the stack binds the reconciler's Role in it before). */
export async function createClusterContent(client: KubeClient, ns: string, s: Sizes, o: { namespaceExists?: boolean } = {}): Promise<SetupTimes> {
    const t0 = performance.now();
    if (!o.namespaceExists) await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } });
    const path = `/api/v1/namespaces/${ns}/secrets`;

    log(`creating ${s.sources} sources (no label of ours) + ${s.sources} derived (deriveSecret + POST), concurrency ${s.concurrency}`);
    let done = 0;
    let report = progress("sources+derived", s.sources);
    const ts = performance.now();
    await pool([...Array(s.sources).keys()], s.concurrency, async (i) => {
        const src = { apiVersion: "v1", kind: "Secret", metadata: { name: srcName(i), namespace: ns }, type: "Opaque", data: { username: b64(`svc-${i}`), password: b64(`v0-${i}`) } };
        const created = await retry(() => client.request<SecretLike>("POST", path, { body: src }));
        const desired = deriveSecret(created, mirrorRecipe(ns, i));
        await retry(() => client.request("POST", path, { body: { apiVersion: "v1", kind: "Secret", ...desired } }));
        report(++done);
    });
    const sourcesMs = performance.now() - ts;

    log(`creating ${s.unrelated} unrelated secrets (~${s.unrelatedBytes} B of data each)`);
    done = 0;
    report = progress("unrelated", s.unrelated);
    const tu = performance.now();
    await pool([...Array(s.unrelated).keys()], s.concurrency, async (i) => {
        await retry(() => client.request("POST", path, { body: unrelatedSecret(ns, i, s.unrelatedBytes) }));
        report(++done);
    });
    const unrelatedMs = performance.now() - tu;

    log(`creating ${s.deployments} Deployments (restart-on: auto)`);
    done = 0;
    report = progress("deployments", s.deployments);
    const td = performance.now();
    await pool([...Array(s.deployments).keys()], s.concurrency, async (d) => {
        const secret = consumedBy(d, s);
        if (!secret) throw new Error(`deployment ${d}: no secret to consume; use --deployments <= max(--sources, --unrelated)`);
        await retry(() => client.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment(ns, d, secret) }));
        report(++done);
    });
    const deploymentsMs = performance.now() - td;
    return { namespace: ns, sourcesMs, unrelatedMs, deploymentsMs, totalMs: performance.now() - t0, objects: 2 * s.sources + s.unrelated + s.deployments };
}

/** Replaces a secret's `password` (GET outside the timing, then PUT); resolves with the moment the PUT was sent. */
export async function putPassword(client: KubeClient, ns: string, name: string, value: string): Promise<number> {
    const s = await client.request<{ data?: Record<string, string> }>("GET", `/api/v1/namespaces/${ns}/secrets/${name}`);
    s.data = { ...(s.data ?? {}), password: b64(value) };
    const t = performance.now();
    await client.request("PUT", `/api/v1/namespaces/${ns}/secrets/${name}`, { body: s });
    return t;
}
