import type { HookBinding, HookSpec, ReconcilerPolicy } from "../reconciler/api";
import type { PasswordConsumer, PasswordSpec, StackConfig } from "./config/types";

/**
 * The reconciler's administrator policy, rendered from stack config (pure). Hooks and fan-out grants live in the
 * policy ConfigMap in the reconciler's own namespace, which only the stack owner can write; a tenant who can write
 * a Secret can no longer declare them (issue 10).
 */
export function buildReconcilerPolicy(cfg: StackConfig): ReconcilerPolicy {
    const hooks: HookBinding[] = [];
    for (const p of cfg.passwords) {
        for (const c of p.consumers) {
            if (c.hooks.length === 0) continue;
            hooks.push({ source: { namespace: c.namespace, name: c.secretName }, hooks: c.hooks.map((h) => withDefaults(h, p, c, cfg.vault.kvMount)) });
        }
    }
    return {
        fanOut: cfg.reconciler.fanOutGrants.map((g) => ({ ...g, ...(g.namespaces ? { namespaces: [...g.namespaces] } : {}) })),
        hooks,
        ...(cfg.reconciler.pauseRestarts ? { pauseRestarts: { reason: cfg.reconciler.pauseRestarts } } : {}),
    };
}

/**
 * A hook with the stack's defaults written out, so the reconciler never guesses: a postgres hook reads its own
 * password's Vault mount/path/key (the previous version there is the password the database still accepts; the
 * guardrails reject any other path), and finds the new password under the consumer's secretKey.
 */
export function withDefaults(h: HookSpec, p: PasswordSpec, c: PasswordConsumer, kvMount: string): HookSpec {
    switch (h.type) {
        case "postgres":
            return {
                ...h,
                passwordKey: h.passwordKey ?? c.secretKey,
                ...(h.strategy === "alternate" ? { usernameKey: usernameSecretKey(c) } : {}),
                vault: { mount: h.vault?.mount ?? kvMount, path: h.vault?.path ?? p.vaultPath, key: h.vault?.key ?? p.vaultKey },
            };
        case "job-rerun":
            return { ...h };
        default: {
            const never: never = h;
            throw new Error(`unknown hook ${JSON.stringify(never)}`);
        }
    }
}

/** The Vault key beside the password that names the active login role of a `strategy: alternate` hook. */
export const VAULT_USERNAME_KEY = "username";

/** The two login roles of the password's alternate postgres hook, or undefined (the guardrails allow one pair per password). */
export function alternateRoles(p: PasswordSpec): [string, string] | undefined {
    for (const c of p.consumers) for (const h of c.hooks) if (h.type === "postgres" && h.strategy === "alternate" && h.roles) return h.roles;
    return undefined;
}

/** The login role a rotation counter makes active (pure): the roles take turns, one per rotation. */
export function activeRole(roles: readonly [string, string], rotation: number): string {
    return roles[rotation % 2];
}

/** The Secret key the active role's name lands under for a consumer: its alternate hook's usernameKey, else "username". */
export function usernameSecretKey(c: PasswordConsumer): string {
    for (const h of c.hooks) if (h.type === "postgres" && h.strategy === "alternate" && h.usernameKey) return h.usernameKey;
    return VAULT_USERNAME_KEY;
}

/** Whether any hook needs Vault (only postgres hooks read the previous password): otherwise the reconciler gets no Vault login at all. */
export function policyNeedsVault(policy: ReconcilerPolicy): boolean {
    return policy.hooks.some((b) => b.hooks.some((h) => h.type === "postgres"));
}

/** `<mount>/<path>` of every Vault secret a hook reads: what the reconciler's Vault role must be allowed to read, nothing more. */
export function hookVaultPaths(policy: ReconcilerPolicy): string[] {
    const paths = new Set<string>();
    for (const b of policy.hooks) for (const h of b.hooks) if (h.type === "postgres" && h.vault) paths.add(`${h.vault.mount ?? "secret"}/${h.vault.path}`);
    return [...paths].sort();
}
