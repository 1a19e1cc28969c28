import type { StackConfig } from "./config/types";
import { vaultReaders } from "./config/guardrails";
import { buildReconcilerPolicy, hookVaultPaths } from "./policy";

/**
 * The exact Vault access each identity of this stack needs (issue 20 §5), rendered from config as stack outputs
 * (pure), so the operator applies what the stack really uses instead of a hand-written approximation:
 * - eso: read on `data/` of every path an ExternalSecret of this stack reads, nothing else;
 * - reconciler: read on `data/` and `metadata/` of each hooked password (the previous version, and the current
 *   version number it looks up in metadata/), only when a postgres hook exists;
 * - pulumi: the identity running `pulumi up` (the vault provider's token): write, read and delete under the stack's
 *   own prefix on data/ and metadata/ (custom_metadata stamps, the ownership check at preview, deleteAllVersions), and
 *   `auth/token/create`, because the vault provider by default first creates a short-lived child token with the
 *   token it is given; with `vault:skipChildToken: true` that capability is left out.
 * The Kubernetes auth roles bind each policy to exactly one ServiceAccount.
 */
export interface VaultPolicyOut {
    name: string;
    hcl: string;
}

export interface KubernetesAuthRoleOut {
    /** `vault write auth/<mount>/role/<name> ...` */
    mount: string;
    name: string;
    bound_service_account_names: string[];
    bound_service_account_namespaces: string[];
    token_policies: string[];
    token_ttl: string;
    /** The reconciler's role only: the audience its projected ServiceAccount token carries (reconcilerVaultAudience). */
    audience?: string;
}

function stanza(path: string, caps: string[]): string {
    return `path "${path}" {\n  capabilities = [${caps.map((c) => `"${c}"`).join(", ")}]\n}`;
}

/** Every `<path>` (inside the mount) an ExternalSecret of this stack reads, sorted. */
export function esoReadPaths(cfg: StackConfig): string[] {
    const paths = new Set<string>();
    for (const p of cfg.passwords) if (p.consumers.length > 0) paths.add(p.vaultPath);
    for (const [, path] of vaultReaders(cfg)) paths.add(path);
    return [...paths].sort();
}

export function esoPolicy(cfg: StackConfig): VaultPolicyOut {
    const m = cfg.vault.kvMount;
    const body = esoReadPaths(cfg).map((p) => stanza(`${m}/data/${p}`, ["read"]));
    return { name: `platform-secrets-${cfg.installation.instance}-eso`, hcl: [`# ESO, ClusterSecretStore ${cfg.store.name}: read-only on the paths its ExternalSecrets read`, ...body].join("\n") };
}

/** The reconciler's policy; undefined when no hook reads Vault (it then gets no Vault login). */
export function reconcilerPolicy(cfg: StackConfig): VaultPolicyOut | undefined {
    if (!cfg.reconciler.enabled) return undefined;
    const paths = hookVaultPaths(buildReconcilerPolicy(cfg));
    if (paths.length === 0) return undefined;
    const body = paths.flatMap((full) => {
        const [mount, ...rest] = full.split("/");
        const sub = rest.join("/");
        return [stanza(`${mount}/data/${sub}`, ["read"]), stanza(`${mount}/metadata/${sub}`, ["read"])];
    });
    return { name: `platform-secrets-${cfg.installation.instance}-reconciler`, hcl: ["# platform-secrets reconciler: the hooked passwords' versions (data/) and version numbers (metadata/)", ...body].join("\n") };
}

export function pulumiPolicy(cfg: StackConfig, skipChildToken: boolean): VaultPolicyOut {
    const m = cfg.vault.kvMount;
    const prefix = cfg.installation.vaultPathPrefix;
    // Without a prefix, the exact written paths (a wildcard over the whole mount would reach other stacks' paths).
    const globs = prefix ? [`${prefix}/*`] : [...new Set(cfg.passwords.map((p) => p.vaultPath))].sort();
    const body = [
        ...globs.map((g) => stanza(`${m}/data/${g}`, ["create", "update", "read", "delete"])),
        ...globs.map((g) => stanza(`${m}/metadata/${g}`, ["create", "update", "read", "delete"])),
        ...(skipChildToken ? [] : ["# the vault provider creates a child token first (set vault:skipChildToken: true to drop this)", stanza("auth/token/create", ["update"])]),
    ];
    return { name: `platform-secrets-${cfg.installation.instance}-pulumi`, hcl: [`# pulumi up of this stack: ${prefix ? `its own prefix ${m}/${prefix}/ only` : "the paths it writes only"}`, ...body].join("\n") };
}

/** ESO's Kubernetes auth role (vaultAuthMethod kubernetes): bound to the ServiceAccount ESO presents. */
export function esoRole(cfg: StackConfig): KubernetesAuthRoleOut | undefined {
    const a = cfg.vault.auth;
    if (a.method !== "kubernetes") return undefined;
    // Without serviceAccountRef ESO logs in with its controller's own token (chart default external-secrets/external-secrets).
    const sa = a.serviceAccount ?? { name: "external-secrets", namespace: "external-secrets" };
    return { mount: a.mountPath, name: a.role, bound_service_account_names: [sa.name], bound_service_account_namespaces: [sa.namespace], token_policies: [esoPolicy(cfg).name], token_ttl: "1h" };
}

/** The reconciler's Kubernetes auth role: its ServiceAccount (stacks/reconciler.ts names it platform-secrets-reconciler). */
export function reconcilerRole(cfg: StackConfig): KubernetesAuthRoleOut | undefined {
    const pol = reconcilerPolicy(cfg);
    const a = cfg.reconciler.vault.auth;
    if (!pol || a.method !== "kubernetes") return undefined;
    return { mount: a.mount, name: a.role, bound_service_account_names: ["platform-secrets-reconciler"], bound_service_account_namespaces: [cfg.reconciler.namespace], token_policies: [pol.name], token_ttl: "1h", audience: a.audience };
}

/** The stack outputs `vaultPolicies` and `vaultKubernetesAuthRoles` (absent entries left out). */
export function vaultAccess(cfg: StackConfig, skipChildToken = false): { vaultPolicies: Record<string, VaultPolicyOut>; vaultKubernetesAuthRoles: Record<string, KubernetesAuthRoleOut> } {
    const rec = reconcilerPolicy(cfg);
    const er = esoRole(cfg);
    const rr = reconcilerRole(cfg);
    return {
        vaultPolicies: { eso: esoPolicy(cfg), ...(rec ? { reconciler: rec } : {}), pulumi: pulumiPolicy(cfg, skipChildToken) },
        vaultKubernetesAuthRoles: { ...(er ? { eso: er } : {}), ...(rr ? { reconciler: rr } : {}) },
    };
}
