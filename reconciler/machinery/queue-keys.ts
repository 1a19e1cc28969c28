/**
 * The work queue's key grammar: "ns/name" is a Secret, "<kind>:ns/name" a workload. Every key names exactly one
 * object, so a reconcile can start from the current state of that object alone.
 */
/** The apps/v1 workloads, served by every cluster. */
export type AppsWorkloadKind = "deployments" | "statefulsets" | "daemonsets";
/** Argo Rollouts' Rollout (argoproj.io/v1alpha1, a CRD): watched only where the cluster serves it. */
export type WorkloadKind = AppsWorkloadKind | "rollouts";
export const WORKLOAD_KINDS: readonly AppsWorkloadKind[] = ["deployments", "statefulsets", "daemonsets"];
export const ALL_WORKLOAD_KINDS: readonly WorkloadKind[] = [...WORKLOAD_KINDS, "rollouts"];

/** The API group path of a workload kind. */
export function workloadApi(kind: WorkloadKind): string {
    return kind === "rollouts" ? "/apis/argoproj.io/v1alpha1" : "/apis/apps/v1";
}

export function workloadKey(kind: WorkloadKind, namespace: string, name: string): string {
    return `${kind}:${namespace}/${name}`;
}

/** Splits a queue key: "ns/name" is a secret; "<kind>:ns/name" a workload. */
export function parseQueueKey(key: string): { kind: "secret"; namespace: string; name: string } | { kind: WorkloadKind; namespace: string; name: string } {
    const colon = key.indexOf(":");
    const kind = colon >= 0 ? key.slice(0, colon) : "secret";
    const rest = colon >= 0 ? key.slice(colon + 1) : key;
    const slash = rest.indexOf("/");
    if (slash <= 0 || slash === rest.length - 1) throw new Error(`invalid queue key "${key}": expected "ns/name" or "<kind>:ns/name"`);
    const namespace = rest.slice(0, slash);
    const name = rest.slice(slash + 1);
    if (kind === "secret") return { kind, namespace, name };
    if ((ALL_WORKLOAD_KINDS as readonly string[]).includes(kind)) return { kind: kind as WorkloadKind, namespace, name };
    throw new Error(`invalid queue key "${key}": unknown kind "${kind}"`);
}
