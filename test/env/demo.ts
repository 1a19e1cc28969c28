import { randomBytes } from "node:crypto";
import { deriveSecret, Recipe } from "../../derive";
import { Logger } from "../../lib/log";
import { Reconciler } from "../../reconciler/app";
import { ANNOTATION_STATUS } from "../../reconciler/keys";
import { isKubeError, KubeClient } from "../../reconciler/kube";
import type { TestEnv } from "./env";

/**
 * Sandbox demo: seed 000 (github-credentials fans out to a tekton-git secret) on the real local servers, kept in
 * sync by an in-process reconciler, so `npm run sandbox` shows the product working rather than bare servers.
 */
export const DEMO_NAMESPACE = "platform-secrets-demo";
export const DEMO_SOURCE = "github-credentials";
export const DEMO_TARGET = "github-credentials-tekton";

export interface DemoHandle {
    namespace: string;
    metricsUrl: string;
    reconciler: Reconciler;
    /** Stops the reconciler (the namespace stays; the env teardown removes everything). */
    stop(): Promise<void>;
}

export function demoRecipe(namespace: string): Recipe {
    return { format: "tekton-git", source: { namespace, name: DEMO_SOURCE }, target: { namespace, name: DEMO_TARGET }, options: { gitUrls: ["https://github.com"] } };
}

/** What a human types to see the demo. Contains no secret value: the rotation line prints a fresh random one. */
export function demoSummary(d: { namespace: string; metricsUrl: string; kubeconfigPath: string }): string {
    const ns = d.namespace;
    return [
        "",
        `Demo (seed 000) in namespace ${ns}, kept in sync by an in-process reconciler:`,
        `  created: Secret ${ns}/${DEMO_SOURCE} (kubernetes.io/basic-auth, throwaway username/password, no label of ours: as kubectl or ESO creates it)`,
        `  derived: Secret ${ns}/${DEMO_TARGET} (tekton-git for https://github.com), written and watched by the reconciler`,
        "",
        "Look at it:",
        `  export KUBECONFIG=${d.kubeconfigPath}`,
        `  kubectl -n ${ns} get secrets`,
        `  kubectl -n ${ns} get secret ${DEMO_TARGET} -o jsonpath='{.data.password}' | base64 -d; echo`,
        "",
        "Rotate the source password and watch the tekton secret follow:",
        `  kubectl -n ${ns} patch secret ${DEMO_SOURCE} -p "{\\"data\\":{\\"password\\":\\"$(head -c 12 /dev/urandom | base64 -w0 | base64 -w0)\\"}}"`,
        `  kubectl -n ${ns} get secret ${DEMO_SOURCE} ${DEMO_TARGET} -o 'custom-columns=NAME:.metadata.name,PASSWORD:.data.password,STATUS:.metadata.annotations.platform-secrets\\.io/status'`,
        "",
        `Reconciler metrics: curl -s ${d.metricsUrl} | grep platform_secrets`,
        "",
    ].join("\n");
}

async function waitFor<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
        const v = await check();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`demo: timed out after ${ms} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Creates the namespace, the source and the bootstrapped derived secret (what `pulumi up` would write), then starts the reconciler and waits until it reports the derived secret in sync. */
export async function seedDemo(env: Pick<TestEnv, "kubeConfig">, logger: Logger, opts: { namespace?: string } = {}): Promise<DemoHandle> {
    const ns = opts.namespace ?? DEMO_NAMESPACE;
    const client = await KubeClient.create(env.kubeConfig());
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    let reconciler: Reconciler | undefined;
    try {
        await client.request("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } }).catch((e) => {
            if (!isKubeError(e, 409)) throw e;
        });
        const source = await client.request("POST", `/api/v1/namespaces/${ns}/secrets`, {
            body: {
                apiVersion: "v1",
                kind: "Secret",
                metadata: { name: DEMO_SOURCE, namespace: ns },
                type: "kubernetes.io/basic-auth",
                data: { username: b64(`demo-${randomBytes(3).toString("hex")}`), password: b64(randomBytes(18).toString("base64url")) },
            },
        });
        const desired = deriveSecret(source, demoRecipe(ns));
        await client.request("POST", `/api/v1/namespaces/${ns}/secrets`, { body: { apiVersion: "v1", kind: "Secret", ...desired } });

        reconciler = new Reconciler({ client, logger, identity: `sandbox-${randomBytes(3).toString("hex")}`, namespaces: [ns], metricsPort: 0, metricsHost: "127.0.0.1", debounceMs: 300 });
        await reconciler.start();
        await reconciler.waitUntilReconciling();
        await waitFor(async () => {
            const t = await client.request("GET", `/api/v1/namespaces/${ns}/secrets/${DEMO_TARGET}`);
            return t?.metadata?.annotations?.[ANNOTATION_STATUS] === "in-sync" ? true : undefined;
        }, 30_000, `${ns}/${DEMO_TARGET} in sync`);
    } catch (e) {
        await reconciler?.stop().catch(() => undefined);
        client.close();
        throw e;
    }
    const r = reconciler;
    return {
        namespace: ns,
        metricsUrl: `http://127.0.0.1:${r.port}/metrics`,
        reconciler: r,
        stop: async () => {
            await r.stop();
            client.close();
        },
    };
}
