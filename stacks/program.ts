import * as pulumi from "@pulumi/pulumi";
import * as github from "@pulumi/github";
import type { StackConfig } from "./config/types";
import { configKey } from "./config/errors";
import { StablePassword } from "./passwords";
import { RawManifest, VaultClusterExternalSecret, VaultClusterSecretStore, VaultExternalSecret } from "./eso/components";
import { DockerRegistryCredentials } from "./eso/registry";
import { ANNOTATION_ROTATION, ANNOTATION_VAULT_PATH, ESO_GENERATORS_API_VERSION, commonLabels } from "./eso/manifests";
import { GitHubAppCredentials } from "./github/apps";
import { DriftChecks } from "./drift";
import { GitCredentials } from "./git";
import { ReconcilerDeployment, ReconcilerVaultArgs } from "./reconciler";
import { activeRole, alternateRoles, buildReconcilerPolicy, hookVaultPaths, policyNeedsVault, usernameSecretKey, VAULT_USERNAME_KEY } from "./policy";
import type * as k8s from "@pulumi/kubernetes";
import { clusterProvider, onCluster } from "./cluster";
import { ownershipMetadata } from "./ownership";
import { vaultAccess } from "./vault-access";

/** Everything the program created, for index.ts exports and for tests. */
export interface Platform {
    store: VaultClusterSecretStore;
    passwords: Map<string, StablePassword>;
    externalSecrets: VaultExternalSecret[];
    clusterExternalSecrets: VaultClusterExternalSecret[];
    dockerRegistries: DockerRegistryCredentials[];
    gitCredentials: GitCredentials[];
    reconciler?: ReconcilerDeployment;
    githubApps: GitHubAppCredentials[];
    extras: RawManifest[];
    drift?: DriftChecks;
    /** Vault paths this stack writes (never values). */
    vaultPathsWritten: string[];
}

/** Hook for components composed next to the core (git credentials, reconciler): same config, same store. */
export type PlatformExtension = (cfg: StackConfig, platform: Platform) => void;

export interface BuildOptions {
    /**
     * The refusal per written Vault path (stacks/ownership.ts checkVaultOwnership, run by index.ts): each password's
     * policy guard fails the preview with its path's refusal, before anything is written.
     */
    ownershipRefusals?: Promise<Record<string, string>>;
    /** The kubernetes.Provider of the stack; default one built from cfg.installation.kubeContext. */
    kubernetesProvider?: k8s.Provider;
}

/** Composes the components from validated config. No config reading here: index.ts passes loadStackConfig(). */
export function buildPlatform(cfg: StackConfig, extensions: PlatformExtension[] = [], options: BuildOptions = {}): Platform {
    const labels = commonLabels(cfg.environment);
    const cluster = options.kubernetesProvider ?? clusterProvider(cfg.installation.kubeContext);
    const on = (opts: pulumi.ComponentResourceOptions = {}) => onCluster(cluster, opts);
    const owner = ownershipMetadata({ project: pulumi.getProject(), stack: pulumi.getStack() });
    const store = new VaultClusterSecretStore("vault", { vault: cfg.vault, store: cfg.store, labels }, on());
    const storeName = store.storeName;
    const platform: Platform = {
        store,
        passwords: new Map(),
        externalSecrets: [],
        clusterExternalSecrets: [],
        dockerRegistries: [],
        gitCredentials: [],
        githubApps: [],
        extras: [],
        vaultPathsWritten: cfg.passwords.map((p) => p.vaultPath),
    };

    const b: Builder = { cfg, platform, labels, on, store, storeName, owner, options };
    // In this order: the resources register as they always did (URNs and dependencies unchanged).
    addPasswords(b);
    addExternalSecrets(b);
    addRegistriesAndReconciler(b);
    addGitAndGitHub(b);
    addExtras(b);

    if (cfg.drift.enabled) {
        platform.drift = new DriftChecks("drift", { drift: cfg.drift });
    }

    for (const ext of extensions) ext(cfg, platform);
    return platform;
}

