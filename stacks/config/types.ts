import type * as pulumi from "@pulumi/pulumi";
import type { PasswordPolicy } from "../../providers/password-policy-guard";
import type { FanOutGrant, HookSpec } from "../../reconciler/api";

/** ESO ExternalSecret.spec.refreshPolicy (external-secrets.io/v1). */
export type RefreshPolicy = "CreatedOnce" | "Periodic" | "OnChange";
export const REFRESH_POLICIES: readonly RefreshPolicy[] = ["CreatedOnce", "Periodic", "OnChange"];

/** A Kubernetes LabelSelector as ESO and ClusterExternalSecret take it. */
export interface LabelSelectorRequirement {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
}
export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: LabelSelectorRequirement[];
}

export type VaultAuth =
    | { method: "kubernetes"; role: string; mountPath: string; serviceAccount?: { name: string; namespace: string } }
    | { method: "token"; secretName: string; secretNamespace: string; secretKey: string };

export interface VaultSettings {
    address: string;
    /** KV v2 mount, e.g. "secret". */
    kvMount: string;
    auth: VaultAuth;
}

/** Which namespaces may use the ClusterSecretStore; ESO ORs every condition. Empty everywhere = all namespaces. */
export interface StoreSettings {
    name: string;
    allowedNamespaces: string[];
    allowedNamespaceRegexes: string[];
    /** One namespaceSelector condition per entry (matchLabels {key: value}); ESO ORs them. */
    allowedNamespaceLabels: { key: string; value: string }[];
}

export interface PasswordConsumer {
    namespace: string;
    /** Kubernetes Secret ESO writes; default: the password name. */
    secretName: string;
    /** Key inside that Secret; default: the password's Vault key. */
    secretKey: string;
    refreshPolicy: RefreshPolicy;
    /** Only for Periodic. */
    refreshInterval: string;
    /**
     * Init-time hooks the reconciler runs when the value changes (reconciler/hookspec: postgres ALTER ROLE,
     * job-rerun), as written in config (validated by the reconciler's own parser, no defaults applied). They reach
     * the reconciler through its policy ConfigMap (stacks/policy.ts), never through an annotation on the secret:
     * whoever can write a Secret must not be able to declare hooks (issue 10).
     */
    hooks: HookSpec[];
}

/** The generation settings (length, classes, minimums) are the guard's PasswordPolicy: one shape, two users. */
export interface PasswordSpec extends PasswordPolicy {
    name: string;
    /** Path inside the KV v2 mount, e.g. "dns/powerdns-api-key". */
    vaultPath: string;
    /** Key inside the Vault secret; default "password". */
    vaultKey: string;
    /** Bump to rotate: the value changes exactly when this changes. */
    rotation: number;
    consumers: PasswordConsumer[];
}

export interface SecretDataRef {
    /** Key in the Kubernetes Secret. */
    secretKey: string;
    /** Property of the Vault secret. */
    property: string;
}

export interface ExternalSecretSpec {
    name: string;
    namespace: string;
    vaultPath: string;
    data: SecretDataRef[];
    refreshPolicy: RefreshPolicy;
    refreshInterval: string;
    secretType: string;
}

export interface ClusterExternalSecretSpec {
    name: string;
    namespaceSelectors: LabelSelector[];
    vaultPath: string;
    /** Secret written into each selected namespace; default: the CES name. */
    secretName: string;
    data: SecretDataRef[];
    refreshPolicy: RefreshPolicy;
    refreshInterval: string;
    secretType: string;
}

