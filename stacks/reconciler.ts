import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { claimMetadata, EMPTY_POLICY, parsePolicy, POLICY_CONFIGMAP_NAME, POLICY_KEY, ReconcilerPolicy, reconcilerRbacRules, renderPolicy } from "../reconciler/api";
import { AlertOptions, prometheusRule } from "../alerts";

/** Where a token-file Vault token is mounted (read-only, from a Secret in the reconciler's namespace). */
export const VAULT_TOKEN_DIR = "/var/run/secrets/platform-secrets/vault";
export const VAULT_TOKEN_FILE = `${VAULT_TOKEN_DIR}/token`;
/** Where the projected ServiceAccount token for Vault's Kubernetes auth is mounted (audience: Vault, not the apiserver). */
export const VAULT_JWT_DIR = "/var/run/secrets/platform-secrets/vault-jwt";
export const VAULT_JWT_FILE = `${VAULT_JWT_DIR}/token`;
/** Where the Vault CA bundle (ConfigMap key ca.crt) is mounted. */
export const VAULT_CA_DIR = "/var/run/secrets/platform-secrets/vault-ca";
export const VAULT_CA_FILE = `${VAULT_CA_DIR}/ca.crt`;
/** Default audience of the Vault login token; the Vault role's `audience` must be the same. */
export const DEFAULT_VAULT_AUDIENCE = "vault";

/**
 * How the reconciler logs in to Vault. The method is a plain value because it decides the pod's shape (a mounted
 * token file or none); never a token in env or args, where `kubectl describe` and process listings show it.
 */
export type ReconcilerVaultAuthArgs =
    /**
     * Vault's Kubernetes auth with a projected ServiceAccount token whose audience is `audience` (default "vault"), so
     * the JWT Vault receives cannot be replayed against the apiserver (the pod's default token could: it carries the
     * reconciler's cluster-wide Secret access). `mount` default "kubernetes". The Vault role must set the same
     * `audience`.
     */
    | { method: "kubernetes"; role: pulumi.Input<string>; mount?: pulumi.Input<string>; audience?: pulumi.Input<string> }
    /** A Secret `secretName` in the reconciler's namespace with key "token", mounted read-only as a file. */
    | { method: "token-file"; secretName: pulumi.Input<string> };

export interface ReconcilerVaultArgs {
    /** Vault/OpenBao address as seen from the pod, e.g. "https://vault.vault.svc:8200". Required. */
    addr: pulumi.Input<string>;
    /** Required. */
    auth: ReconcilerVaultAuthArgs;
    /** PEM CA bundle of an https `addr` signed by a private CA (rendered into a ConfigMap and mounted); default the image's CAs. */
    caCert?: pulumi.Input<string>;
}

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
    /** Annotate the Deployment `pulumi.com/skipAwait: "true"` (no kubelet, e.g. the local sandbox); default false. */
    skipAwait?: boolean;
    /**
     * Administrator policy (hooks, fan-out grants), rendered into the ConfigMap `platform-secrets-policy` (key
     * policy.json) in `namespace`; default empty (no hooks, fan-out only within a source's own namespace).
     */
    policy?: pulumi.Input<ReconcilerPolicy>;
    /** Vault login for postgres hooks (reads the previous password version); default none (hooks needing Vault fail visibly). */
    vault?: ReconcilerVaultArgs;
    /** Metrics/health port; default 8080. */
    metricsPort?: pulumi.Input<number>;
    /**
     * This installation's name in the cluster (a DNS-1123 label): the cluster-scoped names, the RoleBindings in
     * shared namespaces, the Lease and the policy ConfigMap become `<name>-<instance>-...`, and the namespace carries
     * the instance's claim on the namespaces it acts in (reconciler/trust/claims.ts). Default none: the single-instance
     * names `<name>-reconciler`, `platform-secrets-policy`.
     */
    instance?: string;
    /** Container resources; default requests 50m/64Mi, limits 500m/192Mi. */
    resources?: pulumi.Input<k8s.types.input.core.v1.ResourceRequirements>;
    /** Image pull policy; default "IfNotPresent". */
    imagePullPolicy?: pulumi.Input<string>;
    /**
     * Alert rules (alerts/): a prometheus-operator PrometheusRule in `namespace`, selecting this reconciler's series
     * by namespace unless `selector` is given, and a ServiceMonitor for the metrics Service. Needs the operator's
     * CRDs; default none.
     */
    prometheusRule?: AlertOptions;
}