/** What every part of the composition shares: config, the store, common labels, the cluster-bound options. */
interface Builder {
    cfg: StackConfig;
    platform: Platform;
    labels: Record<string, string>;
    on: (opts?: pulumi.ComponentResourceOptions) => pulumi.ComponentResourceOptions;
    store: VaultClusterSecretStore;
    storeName: pulumi.Output<string>;
    owner: Record<string, string>;
    options: BuildOptions;
}

/** Stable passwords: RandomPassword → Vault KV v2, and one ExternalSecret per consumer Secret. */
function addPasswords(b: Builder): void {
    const { cfg, platform, labels, on, store, storeName, owner, options } = b;
    cfg.passwords.forEach((p, i) => {
        const pw = new StablePassword(`password-${p.name}`, {
            mount: cfg.vault.kvMount,
            path: p.vaultPath,
            key: p.vaultKey,
            length: p.length,
            special: p.special,
            upper: p.upper,
            lower: p.lower,
            numeric: p.numeric,
            minSpecial: p.minSpecial,
            minUpper: p.minUpper,
            minLower: p.minLower,
            minNumeric: p.minNumeric,
            overrideSpecial: p.overrideSpecial,
            rotation: p.rotation,
            // strategy alternate: the login role this rotation makes active, in the same Vault version as the value.
            ...(alternateRoles(p) ? { extraData: { [VAULT_USERNAME_KEY]: activeRole(alternateRoles(p)!, p.rotation) } } : {}),
            // Named by the policy guard when length or a character class changes without a counter bump.
            passwordName: p.name,
            rotationKey: configKey(`passwords[${i}].rotation`),
            ownership: owner,
            ...(options.ownershipRefusals ? { ownershipRefusal: pulumi.output(options.ownershipRefusals).apply((r) => r[p.vaultPath]) } : {}),
        });
        platform.passwords.set(p.name, pw);
        for (const c of p.consumers) {
            platform.externalSecrets.push(new VaultExternalSecret(`password-${p.name}-${c.namespace}-${c.secretName}`, {
                namespace: c.namespace,
                externalSecretName: c.secretName,
                labels,
                // The counter on the ExternalSecret itself: bumping it changes the object, so ESO re-syncs at
                // once even with OnChange (and Periodic does not wait for its next interval).
                annotations: { [ANNOTATION_ROTATION]: String(p.rotation), [ANNOTATION_VAULT_PATH]: p.vaultPath },
                spec: storeName.apply((s) => ({
                    storeName: s,
                    refreshPolicy: c.refreshPolicy,
                    refreshInterval: c.refreshInterval,
                    targetName: c.secretName,
                    // No hooks or source label on the secret: the reconciler watches every Secret and takes hooks
                    // only from its policy ConfigMap (stacks/policy.ts), which a Secret writer cannot edit.
                    targetLabels: labels,
                    // Every consumer of an alternating password gets the active role's name beside the value.
                    data: [
                        { secretKey: c.secretKey, key: p.vaultPath, property: p.vaultKey },
                        ...(alternateRoles(p) ? [{ secretKey: usernameSecretKey(c), key: p.vaultPath, property: VAULT_USERNAME_KEY }] : []),
                    ],
                })),
            }, on({ dependsOn: [pw, store] })));
        }
    });
}