export interface DockerRegistrySpec {
    /** ClusterExternalSecret name for application namespaces (seed 003: "application-docker-registry"). */
    name: string;
    /** Registry host, e.g. "ghcr.io" (the `auths` key). */
    server: string;
    vaultPath: string;
    usernameProperty: string;
    passwordProperty: string;
    /** Secret written into each namespace. */
    secretName: string;
    /** Default: namespaces labelled `secrets/gh-docker-registry: "true"`. */
    namespaceSelectors: LabelSelector[];
    refreshInterval: string;
    /** Kargo's image credential from the same Vault source, into Kargo project namespaces. */
    kargo?: {
        name: string;
        secretName: string;
        namespaceSelectors: LabelSelector[];
        repoURL: string;
        repoURLIsRegex: boolean;
    };
}

/** How the git source secret authenticates: inferred from the URLs (https → basic, ssh/scp-like → ssh). */
export type GitAuth = "basic" | "ssh";

export interface GitCredentialSpec {
    name: string;
    /** Repository URLs, one or more, all https (basic auth) or all ssh (`git@host:org/repo`, `ssh://...`). */
    urls: string[];
    auth: GitAuth;
    vaultPath: string;
    /** basic: Vault properties of the user name and password. */
    usernameProperty: string;
    passwordProperty: string;
    /** ssh: Vault property of the private key; optional property of known_hosts lines (Tekton pins hosts with it). */
    sshPrivateKeyProperty: string;
    knownHostsProperty?: string;
    /** Namespace ESO lands the source secret in (kubernetes.io/basic-auth or ssh-auth; must be allowed by the store). */
    sourceNamespace: string;
    refreshInterval: string;
    /** One secret for every URL (Tekton matches by host: one tekton.dev/git-N annotation per distinct host). */
    tekton?: { namespace: string; secretName: string };
    /**
     * repository: one secret per URL (`secretName`, then `<secretName>-1`, `-2`, ... in URL order); repo-creds: one
     * credential template for the URL prefix `url` (Argo CD uses it for every repository under it).
     */
    argocd?: { namespace: string; secretName: string; project?: string; secretType: "repository" | "repo-creds"; url?: string };
    /** One credential per URL (named like argocd's), or one for `repoURL` (a regular expression with repoURLIsRegex). Not for ssh. */
    kargo?: { namespace: string; secretName: string; repoURL?: string; repoURLIsRegex: boolean };
}

/** The seeds' five apps: the example in docs and stack files. Any DNS-1123 label is accepted as an app name. */
export const GITHUB_APP_NAMES = ["rex", "clippy", "qa", "triage", "security"] as const;
export type GitHubAppName = string;

export interface GitHubAppSpec {
    name: GitHubAppName;
    /** Vault path holding appId, privateKey and optionally installationId. */
    vaultPath: string;
    /** Kubernetes Secret in the workflows namespace; default `github-app-<name>`. */
    secretName: string;
    /** The only ServiceAccount allowed to read that secret; default `github-app-<name>`. */
    serviceAccount: string;
    /** Also sync `installationId` from Vault. */
    syncInstallationId: boolean;
    /** Literal app id (not secret): needed by the GithubAccessToken generator. */
    appId?: string;
    /** Literal installation id: needed by the generator and by AppInstallationRepositories. */
    installationId?: string;
    /** Repositories the installation may reach (AppInstallationRepositories). */
    repositories: string[];
}

export type GitHubAppsMode = "externalSecret" | "generator";

export interface GitHubSettings {
    workflowsNamespace: string;
    mode: GitHubAppsMode;
    owner: string;
    apiUrl: string;
    tokenGeneratorImage: string;
    /** Token refresh interval of the generator-mode ExternalSecret (tokens live 1h). */
    tokenRefreshInterval: string;
    apps: GitHubAppSpec[];
}

/** Extra ESO generators the stack renders (guardrail: no periodic Password generator). */
export interface EsoGeneratorSpec {
    name: string;
    namespace: string;
    kind: string;
    spec: Record<string, unknown>;
    target: { secretName: string; refreshPolicy?: RefreshPolicy; refreshInterval?: string };
}

