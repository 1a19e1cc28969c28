/** A Kubernetes PolicyRule (rbac.authorization.k8s.io/v1). */
export interface PolicyRule {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
    resourceNames?: string[];
}

/**
 * The reconciler's least-privilege RBAC, split by scope (pure, shared by the Pulumi component and the RBAC test):
 * - `cluster`: cluster-wide reads it needs for fan-out and restarts, plus patch on opted-in workloads;
 * - `secrets`: secret access, Job re-runs (from a kept template or a suspended CronJob) and Events, bound
 *   cluster-wide or per namespace when the deployment is namespace-scoped;
 * - `own`: in its own namespace only: its Lease, read access to the administrator's policy ConfigMap (hooks and
 *   fan-out grants come from there, never from tenant annotations), and the Secrets only it writes there (hook
 *   state, the fingerprint key, deletion tombstones: listed at start, deleted once handled) — also when secret
 *   access elsewhere is limited to a namespace list.
 */
export function reconcilerRbacRules(): { cluster: PolicyRule[]; secrets: PolicyRule[]; own: PolicyRule[] } {
    return {
        cluster: [
            { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "list", "watch", "patch"] },
            // Argo Rollouts (a CRD; a rule for a group the cluster does not serve grants nothing until it does).
            { apiGroups: ["argoproj.io"], resources: ["rollouts"], verbs: ["get", "list", "watch", "patch"] },
        ],
        secrets: [
            { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
            { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "create", "delete"] },
            { apiGroups: ["batch"], resources: ["cronjobs"], verbs: ["get"] },
            { apiGroups: [""], resources: ["events"], verbs: ["create"] },
        ],
        own: [
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] },
            { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
            { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "create", "update", "delete"] },
        ],
    };
}