/** Declared ExternalSecrets and ClusterExternalSecrets; those reading a stable password's path carry its counter. */
function addExternalSecrets(b: Builder): void {
    const { cfg, platform, labels, on, store, storeName } = b;
    // Other ExternalSecrets that read a stable password's path get its counter too, so a rotation reaches them at
    // once (the guardrails refuse the refresh policies with which it never would).
    const rotationOf = new Map(cfg.passwords.map((p) => [p.vaultPath, p.rotation]));

    for (const e of cfg.externalSecrets) {
        const rotation = rotationOf.get(e.vaultPath);
        platform.externalSecrets.push(new VaultExternalSecret(`external-${e.namespace}-${e.name}`, {
            namespace: e.namespace,
            externalSecretName: e.name,
            labels,
            ...(rotation !== undefined ? { annotations: { [ANNOTATION_ROTATION]: String(rotation), [ANNOTATION_VAULT_PATH]: e.vaultPath } } : {}),
            spec: storeName.apply((s) => ({
                storeName: s,
                refreshPolicy: e.refreshPolicy,
                refreshInterval: e.refreshInterval,
                targetName: e.name,
                secretType: e.secretType,
                targetLabels: labels,
                data: e.data.map((d) => ({ secretKey: d.secretKey, key: e.vaultPath, property: d.property })),
            })),
        }, on({ dependsOn: [store] })));
    }

    for (const e of cfg.clusterExternalSecrets) {
        const rotation = rotationOf.get(e.vaultPath);
        platform.clusterExternalSecrets.push(new VaultClusterExternalSecret(`fanout-${e.name}`, {
            externalSecretName: e.name,
            namespaceSelectors: e.namespaceSelectors,
            // The counter as a LABEL: VaultClusterExternalSecret passes labels (not annotations) to the generated
            // ExternalSecrets (spec.externalSecretMetadata), and ESO v0.16 hashes labels and annotations alike to
            // decide a re-sync (pkg/controllers/util HashMeta), so bumping it re-syncs every fanned-out copy.
            labels: rotation !== undefined ? { ...labels, [ANNOTATION_ROTATION]: String(rotation) } : labels,
            spec: storeName.apply((s) => ({
                storeName: s,
                refreshPolicy: e.refreshPolicy,
                refreshInterval: e.refreshInterval,
                targetName: e.secretName,
                secretType: e.secretType,
                targetLabels: labels,
                data: e.data.map((d) => ({ secretKey: d.secretKey, key: e.vaultPath, property: d.property })),
            })),
        }, on({ dependsOn: [store] })));
    }
}

/** Registry credentials (dockerconfigjson, Kargo) and the reconciler with the policy rendered from config. */
function addRegistriesAndReconciler(b: Builder): void {
    const { cfg, platform, labels, on, store, storeName } = b;
    for (const r of cfg.dockerRegistries) {
        platform.dockerRegistries.push(new DockerRegistryCredentials(`registry-${r.name}`, { registry: r, storeName, labels }, on({ dependsOn: [store] })));
    }

    if (cfg.reconciler.enabled) {
        const policy = buildReconcilerPolicy(cfg);
        platform.reconciler = new ReconcilerDeployment("platform-secrets", {
            image: cfg.reconciler.image,
            namespace: cfg.reconciler.namespace,
            replicas: cfg.reconciler.replicas,
            debounceMs: cfg.reconciler.debounceMs,
            skipAwait: cfg.reconciler.skipAwait,
            ...(cfg.reconciler.prometheusRules ? { prometheusRule: {} } : {}),
            policy,
            // Only postgres hooks read Vault: without them the reconciler gets no Vault login at all.
            ...(policyNeedsVault(policy) ? { vault: reconcilerVault(cfg) } : {}),
            instance: cfg.installation.instance,
            ...(cfg.installation.secretNamespaces ? { secretNamespaces: cfg.installation.secretNamespaces } : {}),
        }, on());
    }
}

/** Git credentials (Tekton, Argo CD, Kargo) and the GitHub App credentials or token generators. */
function addGitAndGitHub(b: Builder): void {
    const { cfg, platform, labels, on, store, storeName } = b;
    for (const g of cfg.gitCredentials) {
        // The reconciler creates its namespace, the default landing namespace of git sources. Only the namespace: a
        // rollout that never completes (no image yet, a node that cannot pull it) must not hold back credentials.
        const after = platform.reconciler ? [store, platform.reconciler.namespaceResource] : [store];
        platform.gitCredentials.push(new GitCredentials(`git-${g.name}`, { credential: g, storeName, kvMount: cfg.vault.kvMount, labels, kubeContext: cfg.installation.kubeContext }, on({ dependsOn: after })));
    }

    if (cfg.github.apps.length > 0) {
        const provider = cfg.githubToken
            ? new github.Provider("github", { token: cfg.githubToken, ...(cfg.github.owner ? { owner: cfg.github.owner } : {}) })
            : undefined;
        for (const app of cfg.github.apps) {
            platform.githubApps.push(new GitHubAppCredentials(`github-app-${app.name}`, {
                app,
                namespace: cfg.github.workflowsNamespace,
                storeName,
                mode: cfg.github.mode,
                refreshInterval: cfg.defaultRefreshInterval,
                tokenRefreshInterval: cfg.github.tokenRefreshInterval,
                githubApiUrl: cfg.github.apiUrl,
                githubProvider: provider,
                labels,
            }, on({ dependsOn: [store] })));
        }
    }
}

