import { ConfigError, configKey } from "./errors";
import { Obj, dnsLabel, fail, vaultPath } from "./readers";
import type { InstallationSettings, StackConfig } from "./types";

/**
 * Several stacks side by side (issue 20): one per environment in one Vault, several in one cluster. Everything here
 * is pure over the decoded config; the program applies it (stacks/ownership.ts, stacks/cluster.ts).
 */

/** What an empty stack must set, checked before anything else so the first preview lists all of it at once. */
export function missingRequired(c: Obj): string[] {
    const missing: string[] = [];
    if (!c.environment) missing.push("environment");
    if (!c.vaultAddress) missing.push("vaultAddress");
    return missing;
}

const EXAMPLES: Record<string, string> = {
    environment: "dev",
    vaultAddress: "https://vault.example.internal:8200",
};

export function failMissing(missing: string[]): never {
    const keys = missing.map((k) => configKey(k)).join(", ");
    const fix = missing.map((k) => `pulumi config set ${configKey(k)} ${EXAMPLES[k] ?? "<value>"}`).join("; ");
    throw new ConfigError(keys, `${missing.length === 1 ? "is" : "are"} not set (this stack has no value and there is no safe default)`, fix);
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts a plain-http Vault address may name. */
export function isLoopbackHost(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, "").toLowerCase();
    return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * A Vault URL (no path). Plain http is refused except on loopback: the token and every password would cross the
 * network in clear (an in-cluster Vault without TLS is reached through a local port-forward, or given TLS).
 */
export function vaultUrl(address: string, key: string, emptyFix: string): string {
    if (!/^https?:\/\/[^\s/]+\/?$/.test(address)) fail(key, `"${address}" is not a Vault server URL`, `write e.g. "https://vault.vault.svc:8200" (no path)${emptyFix}`);
    const u = new URL(address);
    if (u.protocol === "http:" && !isLoopbackHost(u.hostname)) {
        fail(key, `"${address}" is plain http to a non-loopback host: the Vault token and every password would cross the network unencrypted`, `use https://${u.host} (Vault with TLS), or http only to 127.0.0.1 / localhost (e.g. through a port-forward)`);
    }
    return address;
}

/** The installation settings with their defaults: instance and Vault path prefix default to the environment. */
export function installation(c: Obj, environment: string): InstallationSettings {
    const instance = c.instance ? dnsLabel(c.instance as string, "instance") : environment;
    // Cluster-scoped names are "platform-secrets-<instance>-reconciler-secrets" (a RoleBinding/ClusterRole name may
    // be 253, but the instance is also a label value and part of the ClusterSecretStore name): keep it short.
    if (instance.length > 30) fail(c.instance ? "instance" : "environment", `"${instance}" is longer than 30 characters, too long for the names derived from it`, "set platform-secrets:instance to a shorter name");
    // "/" = no prefix: the paths as configured (one stack per Vault, or an existing layout kept on upgrade).
    const raw = c.vaultPathPrefix as string;
    const prefix = raw === "/" ? "" : raw ? vaultPath(raw, "vaultPathPrefix") : environment;
    const ctx = c.kubeContext as string;
    const namespaces = (c.secretNamespaces as string[]).map((n, i) => dnsLabel(n, `secretNamespaces[${i}]`));
    const dup = namespaces.find((n, i) => namespaces.indexOf(n) !== i);
    if (dup) fail("secretNamespaces", `namespace "${dup}" is listed twice`, "list each namespace once");
    return {
        instance,
        vaultPathPrefix: prefix,
        vaultOwnershipCheck: c.vaultOwnershipCheck as boolean,
        ...(ctx ? { kubeContext: ctx } : {}),
        ...(namespaces.length ? { secretNamespaces: namespaces } : {}),
    };
}

/** The Vault ClusterSecretStore name: configured, or derived from the instance so two stacks never share one. */
export function storeNameOf(configured: string, instance: string): string {
    return configured || `vault-kv-${instance}`;
}

/**
 * Applies the path prefix (mutates the parsed config, before the guardrails): every password's vaultPath becomes
 * `<prefix>/<vaultPath>`, and so does every reader that names one of those passwords by its config path
 * (ExternalSecrets, fan-outs, registries, git, GitHub Apps, a hook's explicit vault.path). A path that names no
 * password of this stack is someone else's (externalVaultPaths): it is used as written, because credentials such as
 * a registry login are often shared by every environment on purpose.
 */
export function applyVaultPrefix(cfg: StackConfig): void {
    const prefix = cfg.installation.vaultPathPrefix;
    if (prefix === "") return;
    const own = new Set(cfg.passwords.map((p) => p.vaultPath));
    const map = (p: string): string => (own.has(p) ? `${prefix}/${p}` : p);
    for (const p of cfg.passwords) {
        const unprefixed = p.vaultPath;
        p.vaultPath = `${prefix}/${unprefixed}`;
        for (const c of p.consumers) {
            // Written as in config (the unprefixed path) or already prefixed: both name the password's own path.
            for (const h of c.hooks) if (h.type === "postgres" && h.vault?.path === unprefixed) h.vault.path = p.vaultPath;
        }
    }
    for (const e of cfg.externalSecrets) e.vaultPath = map(e.vaultPath);
    for (const e of cfg.clusterExternalSecrets) e.vaultPath = map(e.vaultPath);
    for (const e of cfg.dockerRegistries) e.vaultPath = map(e.vaultPath);
    for (const e of cfg.gitCredentials) e.vaultPath = map(e.vaultPath);
    for (const e of cfg.github.apps) e.vaultPath = map(e.vaultPath);
    // A password's path also declared as external is a contradiction the guardrails report (on the prefixed path).
    cfg.externalVaultPaths = cfg.externalVaultPaths.map(map);
}
