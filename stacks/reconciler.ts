import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { reconcilerRbacRules } from "../reconciler/rbac";

export interface ReconcilerDeploymentArgs {
    /** Container image of the reconciler (built from reconciler/Dockerfile). Required. */
    image: pulumi.Input<string>;
    /** Namespace to create and run in; default "platform-secrets-system". */
    namespace?: pulumi.Input<string>;
    /** Replicas (leader election keeps only one reconciling); default 2. */
    replicas?: pulumi.Input<number>;
    /**
     * Limit secret access to these namespaces (one RoleBinding each; the reconciler then watches only them).
     * Default: undefined = cluster-wide secret access through a ClusterRoleBinding.
     */
    secretNamespaces?: pulumi.Input<string>[];
    /** Workload restart debounce window in ms; default 2000. */
    debounceMs?: pulumi.Input<number>;
    /** Vault/OpenBao address for the postgres hook's previous-password lookup; default none. */
    vaultAddr?: pulumi.Input<string>;
    /** Name of an existing Secret (in `namespace`) with key `token` holding the Vault token; default none. */
    vaultTokenSecret?: pulumi.Input<string>;
    /** Metrics/health port; default 8080. */
    metricsPort?: pulumi.Input<number>;
    /** Container resources; default requests 50m/64Mi, limits 500m/192Mi. */
    resources?: pulumi.Input<k8s.types.input.core.v1.ResourceRequirements>;
    /** Image pull policy; default "IfNotPresent". */
    imagePullPolicy?: pulumi.Input<string>;
}

/** Kubernetes objects running the reconciler: namespace, SA, least-privilege RBAC, Deployment, PDB, metrics Service. */
export class ReconcilerDeployment extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    readonly serviceAccountName: pulumi.Output<string>;
    readonly deploymentName: pulumi.Output<string>;
    readonly metricsServiceName: pulumi.Output<string>;

    constructor(name: string, args: ReconcilerDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:reconciler:ReconcilerDeployment", name, {}, opts);
        if (args.image === undefined || args.image === "") {
            throw new Error(`ReconcilerDeployment ${name}: "image" is required; build reconciler/Dockerfile and pass its reference`);
        }
        const parent = { parent: this };
        const rules = reconcilerRbacRules();
        const labels = { "app.kubernetes.io/name": "platform-secrets-reconciler", "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "pulumi" };
        const port = pulumi.output(args.metricsPort ?? 8080);
        const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: args.namespace ?? "platform-secrets-system", labels } }, parent);
        const nsName = ns.metadata.name;
        const sa = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata: { name: `${name}-reconciler`, namespace: nsName, labels } }, parent);
        const subjects = [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: nsName }];

        const clusterRole = new k8s.rbac.v1.ClusterRole(`${name}-cluster`, { metadata: { name: `${name}-reconciler`, labels }, rules: rules.cluster }, parent);
        new k8s.rbac.v1.ClusterRoleBinding(`${name}-cluster`, { metadata: { name: `${name}-reconciler`, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole.metadata.name }, subjects }, parent);
        const secretsRole = new k8s.rbac.v1.ClusterRole(`${name}-secrets`, { metadata: { name: `${name}-reconciler-secrets`, labels }, rules: rules.secrets }, parent);
        const secretNamespaces = args.secretNamespaces;
        if (secretNamespaces === undefined) {
            new k8s.rbac.v1.ClusterRoleBinding(`${name}-secrets`, { metadata: { name: `${name}-reconciler-secrets`, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: secretsRole.metadata.name }, subjects }, parent);
        } else {
            secretNamespaces.forEach((target, i) => {
                new k8s.rbac.v1.RoleBinding(`${name}-secrets-${i}`, { metadata: { name: `${name}-reconciler-secrets`, namespace: target, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: secretsRole.metadata.name }, subjects }, parent);
            });
        }
        const leaseRole = new k8s.rbac.v1.Role(`${name}-lease`, { metadata: { name: `${name}-reconciler-lease`, namespace: nsName, labels }, rules: rules.lease }, parent);
        new k8s.rbac.v1.RoleBinding(`${name}-lease`, { metadata: { name: `${name}-reconciler-lease`, namespace: nsName, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: leaseRole.metadata.name }, subjects }, parent);

        const env: k8s.types.input.core.v1.EnvVar[] = [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            { name: "RECONCILER_LEASE_NAME", value: `${name}-reconciler` },
            { name: "RECONCILER_METRICS_PORT", value: port.apply(String) },
            { name: "RECONCILER_DEBOUNCE_MS", value: pulumi.output(args.debounceMs ?? 2000).apply(String) },
        ];
        if (secretNamespaces !== undefined) env.push({ name: "RECONCILER_NAMESPACES", value: pulumi.all(secretNamespaces).apply((l) => l.join(",")) });
        if (args.vaultAddr !== undefined) env.push({ name: "VAULT_ADDR", value: args.vaultAddr });
        if (args.vaultTokenSecret !== undefined) env.push({ name: "VAULT_TOKEN", valueFrom: { secretKeyRef: { name: args.vaultTokenSecret, key: "token" } } });

        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: `${name}-reconciler`, namespace: nsName, labels },
                spec: {
                    replicas: args.replicas ?? 2,
                    selector: { matchLabels: labels },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: sa.metadata.name,
                            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
                            terminationGracePeriodSeconds: 30,
                            containers: [
                                {
                                    name: "reconciler",
                                    image: args.image,
                                    imagePullPolicy: args.imagePullPolicy ?? "IfNotPresent",
                                    env,
                                    ports: [{ name: "metrics", containerPort: port }],
                                    resources: args.resources ?? { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "192Mi" } },
                                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
                                    livenessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 10 },
                                    readinessProbe: { httpGet: { path: "/readyz", port: "metrics" }, periodSeconds: 5 },
                                },
                            ],
                        },
                    },
                },
            },
            parent,
        );
        new k8s.policy.v1.PodDisruptionBudget(`${name}-pdb`, { metadata: { name: `${name}-reconciler`, namespace: nsName, labels }, spec: { minAvailable: 1, selector: { matchLabels: labels } } }, parent);
        const svc = new k8s.core.v1.Service(
            `${name}-metrics`,
            { metadata: { name: `${name}-reconciler-metrics`, namespace: nsName, labels }, spec: { selector: labels, ports: [{ name: "metrics", port, targetPort: "metrics" }] } },
            parent,
        );
        this.namespace = nsName;
        this.serviceAccountName = sa.metadata.name;
        this.deploymentName = deployment.metadata.name;
        this.metricsServiceName = svc.metadata.name;
        this.registerOutputs({ namespace: this.namespace, serviceAccountName: this.serviceAccountName, deploymentName: this.deploymentName, metricsServiceName: this.metricsServiceName });
    }
}