/** Extra ESO generators and cert-manager issuers, as declared. */
function addExtras(b: Builder): void {
    const { cfg, platform, labels, on } = b;
    for (const g of cfg.esoGenerators) {
        const gen = new RawManifest(`generator-${g.namespace}-${g.name}`, {
            manifest: { apiVersion: ESO_GENERATORS_API_VERSION, kind: g.kind, metadata: { name: g.name, namespace: g.namespace, labels }, spec: g.spec },
        }, on());
        platform.extras.push(gen);
        platform.externalSecrets.push(new VaultExternalSecret(`generated-${g.namespace}-${g.target.secretName}`, {
            namespace: g.namespace,
            externalSecretName: g.target.secretName,
            labels,
            spec: {
                storeName: "",
                refreshPolicy: g.target.refreshPolicy ?? "Periodic",
                refreshInterval: g.target.refreshInterval ?? "1h",
                targetName: g.target.secretName,
                targetLabels: labels,
                generatorRef: { apiVersion: ESO_GENERATORS_API_VERSION, kind: g.kind, name: g.name },
            },
        }, on({ dependsOn: [gen] })));
    }

    for (const iss of cfg.certManagerIssuers) {
        platform.extras.push(new RawManifest(`issuer-${iss.name}`, {
            manifest: { apiVersion: "cert-manager.io/v1", kind: iss.kind, metadata: { name: iss.name, ...(iss.namespace ? { namespace: iss.namespace } : {}), labels }, spec: iss.spec },
        }, on()));
    }
}

function reconcilerVault(cfg: StackConfig): ReconcilerVaultArgs {
    const v = cfg.reconciler.vault;
    switch (v.auth.method) {
        case "kubernetes":
            return { addr: v.address, auth: { method: "kubernetes", role: v.auth.role, mount: v.auth.mount, audience: v.auth.audience }, ...(v.caCert ? { caCert: v.caCert } : {}) };
        case "token-file":
            return { addr: v.address, auth: { method: "token-file", secretName: v.auth.secretName }, ...(v.caCert ? { caCert: v.caCert } : {}) };
        default: {
            const never: never = v.auth;
            throw new Error(`unknown reconciler Vault auth ${JSON.stringify(never)}`);
        }
    }
}

/** Non-secret stack outputs. */
export function platformOutputs(cfg: StackConfig, platform: Platform): Record<string, pulumi.Input<unknown>> {
    return {
        storeName: platform.store.storeName,
        vaultPathsWritten: platform.vaultPathsWritten.map((p) => `${cfg.vault.kvMount}/${p}`),
        rotations: Object.fromEntries(cfg.passwords.map((p) => [p.name, p.rotation])),
        githubApps: cfg.github.apps.map((a) => `${cfg.github.workflowsNamespace}/${a.secretName}`),
        driftSchedule: cfg.drift.enabled ? cfg.drift.cron : "disabled",
        // What the reconciler's Vault role must be allowed to read (previous versions of hooked passwords), and no more.
        reconcilerVaultReadPaths: cfg.reconciler.enabled ? hookVaultPaths(buildReconcilerPolicy(cfg)) : [],
        // Issue 20: what this stack is in its cluster and Vault, and the exact Vault policies / auth roles to set up.
        instance: cfg.installation.instance,
        vaultPathPrefix: cfg.installation.vaultPathPrefix ? `${cfg.vault.kvMount}/${cfg.installation.vaultPathPrefix}` : cfg.vault.kvMount,
        ...vaultAccess(cfg, pulumi.runtime.getConfig("vault:skipChildToken") === "true"),
    };
}