/**
 * Env vars and pod volumes for the reconciler's Vault login (pure apart from Inputs). `caConfigMapName`: the ConfigMap
 * (key ca.crt) holding `vault.caCert`, created by the component when a CA is given.
 */
export function vaultPodParts(vault: ReconcilerVaultArgs | undefined, caConfigMapName?: pulumi.Input<string>): {
    env: k8s.types.input.core.v1.EnvVar[];
    volumes: k8s.types.input.core.v1.Volume[];
    mounts: k8s.types.input.core.v1.VolumeMount[];
} {
    if (vault === undefined) return { env: [], volumes: [], mounts: [] };
    const env: k8s.types.input.core.v1.EnvVar[] = [
        { name: "VAULT_ADDR", value: vault.addr },
        { name: "VAULT_AUTH_METHOD", value: vault.auth.method },
    ];
    const volumes: k8s.types.input.core.v1.Volume[] = [];
    const mounts: k8s.types.input.core.v1.VolumeMount[] = [];
    if (caConfigMapName !== undefined) {
        env.push({ name: "VAULT_CACERT", value: VAULT_CA_FILE });
        volumes.push({ name: "vault-ca", configMap: { name: caConfigMapName, items: [{ key: "ca.crt", path: "ca.crt" }] } });
        mounts.push({ name: "vault-ca", mountPath: VAULT_CA_DIR, readOnly: true });
    }
    const auth = vault.auth;
    switch (auth.method) {
        case "kubernetes":
            env.push({ name: "VAULT_ROLE", value: auth.role }, { name: "VAULT_AUTH_MOUNT", value: auth.mount ?? "kubernetes" }, { name: "VAULT_JWT_FILE", value: VAULT_JWT_FILE });
            // The kubelet refreshes the projected token before it expires; the reconciler re-reads it at every login.
            volumes.push({
                name: "vault-jwt",
                projected: { defaultMode: 0o400, sources: [{ serviceAccountToken: { audience: auth.audience ?? DEFAULT_VAULT_AUDIENCE, expirationSeconds: 600, path: "token" } }] },
            });
            mounts.push({ name: "vault-jwt", mountPath: VAULT_JWT_DIR, readOnly: true });
            return { env, volumes, mounts };
        case "token-file":
            env.push({ name: "VAULT_TOKEN_FILE", value: VAULT_TOKEN_FILE });
            // 0400 + the pod's fsGroup: readable by the reconciler's group only; the kubelet refreshes it on rotation.
            volumes.push({ name: "vault-token", secret: { secretName: auth.secretName, items: [{ key: "token", path: "token" }], defaultMode: 0o400 } });
            mounts.push({ name: "vault-token", mountPath: VAULT_TOKEN_DIR, readOnly: true });
            return { env, volumes, mounts };
        default: {
            const never: never = auth;
            throw new Error(`unknown Vault auth method ${JSON.stringify(never)}`);
        }
    }
}

/**
 * The PodDisruptionBudget's spec for `replicas`: one Pod may always be evicted, so a drain never blocks (with the
 * default 2 replicas the standby keeps running and takes the Lease; a single replica may be drained at all).
 */
export function disruptionBudgetSpec(replicas: number): { maxUnavailable: number } {
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`reconciler replicas must be a positive integer, got ${replicas}`);
    return { maxUnavailable: 1 };
}

/** The reconciler's policy.json text for `p`, parsed back as the reconciler parses it (throws naming the component). */
function checkedPolicyText(name: string, p: ReconcilerPolicy): string {
    const text = renderPolicy(p);
    parsePolicy(text, `ReconcilerDeployment ${name} policy`);
    return text;
}

