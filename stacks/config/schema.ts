/**
 * Every config key the program reads, with type, description and default. Pulumi.yaml declares the scalar and
 * array-of-string keys with exactly these entries (a unit test keeps the two equal). Pulumi's project-level schema
 * has no `object` type (pulumi/pulumi#11321; the schema enum is string|integer|boolean|array and `items` may only
 * nest those), so the structured keys (lists of objects) cannot be typed there: Pulumi.yaml documents them in a
 * comment and this table plus the validator are their schema.
 */
import { DRIFT_SCALAR_KEYS, DRIFT_STRUCTURED_KEYS } from "./drift";
import { DEFAULT_RECONCILER_IMAGE, DEFAULT_TOKEN_GENERATOR_IMAGE } from "../images";

export type ScalarType = "string" | "integer" | "boolean" | "array";

export interface ScalarKeySchema {
    key: string;
    type: ScalarType;
    /** Only for arrays: always string items here. */
    items?: "string";
    description: string;
    default: string | number | boolean | string[];
    secret?: boolean;
    /** Closed set of accepted values (strings only). */
    oneOf?: readonly string[];
}

export interface StructuredKeySchema {
    key: string;
    shape: "array" | "object";
    description: string;
    default: unknown[] | Record<string, unknown>;
}

const s = (key: string, description: string, def: string, extra: Partial<ScalarKeySchema> = {}): ScalarKeySchema => ({
    key,
    type: "string",
    description,
    default: def,
    ...extra,
});
const i = (key: string, description: string, def: number): ScalarKeySchema => ({ key, type: "integer", description, default: def });
const b = (key: string, description: string, def: boolean): ScalarKeySchema => ({ key, type: "boolean", description, default: def });
const a = (key: string, description: string): ScalarKeySchema => ({ key, type: "array", items: "string", description, default: [] });

// Both image defaults are what the release workflow publishes for this package version (stacks/images.ts).
export { DEFAULT_TOKEN_GENERATOR_IMAGE } from "../images";

