import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "./config/types";
import { configKey } from "./config/errors";

/**
 * Ownership of the Vault paths a stack writes (issue 20). Every password's KV v2 secret carries custom_metadata
 * naming the stack and project that write it; at preview the program reads the metadata of each path it is about to
 * write and refuses one another stack owns, so dev's `up` can never write a new version of prod's password (and the
 * reconciler never runs ALTER ROLE for it). The check reads with the same address and token as the vault provider
 * (`vault:address` / `vault:token`, else VAULT_ADDR / VAULT_TOKEN).
 */
export const OWNER_KEYS = { managedBy: "managed-by", project: "pulumi-project", stack: "pulumi-stack" } as const;
export const MANAGED_BY = "platform-secrets";

export interface StackIdentity {
    project: string;
    stack: string;
}

/** The custom_metadata stamped on every written path. */
export function ownershipMetadata(me: StackIdentity): Record<string, string> {
    return { [OWNER_KEYS.managedBy]: MANAGED_BY, [OWNER_KEYS.project]: me.project, [OWNER_KEYS.stack]: me.stack };
}

/** What Vault says about a path: absent, present without our stamp, or owned by a stack. */
export type PathOwner = { state: "absent" } | { state: "unowned" } | { state: "owned"; project: string; stack: string };

export function ownerOf(metadataStatus: number, customMetadata: Record<string, string> | null | undefined): PathOwner {
    if (metadataStatus === 404) return { state: "absent" };
    const m = customMetadata ?? {};
    if (!m[OWNER_KEYS.stack]) return { state: "unowned" };
    return { state: "owned", project: m[OWNER_KEYS.project] ?? "", stack: m[OWNER_KEYS.stack] };
}

export interface WrittenPath {
    /** Config key that declares the path, e.g. passwords[1].vaultPath. */
    key: string;
    mount: string;
    path: string;
}

/** The refusal (pure): undefined when this stack may write the path. Names the path, the owner and the fix. */
export function ownershipRefusal(w: WrittenPath, owner: PathOwner, me: StackIdentity): string | undefined {
    if (owner.state !== "owned") return undefined;
    if (owner.stack === me.stack && owner.project === me.project) return undefined;
    const full = `${w.mount}/${w.path}`;
    return (
        `${configKey(w.key)}: Vault path ${full} is owned by stack "${owner.stack}" of project "${owner.project}" (its KV v2 custom_metadata), ` +
        `and this stack ("${me.stack}") would write a new version of that stack's secret; fix: give this stack its own ` +
        `${configKey("vaultPathPrefix")} (default: the environment) or another vaultPath; if stack "${owner.stack}" is gone for good, hand the path over with ` +
        `\`vault kv metadata patch -mount=${w.mount} -custom-metadata=${OWNER_KEYS.stack}=${me.stack} -custom-metadata=${OWNER_KEYS.project}=${me.project} ${w.path}\``
    );
}

/** Every Vault path this stack writes, with the config key that declares it. */
export function writtenPaths(cfg: StackConfig): WrittenPath[] {
    return cfg.passwords.map((p, i) => ({ key: `passwords[${i}].vaultPath`, mount: cfg.vault.kvMount, path: p.vaultPath }));
}

/** The vault provider's connection, as that provider resolves it (config first, then the environment). */
export function vaultConnection(config: (k: string) => string | undefined = (k) => pulumi.runtime.getConfig(k), env: NodeJS.ProcessEnv = process.env): { address?: string; token?: string; namespace?: string } {
    return {
        address: config("vault:address") || env.VAULT_ADDR,
        token: config("vault:token") || env.VAULT_TOKEN,
        namespace: config("vault:namespace") || env.VAULT_NAMESPACE,
    };
}

/**
 * Reads the metadata of every written path and resolves with the refusal per path (`<path>` → message; empty when
 * every path may be written). It never rejects: each StablePassword hands its path's refusal to its
 * PasswordPolicyGuard, whose check fails the preview with it, and RandomPassword and the Vault write depend on the
 * guard, so nothing is written (a rejected input would instead leave the engine waiting on the dependents). An
 * absent path is free; a path without our stamp (written by hand, or by this stack before stamps existed) is taken
 * over and stamped by this run, with a warning. Messages name the path and never carry a response body.
 */
export async function checkVaultOwnership(cfg: StackConfig, me: StackIdentity, conn = vaultConnection()): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (!cfg.installation.vaultOwnershipCheck) return out;
    const paths = writtenPaths(cfg);
    if (paths.length === 0) return out;
    if (!conn.address || !conn.token) {
        for (const w of paths) out[w.path] = `${configKey("vaultOwnershipCheck")}: cannot check who owns the Vault paths this stack writes: no Vault address or token (vault:address / vault:token or VAULT_ADDR / VAULT_TOKEN, as for the vault provider); fix: provide them, or set vaultOwnershipCheck: false`;
        return out;
    }
    const base = conn.address.replace(/\/+$/, "");
    for (const w of paths) {
        const refusal = await ownershipOfPath(base, conn.token, conn.namespace, w, cfg.installation.vaultPathPrefix, me);
        if (refusal) out[w.path] = refusal;
    }
    return out;
}

async function ownershipOfPath(base: string, token: string, namespace: string | undefined, w: WrittenPath, prefix: string, me: StackIdentity): Promise<string | undefined> {
    let status: number;
    let body: { data?: { custom_metadata?: Record<string, string> | null } } | undefined;
    try {
        const res = await fetch(`${base}/v1/${w.mount}/metadata/${w.path}`, { headers: { "x-vault-token": token, ...(namespace ? { "x-vault-namespace": namespace } : {}) } });
        status = res.status;
        body = status === 200 ? ((await res.json()) as typeof body) : undefined;
    } catch (e) {
        return `${configKey(w.key)}: cannot read the metadata of Vault path ${w.mount}/${w.path} at ${base} (${(e as Error).message}); fix: check vault:address / VAULT_ADDR, or set ${configKey("vaultOwnershipCheck")}: false`;
    }
    if (status === 403) {
        return `${configKey(w.key)}: the Vault token may not read ${w.mount}/metadata/${w.path} (HTTP 403), so the stack cannot check who owns the path; fix: grant read on ${w.mount}/metadata/${prefix ? `${prefix}/*` : w.path} (the pulumi policy in the stack output vaultPolicies)`;
    }
    if (status !== 200 && status !== 404) return `${configKey(w.key)}: reading the metadata of Vault path ${w.mount}/${w.path} failed: HTTP ${status}; fix: check that ${w.mount} is a KV v2 mount`;
    const owner = ownerOf(status, body?.data?.custom_metadata);
    if (owner.state === "unowned") {
        void pulumi.log.warn(`Vault path ${w.mount}/${w.path} exists without an owner stamp; this stack takes it over and stamps it (${OWNER_KEYS.stack}=${me.stack})`);
    }
    return ownershipRefusal(w, owner, me);
}
