/** A Kubernetes PolicyRule (rbac.authorization.k8s.io/v1). */
export interface PolicyRule {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
}

/**
 * The reconciler's least-privilege RBAC, split by scope (pure, shared by the Pulumi component and the RBAC test):
 * - `cluster`: cluster-wide reads it needs for fan-out and restarts, plus writes on workloads/jobs/events;
 * - `secrets`: secret access, bound cluster-wide or per namespace when the deployment is namespace-scoped;
 * - `lease`: its own Lease only, in its own namespace.
 */
export function reconcilerRbacRules(): { cluster: PolicyRule[]; secrets: PolicyRule[]; lease: PolicyRule[] } {
    return {
        cluster: [
            { apiGroups: [""], resources: ["namespaces"], verbs: ["get", "list", "watch"] },
            { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "list", "watch", "patch"] },
        ],
        secrets: [
            { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "create", "update", "delete"] },
            { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "create", "delete"] },
            { apiGroups: [""], resources: ["events"], verbs: ["create"] },
        ],
        lease: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"] }],
    };
}