const CORE_SCALAR_KEYS: readonly ScalarKeySchema[] = [
    s("environment", "Environment name stamped on labels (dev, staging, prod); required. Also the default instance and Vault path prefix.", ""),
    s("vaultAddress", "Vault server URL ESO talks to; required. https, or http only to a loopback address.", ""),
    s("vaultKvMount", "KV v2 mount passwords are written to and ESO reads from.", "secret"),
    s("vaultAuthMethod", "How ESO authenticates to Vault: kubernetes (auth role) or token (tokenSecretRef).", "kubernetes", {
        oneOf: ["kubernetes", "token"],
    }),
    s("vaultKubernetesRole", "Vault Kubernetes auth role (vaultAuthMethod=kubernetes).", "external-secrets"),
    s("vaultKubernetesMountPath", "Vault Kubernetes auth mount path (vaultAuthMethod=kubernetes).", "kubernetes"),
    s("vaultKubernetesServiceAccount", "ServiceAccount whose token ESO presents; empty = ESO's own.", ""),
    s("vaultKubernetesServiceAccountNamespace", "Namespace of vaultKubernetesServiceAccount.", "external-secrets"),
    s("vaultTokenSecretName", "Secret holding the Vault token (vaultAuthMethod=token).", "vault-token"),
    s("vaultTokenSecretNamespace", "Namespace of vaultTokenSecretName.", "external-secrets"),
    s("vaultTokenSecretKey", "Key of the token inside vaultTokenSecretName.", "token"),
    s("storeName", "Name of the Vault ClusterSecretStore (cluster-scoped); empty = vault-kv-<instance>.", ""),
    a("storeAllowedNamespaces", "Store condition: namespaces allowed by name (ORed with the other conditions; all empty = every namespace)."),
    a("storeAllowedNamespaceRegexes", "Store condition: namespaces allowed by regular expression."),
    a("storeAllowedNamespaceLabels", "Store condition: namespaceSelector matchLabels, each entry key=value."),
    i("passwordMinLength", "Password policy: no password may be shorter.", 24),
    s("defaultRefreshInterval", "refreshInterval of Periodic ExternalSecrets that set none.", "1h"),
    a("externalVaultPaths", "Vault paths written outside this stack (by hand or another stack) that ExternalSecrets may read."),
    s("workflowsNamespace", "Namespace the GitHub App secrets and ServiceAccounts live in.", "workflows"),
    s("githubAppsMode", "externalSecret: sync appId/privateKey for the token generator; generator: also ESO GithubAccessToken.", "externalSecret", {
        oneOf: ["externalSecret", "generator"],
    }),
    s("githubOwner", "GitHub organization or user owning the repositories (GITHUB_OWNER of the token generator).", ""),
    s("githubApiUrl", "GitHub API base URL.", "https://api.github.com"),
    s("githubAppsVaultPrefix", "Default Vault path prefix of the GitHub Apps (<prefix>/<app>).", "github-apps"),
    s("tokenGeneratorImage", "Image of the GitHub App token generator.", DEFAULT_TOKEN_GENERATOR_IMAGE),
    s("githubTokenRefreshInterval", "refreshInterval of the generator-mode token ExternalSecrets (tokens live 1h).", "50m"),
    s("githubToken", "Leave unset (seed 001: no PATs). Only to declare AppInstallationRepositories, which GitHub allows only with a classic PAT (scope repo, admin on those repositories, short expiry): see stacks/README.md.", "", { secret: true }),
    b("reconcilerEnabled", "Deploy the in-cluster reconciler.", true),
    s("reconcilerImage", "Reconciler image (reconciler/Dockerfile); the default is what the release workflow publishes for this package version (docs/install.md).", DEFAULT_RECONCILER_IMAGE),
    i("reconcilerReplicas", "Reconciler replicas (leader-elected): the standby takes the Lease when the leader's Pod or node goes; 1 only where no second Pod fits.", 2),
    s("reconcilerNamespace", "Namespace the reconciler runs in (created by it) and where git credential sources land by default.", "platform-secrets"),
    s("reconcilerPauseRestarts", "Incident switch: when non-empty (the reason, e.g. \"INC-123\"), the reconciler rolls no workload (derived secrets and hooks still converge); set it back to empty and `pulumi up` to resume, which rolls each workload whose secrets changed meanwhile once.", ""),
    i("reconcilerDebounceMs", "Reconciler debounce of bursts of source events, in milliseconds.", 2000),
    b("reconcilerSkipAwait", "Do not wait for the reconciler Deployment to roll out (a sandbox without a kubelet).", false),
    b("reconcilerPrometheusRules", "Render the reconciler's alert rules as a PrometheusRule (needs the Prometheus operator's CRDs in the cluster).", false),
    s("reconcilerVaultAddress", "Vault server URL the reconciler reads hooked passwords' previous versions from; empty = vaultAddress.", ""),
    s("reconcilerVaultAuthMethod", "How the reconciler authenticates to Vault: kubernetes (its ServiceAccount token) or token-file (a Secret mounted as a file).", "kubernetes", {
        oneOf: ["kubernetes", "token-file"],
    }),
    s("reconcilerVaultRole", "Vault Kubernetes auth role of the reconciler (reconcilerVaultAuthMethod=kubernetes); its policy should allow reading only the hooked passwords' paths.", "platform-secrets-reconciler"),
    s("reconcilerVaultAuthMount", "Vault Kubernetes auth mount path of the reconciler (reconcilerVaultAuthMethod=kubernetes).", "kubernetes"),
    s("reconcilerVaultAudience", "Audience of the projected ServiceAccount token the reconciler logs in to Vault with (reconcilerVaultAuthMethod=kubernetes); the Vault role's audience must be the same. Never the apiserver's audience: that token could be replayed against the cluster.", "vault"),
    s("reconcilerVaultCaCert", "PEM CA bundle for an https reconcilerVaultAddress signed by a private CA (mounted from a ConfigMap as VAULT_CACERT); empty = the image's CAs.", ""),
    s("reconcilerVaultTokenSecretName", "Secret in reconcilerNamespace with key token, mounted read-only as a file (reconcilerVaultAuthMethod=token-file).", "reconciler-vault-token"),
    // Drift checks (Pulumi Deployments): stacks/config/drift.ts.
    ...DRIFT_SCALAR_KEYS,
];

