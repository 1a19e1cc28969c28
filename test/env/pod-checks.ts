import { createHash } from "node:crypto";
import { CoreV1Api, KubeConfig, V1Pod } from "@kubernetes/client-node";
import { vaultApi } from "./pod-install";
import { eventually } from "../support";

/**
 * Checks on the real node (the e2e suite reconciler-pods.test.ts and the main job's rotate command): what a platform engineer checks with
 * `kubectl get pods`, `kubectl logs` and `vault`.
 */

/** What ps-tiny `consume` prints for a value (node-image/main.go): never the value itself. */
export function consumeDigest(value: string): string {
    return `sha256:${createHash("sha256").update(value).digest("hex").slice(0, 16)}`;
}

export function isRunningReady(p: V1Pod): boolean {
    return p.status?.phase === "Running" && (p.status.containerStatuses ?? []).every((c) => c.ready) && !p.metadata?.deletionTimestamp;
}

export async function podsOf(kc: KubeConfig, namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector })).items;
}

/** A container's log, through the apiserver and the kubelet (what `kubectl logs` reads); "" while it has none. */
export async function podLog(kc: KubeConfig, namespace: string, name: string, container?: string): Promise<string> {
    return (await kc.makeApiClient(CoreV1Api).readNamespacedPodLog({ name, namespace, container }).catch(() => "")) ?? "";
}

/**
 * Waits until the only live Pod of `selector` runs and its log holds `line`; returns that Pod. The old Pods must be
 * gone (a restart replaces the process that read the old value, it does not add one).
 */
export async function waitForSolePodLogging(kc: KubeConfig, namespace: string, selector: string, line: string, ms: number, what: string): Promise<V1Pod> {
    return eventually(
        async () => {
            const pods = await podsOf(kc, namespace, selector);
            if (pods.length !== 1 || !isRunningReady(pods[0]!)) return undefined;
            return (await podLog(kc, namespace, pods[0]!.metadata!.name!)).includes(line) ? pods[0] : undefined;
        },
        ms,
        what,
        500,
    );
}

/** The current value of a KV v2 key (`<mount>/data/<path>`). */
export async function vaultValue(v: { addr: string; token: string }, p: string, key = "password"): Promise<string> {
    const r = await vaultApi(v, "GET", `secret/data/${p}`);
    const value = r?.data?.data?.[key];
    if (typeof value !== "string") throw new Error(`vault secret/${p} has no key ${key}`);
    return value;
}