/** cert-manager issuers the stack renders (guardrail: every apiKeySecretRef names its namespace). */
export interface CertManagerIssuerSpec {
    name: string;
    kind: "ClusterIssuer" | "Issuer";
    namespace?: string;
    spec: Record<string, unknown>;
}

/** How the reconciler logs in to Vault to read the previous version of a hooked password. */
export type ReconcilerVaultAuth =
    /** `audience`: of the projected ServiceAccount token the reconciler logs in with (the Vault role's `audience`). */
    | { method: "kubernetes"; role: string; mount: string; audience: string }
    /** A Secret in the reconciler's namespace with key "token", mounted read-only as a file. */
    | { method: "token-file"; secretName: string };
export const RECONCILER_VAULT_AUTH_METHODS: readonly ReconcilerVaultAuth["method"][] = ["kubernetes", "token-file"];

export interface ReconcilerSettings {
    enabled: boolean;
    image: string;
    replicas: number;
    namespace: string;
    debounceMs: number;
    /** Render alerts/ as a PrometheusRule: the Prometheus operator is present. */
    prometheusRules: boolean;
    /** Annotate the Deployment `pulumi.com/skipAwait` (no kubelet runs pods, e.g. the local sandbox). */
    skipAwait: boolean;
    /** Where the reconciler reaches Vault (default: vaultAddress) and how it authenticates. */
    /** `caCert`: PEM bundle of a private CA for an https address (reconcilerVaultCaCert); undefined = the image's CAs. */
    vault: { address: string; auth: ReconcilerVaultAuth; caCert?: string };
    /** Administrator consent for fan-out (reconciler policy `fanOut`): which namespaces a source namespace may write into. */
    fanOutGrants: FanOutGrant[];
    /** reconcilerPauseRestarts: the incident pause's reason (policy `pauseRestarts`); undefined = not paused. */
    pauseRestarts?: string;
}

export type { DriftSettings } from "./drift";
import type { DriftSettings } from "./drift";

/**
 * Where this stack sits next to others (issue 20): its instance name in the cluster, its Vault path prefix, the
 * cluster it aims at, the namespaces its reconciler claims. Defaults derived from the environment.
 */
export interface InstallationSettings {
    /** DNS-1123 label; every cluster-scoped name, the Lease and the policy ConfigMap derive from it. */
    instance: string;
    /** Prefix of every Vault path this stack writes (already applied to passwords[].vaultPath and their readers); "" = none. */
    vaultPathPrefix: string;
    /** Refuse at preview a written path whose KV v2 custom_metadata names another stack. */
    vaultOwnershipCheck: boolean;
    /** kubeconfig context of the target cluster; undefined = the kubeconfig's current-context. */
    kubeContext?: string;
    /** Namespaces the reconciler watches and acts in; undefined = cluster-wide. */
    secretNamespaces?: string[];
}

/** The validated stack config: everything the program reads, defaults applied. */
export interface StackConfig {
    environment: string;
    installation: InstallationSettings;
    vault: VaultSettings;
    store: StoreSettings;
    passwordMinLength: number;
    defaultRefreshInterval: string;
    /** Vault paths written outside this stack that ExternalSecrets may read. */
    externalVaultPaths: string[];
    /** Labels of namespaces the stack knows about (lets the store-condition guardrail evaluate label selectors). */
    namespaceLabels: Record<string, Record<string, string>>;
    passwords: PasswordSpec[];
    externalSecrets: ExternalSecretSpec[];
    clusterExternalSecrets: ClusterExternalSecretSpec[];
    dockerRegistries: DockerRegistrySpec[];
    gitCredentials: GitCredentialSpec[];
    github: GitHubSettings;
    esoGenerators: EsoGeneratorSpec[];
    certManagerIssuers: CertManagerIssuerSpec[];
    reconciler: ReconcilerSettings;
    drift: DriftSettings;
    /** Present only when `platform-secrets:githubToken` is set (secret); gates AppInstallationRepositories. */
    githubToken?: pulumi.Output<string>;
}