// ---- Environments, instances and the cluster (issue 20 §1, §2): several stacks side by side. Kept as one block
// (stacks/config/environments.ts reads them) so other additions to this table merge without touching it.
export const ENVIRONMENT_KEYS: readonly ScalarKeySchema[] = [
    s("instance", "Name of this installation in its cluster: the cluster-scoped names (ClusterRoles/Bindings, ClusterSecretStore), the reconciler's Lease and policy ConfigMap derive from it; empty = the environment. Two stacks in one cluster need two instances.", ""),
    s("vaultPathPrefix", "Prefix of every Vault path this stack writes (passwords), applied to their reads too (consumers, hooks, reconcilerVaultReadPaths); empty = the environment, \"/\" = none (paths as configured). externalVaultPaths are used as written (shared across environments on purpose).", ""),
    b("vaultOwnershipCheck", "At preview, read each written path's KV v2 custom_metadata and refuse a path another stack owns (the Vault token needs read on <mount>/metadata/<prefix>/*).", true),
    s("kubeContext", "kubeconfig context of the target cluster, used by the stack's kubernetes.Provider and every dynamic resource (the name, never the content); empty = the kubeconfig's current-context.", ""),
    a("secretNamespaces", "Namespaces the reconciler watches and acts in (one RoleBinding each); empty = cluster-wide. Two instances in one cluster must not overlap: the reconciler refuses a namespace an older instance claims."),
];

export const SCALAR_KEYS: readonly ScalarKeySchema[] = [...CORE_SCALAR_KEYS, ...ENVIRONMENT_KEYS];

export const STRUCTURED_KEYS: readonly StructuredKeySchema[] = [
    { key: "namespaceLabels", shape: "object", description: "Known labels per namespace: {<namespace>: {<key>: <value>}}, used to check consumers against label store conditions.", default: {} },
    { key: "passwords", shape: "array", description: "Stable passwords: [{name, length, special, upper, lower, numeric, min*, overrideSpecial, vaultPath, vaultKey, rotation (bump it to rotate; changing length or a character class needs a bump too), consumers: [{namespace, secretName, secretKey, refreshPolicy (OnChange or Periodic: CreatedOnce never receives a rotation), refreshInterval, hooks: [{type: postgres, host, user, port, database, tls: {mode, ca}, strategy (single | alternate: roles [a, b] members of user take turns, usernameKey, drainSeconds)} | {type: job-rerun, job | cronJob}]}]}]; a postgres hook reads the previous version of its own password's path; with strategy alternate Vault and every consumer Secret also hold the active role under the key username.", default: [] },
    { key: "externalSecrets", shape: "array", description: "ExternalSecrets of Vault paths written elsewhere: [{name, namespace, vaultPath, data: [{secretKey, property}], refreshPolicy, refreshInterval, secretType}].", default: [] },
    { key: "clusterExternalSecrets", shape: "array", description: "Fan-out by namespace labels: [{name, namespaceSelectors: [{matchLabels, matchExpressions}], vaultPath, secretName, data, refreshPolicy, refreshInterval, secretType}].", default: [] },
    { key: "dockerRegistries", shape: "array", description: "Registry credentials: [{name, server, vaultPath, usernameProperty, passwordProperty, secretName, namespaceSelectors, refreshInterval, kargo: {name, secretName, namespaceSelectors, repoURL, repoURLIsRegex}}].", default: [] },
    { key: "gitCredentials", shape: "array", description: "Git credentials: [{name, urls (or url; all https = username/password, all ssh = a key), vaultPath, usernameProperty, passwordProperty (https), sshPrivateKeyProperty, knownHostsProperty (ssh), sourceNamespace, refreshInterval, tekton: {namespace, secretName}, argocd: {namespace, secretName, project, secretType: repository|repo-creds, url}, kargo: {namespace, secretName, repoURL, repoURLIsRegex} (https only)}]; argocd and kargo get one secret per URL (<secretName>, <secretName>-1, ...) unless argocd.url / kargo.repoURL is set.", default: [] },
    { key: "githubApps", shape: "array", description: "GitHub Apps, any DNS-1123 name (the seeds' rex, clippy, qa, triage, security as the example): [{name, vaultPath, secretName, serviceAccount, syncInstallationId, appId, installationId, repositories}].", default: [] },
    { key: "esoGenerators", shape: "array", description: "Extra ESO generators: [{name, namespace, kind, spec, target: {secretName, refreshPolicy, refreshInterval}}]; a Password generator must not refresh periodically.", default: [] },
    { key: "reconcilerFanOutGrants", shape: "array", description: "Administrator consent for reconciler fan-out: [{sourceNamespace, namespaces: [..], namespaceSelector: \"key=value,...\"}]; sources in sourceNamespace may fan out only into these namespaces.", default: [] },
    { key: "certManagerIssuers", shape: "array", description: "cert-manager issuers: [{name, kind: ClusterIssuer|Issuer, namespace, spec}]; every apiKeySecretRef must name its namespace.", default: [] },
    ...DRIFT_STRUCTURED_KEYS,
];

export const ALL_KEYS: readonly string[] = [...SCALAR_KEYS.map((k) => k.key), ...STRUCTURED_KEYS.map((k) => k.key)];