/** Refuses args the reconciler could not run with (no image, an incomplete vault, a plain policy it cannot parse) at preview. */
function checkDeploymentArgs(name: string, args: ReconcilerDeploymentArgs): void {
    if (args.image === undefined || args.image === "") {
        throw new Error(`ReconcilerDeployment ${name}: "image" is required; build reconciler/Dockerfile and pass its reference`);
    }
    if (args.vault !== undefined && (args.vault.addr === "" || !["kubernetes", "token-file"].includes(args.vault.auth?.method))) {
        throw new Error(`ReconcilerDeployment ${name}: "vault" needs addr and auth.method kubernetes (with role) or token-file (with secretName); omit vault when no hook reads Vault`);
    }
    // The reconciler refuses a policy it cannot parse; fail at preview instead, naming the component.
    const policy = args.policy ?? EMPTY_POLICY;
    if (!pulumi.Output.isInstance(policy) && !(policy instanceof Promise)) checkedPolicyText(name, policy as ReconcilerPolicy);
}

/** What ReconcilerDeployment's child-creating helpers share: its name, args, labels, derived names and child options. */
interface ReconcilerScope {
    name: string;
    args: ReconcilerDeploymentArgs;
    labels: Record<string, string>;
    /** `<name>-<instance>` (or `<name>`): the prefix of names other installations in the same cluster could also take. */
    base: string;
    nsName: pulumi.Output<string>;
    /** The options of every child: `{ parent: this }`. */
    parent: pulumi.CustomResourceOptions;
}

/** The reconciler container's own env vars (pod identity, Lease, metrics port, debounce, policy, watched namespaces). */
function reconcilerEnv(s: ReconcilerScope, port: pulumi.Output<number>, policyMapName: pulumi.Output<string>): k8s.types.input.core.v1.EnvVar[] {
    const env: k8s.types.input.core.v1.EnvVar[] = [
        { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "RECONCILER_LEASE_NAME", value: `${s.base}-reconciler` },
        { name: "RECONCILER_METRICS_PORT", value: port.apply(String) },
        { name: "RECONCILER_DEBOUNCE_MS", value: pulumi.output(s.args.debounceMs ?? 2000).apply(String) },
        // The policy ConfigMap's name; its namespace is POD_NAMESPACE (only the stack owner writes there).
        { name: "RECONCILER_POLICY", value: policyMapName },
    ];
    const secretNamespaces = s.args.secretNamespaces;
    if (secretNamespaces !== undefined) env.push({ name: "RECONCILER_NAMESPACES", value: pulumi.all(secretNamespaces).apply((l) => l.join(",")) });
    return env;
}

/**
 * Kubernetes objects running the reconciler: namespace, SA, least-privilege RBAC, the administrator policy ConfigMap,
 * Deployment, PDB, metrics Service.
 */
export class ReconcilerDeployment extends pulumi.ComponentResource {
    readonly namespace: pulumi.Output<string>;
    /** The namespace object, for resources that need the namespace but not the rollout (git credential sources). */
    readonly namespaceResource: k8s.core.v1.Namespace;
    readonly serviceAccountName: pulumi.Output<string>;
    readonly deploymentName: pulumi.Output<string>;
    readonly metricsServiceName: pulumi.Output<string>;
    readonly policyConfigMapName: pulumi.Output<string>;
    readonly prometheusRuleName?: pulumi.Output<string>;

    constructor(name: string, args: ReconcilerDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:reconciler:ReconcilerDeployment", name, {}, opts);
        checkDeploymentArgs(name, args);
        const parent = { parent: this };
        const labels = { "app.kubernetes.io/name": "platform-secrets-reconciler", "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "pulumi" };
        const port = pulumi.output(args.metricsPort ?? 8080);
        // Names other installations in the same cluster could also take: derived from the instance.
        const base = args.instance ? `${name}-${args.instance}` : name;
        const secretNamespaces = args.secretNamespaces;
        const claim = args.instance
            ? pulumi.output(secretNamespaces ?? []).apply((l) => claimMetadata(args.instance!, secretNamespaces === undefined ? "*" : l))
            : undefined;
        const ns = new k8s.core.v1.Namespace(`${name}-ns`, {
            metadata: {
                name: args.namespace ?? "platform-secrets-system",
                labels: claim ? claim.apply((c) => ({ ...labels, ...c.labels })) : labels,
                ...(claim ? { annotations: claim.annotations } : {}),
            },
        }, parent);
        const nsName = ns.metadata.name;
        const sa = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata: { name: `${name}-reconciler`, namespace: nsName, labels } }, parent);
        const s: ReconcilerScope = { name, args, labels, base, nsName, parent };
        this.createRbac(s, sa.metadata.name);
        const policyMap = this.createPolicyConfigMap(s, claim);

        const env = reconcilerEnv(s, port, policyMap.metadata.name);
        const vault = this.createVaultParts(s);
        env.push(...vault.env);

        const deployment = this.createDeployment(s, sa.metadata.name, port, env, vault);
        const svc = this.createDisruptionBudgetAndService(s, port);
        if (args.prometheusRule) this.prometheusRuleName = this.createAlerts(s, args.prometheusRule);
        this.namespace = nsName;
        this.namespaceResource = ns;
        this.serviceAccountName = sa.metadata.name;
        this.deploymentName = deployment.metadata.name;
        this.metricsServiceName = svc.metadata.name;
        this.policyConfigMapName = policyMap.metadata.name;
        this.registerOutputs({ namespace: this.namespace, serviceAccountName: this.serviceAccountName, deploymentName: this.deploymentName, metricsServiceName: this.metricsServiceName, policyConfigMapName: this.policyConfigMapName });
    }

    /** The least-privilege RBAC of the ServiceAccount `saName`: cluster rules, Secret access (cluster-wide or per namespace), its own namespace's rules. */
    private createRbac(s: ReconcilerScope, saName: pulumi.Output<string>): void {
        const { name, labels, base, nsName, parent } = s;
        const secretNamespaces = s.args.secretNamespaces;
        const rules = reconcilerRbacRules();
        const subjects = [{ kind: "ServiceAccount", name: saName, namespace: nsName }];

        const clusterRole = new k8s.rbac.v1.ClusterRole(`${name}-cluster`, { metadata: { name: `${base}-reconciler`, labels }, rules: rules.cluster }, parent);
        new k8s.rbac.v1.ClusterRoleBinding(`${name}-cluster`, { metadata: { name: `${base}-reconciler`, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole.metadata.name }, subjects }, parent);
        const secretsRole = new k8s.rbac.v1.ClusterRole(`${name}-secrets`, { metadata: { name: `${base}-reconciler-secrets`, labels }, rules: rules.secrets }, parent);
        if (secretNamespaces === undefined) {
            new k8s.rbac.v1.ClusterRoleBinding(`${name}-secrets`, { metadata: { name: `${base}-reconciler-secrets`, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: secretsRole.metadata.name }, subjects }, parent);
        } else {
            secretNamespaces.forEach((target, i) => {
                new k8s.rbac.v1.RoleBinding(`${name}-secrets-${i}`, { metadata: { name: `${base}-reconciler-secrets`, namespace: target, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: secretsRole.metadata.name }, subjects }, parent);
            });
            // Hook state and the reconciler's own key are Secrets in its namespace: reachable even when scoped (its
            // own name, so listing that namespace in secretNamespaces too cannot collide).
            new k8s.rbac.v1.RoleBinding(`${name}-secrets-own`, { metadata: { name: `${name}-reconciler-secrets-own`, namespace: nsName, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: secretsRole.metadata.name }, subjects }, parent);
        }
        // Its Lease and the policy ConfigMap, in its own namespace only.
        const ownRole = new k8s.rbac.v1.Role(`${name}-own`, { metadata: { name: `${name}-reconciler-own`, namespace: nsName, labels }, rules: rules.own }, parent);
        new k8s.rbac.v1.RoleBinding(`${name}-own`, { metadata: { name: `${name}-reconciler-own`, namespace: nsName, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: ownRole.metadata.name }, subjects }, parent);
    }

    /** The administrator policy ConfigMap (checked again once an Output policy resolves), labelled with the instance's claim if any. */
    private createPolicyConfigMap(s: ReconcilerScope, claim: pulumi.Output<ReturnType<typeof claimMetadata>> | undefined): k8s.core.v1.ConfigMap {
        const { name, args, labels, base, nsName, parent } = s;
        const policy = args.policy ?? EMPTY_POLICY;
        return new k8s.core.v1.ConfigMap(
            `${name}-policy`,
            { metadata: { name: args.instance ? `${base}-policy` : POLICY_CONFIGMAP_NAME, namespace: nsName, labels: claim ? claim.apply((c) => ({ ...labels, ...c.labels })) : labels }, data: { [POLICY_KEY]: pulumi.output(policy).apply((p) => checkedPolicyText(name, p as ReconcilerPolicy)) } },
            parent,
        );
    }

    /** The pod's Vault login parts (vaultPodParts), creating the CA ConfigMap first when a CA is given. */
    private createVaultParts(s: ReconcilerScope): ReturnType<typeof vaultPodParts> {
        const { name, args, labels, nsName, parent } = s;
        const caMap =
            args.vault?.caCert === undefined
                ? undefined
                : new k8s.core.v1.ConfigMap(`${name}-vault-ca`, { metadata: { name: `${name}-reconciler-vault-ca`, namespace: nsName, labels }, data: { "ca.crt": args.vault.caCert } }, parent);
        return vaultPodParts(args.vault, caMap?.metadata.name);
    }

    /** The reconciler's Deployment: hardened pod running as ServiceAccount `saName` with `env` and the Vault volumes. */
    private createDeployment(s: ReconcilerScope, saName: pulumi.Output<string>, port: pulumi.Output<number>, env: k8s.types.input.core.v1.EnvVar[], vault: ReturnType<typeof vaultPodParts>): k8s.apps.v1.Deployment {
        const { name, args, labels, nsName, parent } = s;
        return new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: `${name}-reconciler`, namespace: nsName, labels, ...(args.skipAwait ? { annotations: { "pulumi.com/skipAwait": "true" } } : {}) },
                spec: {
                    replicas: args.replicas ?? 2,
                    selector: { matchLabels: labels },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: saName,
                            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
                            terminationGracePeriodSeconds: 30,
                            ...(vault.volumes.length ? { volumes: vault.volumes } : {}),
                            containers: [
                                {
                                    name: "reconciler",
                                    image: args.image,
                                    imagePullPolicy: args.imagePullPolicy ?? "IfNotPresent",
                                    env,
                                    ...(vault.mounts.length ? { volumeMounts: vault.mounts } : {}),
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
    }

    /** The PodDisruptionBudget and the metrics Service (returned) of the reconciler's pods. */
    private createDisruptionBudgetAndService(s: ReconcilerScope, port: pulumi.Output<number>): k8s.core.v1.Service {
        const { name, args, labels, nsName, parent } = s;
        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            { metadata: { name: `${name}-reconciler`, namespace: nsName, labels }, spec: pulumi.output(args.replicas ?? 2).apply((r) => ({ ...disruptionBudgetSpec(r), selector: { matchLabels: labels } })) },
            parent,
        );
        return new k8s.core.v1.Service(
            `${name}-metrics`,
            { metadata: { name: `${name}-reconciler-metrics`, namespace: nsName, labels }, spec: { selector: labels, ports: [{ name: "metrics", port, targetPort: "metrics" }] } },
            parent,
        );
    }

    /** The PrometheusRule with `alerts` and the ServiceMonitor of the metrics Service; returns the rule's name. */
    private createAlerts(s: ReconcilerScope, alerts: AlertOptions): pulumi.Output<string> {
        const { name, labels, nsName, parent } = s;
        const rule = new k8s.apiextensions.CustomResource(
            `${name}-alerts`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: { name: `${name}-reconciler`, namespace: nsName, labels },
                spec: nsName.apply((ns) => prometheusRule({ ...alerts, namespace: ns, selector: alerts.selector ?? `namespace="${ns}"` }).spec),
            },
            parent,
        );
        // The operator scrapes the metrics Service through a ServiceMonitor (which adds the `namespace` label the rules select on).
        new k8s.apiextensions.CustomResource(
            `${name}-servicemonitor`,
            { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: `${name}-reconciler`, namespace: nsName, labels }, spec: { selector: { matchLabels: labels }, endpoints: [{ port: "metrics", interval: "30s" }] } },
            parent,
        );
        return rule.metadata.name;
    }
}
