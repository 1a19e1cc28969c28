import { fail, selectorMatches } from "./readers";
import { gitTargetKeys } from "./git";
import type { CertManagerIssuerSpec, EsoGeneratorSpec, LabelSelector, StackConfig, StoreSettings } from "./types";

/**
 * Preview-time guardrails: each is a pure check over the parsed config that throws a ConfigError naming the key
 * and the fix. They encode the field reports: seed 004 (volatile ESO Password generators, cert-manager
 * apiKeySecretRef without namespace) and seed 003 (secrets fanned out where the store will not serve them).
 */
export function checkGuardrails(cfg: StackConfig): void {
    checkPasswordPolicy(cfg);
    checkVaultPathOwnership(cfg);
    checkHooks(cfg);
    checkRotationReachesConsumers(cfg);
    checkVaultPathsKnown(cfg);
    checkStoreConditions(cfg);
    checkTargetCollisions(cfg);
    cfg.esoGenerators.forEach((g, idx) => checkGenerator(g, `esoGenerators[${idx}]`));
    cfg.certManagerIssuers.forEach((iss, idx) => checkIssuer(iss, `certManagerIssuers[${idx}]`));
}

/** A password shorter than the policy. */
export function checkPasswordPolicy(cfg: StackConfig): void {
    cfg.passwords.forEach((p, idx) => {
        if (p.length < cfg.passwordMinLength) {
            fail(`passwords[${idx}].length`, `password "${p.name}" is ${p.length} characters, shorter than the policy minimum ${cfg.passwordMinLength} (platform-secrets:passwordMinLength)`, `set length to ${cfg.passwordMinLength} or more (bump rotation too if the password already exists)`);
        }
    });
}

/** Two secrets on one Vault path: two writers would overwrite each other's versions on every `pulumi up`. */
export function checkVaultPathOwnership(cfg: StackConfig): void {
    const owner = new Map<string, string>();
    cfg.passwords.forEach((p, idx) => {
        const prev = owner.get(p.vaultPath);
        if (prev) fail(`passwords[${idx}].vaultPath`, `Vault path "${p.vaultPath}" is already written by ${prev}`, "give each secret its own vaultPath");
        owner.set(p.vaultPath, `passwords[${idx}] ("${p.name}")`);
    });
    cfg.externalVaultPaths.forEach((path, idx) => {
        const prev = owner.get(path);
        if (prev) fail(`externalVaultPaths[${idx}]`, `Vault path "${path}" is written by this stack (${prev}) and declared as written elsewhere`, "remove it from externalVaultPaths, or move the password to another path");
    });
}

/**
 * Hooks belong to one password (issues 10 and 12): a postgres hook logs in with the PREVIOUS version of that
 * password's own Vault path (Vault keeps it when `pulumi up` writes the new one) and may read nothing else, and the
 * synced secret holds the new value under the consumer's secretKey. Hooks and fan-out grants only act through the
 * reconciler, so they need it deployed.
 */
export function checkHooks(cfg: StackConfig): void {
    cfg.passwords.forEach((p, i) => p.consumers.forEach((c, j) => {
        const key = `passwords[${i}].consumers[${j}].hooks`;
        if (c.hooks.length > 0 && !cfg.reconciler.enabled) {
            fail(key, "hooks run only in the reconciler, which reconcilerEnabled: false leaves out", "set platform-secrets:reconcilerEnabled: true, or remove the hooks");
        }
        c.hooks.forEach((h, k) => {
            switch (h.type) {
                case "postgres": {
                    const own = `password "${p.name}" is stored at mount "${cfg.vault.kvMount}", path "${p.vaultPath}", key "${p.vaultKey}"`;
                    if (h.vault?.path !== undefined && h.vault.path !== p.vaultPath) {
                        fail(`${key}[${k}].vault.path`, `the hook would read Vault path "${h.vault.path}", but a hook may read only its own password's path (${own}), whose previous version is what still logs in`, `remove vault (it defaults to the password's own path) or set vault.path: ${p.vaultPath}`);
                    }
                    if (h.vault?.mount !== undefined && h.vault.mount !== cfg.vault.kvMount) {
                        fail(`${key}[${k}].vault.mount`, `the hook would read mount "${h.vault.mount}", but ${own}`, `remove vault.mount (it defaults to platform-secrets:vaultKvMount) or set it to ${cfg.vault.kvMount}`);
                    }
                    if (h.vault?.key !== undefined && h.vault.key !== p.vaultKey) {
                        fail(`${key}[${k}].vault.key`, `the hook would read key "${h.vault.key}", but ${own}`, `remove vault.key (it defaults to the password's vaultKey) or set it to ${p.vaultKey}`);
                    }
                    if (h.strategy === "alternate") {
                        const pair = alternatePairOf(p);
                        if (pair && (pair[0] !== h.roles?.[0] || pair[1] !== h.roles?.[1])) {
                            fail(`${key}[${k}].roles`, `password "${p.name}" already alternates between ${pair.join(" and ")}; Vault holds one active role per password`, `use roles: [${pair.join(", ")}] here too, or give this database its own password`);
                        }
                        if ((h.usernameKey ?? "username") === c.secretKey) {
                            fail(`${key}[${k}].usernameKey`, `secret ${c.namespace}/${c.secretName} holds the password under "${c.secretKey}", so the role name cannot go there too`, `set usernameKey to another key (default "username")`);
                        }
                    }
                    if (h.passwordKey !== undefined && h.passwordKey !== c.secretKey) {
                        fail(`${key}[${k}].passwordKey`, `secret ${c.namespace}/${c.secretName} holds the password under key "${c.secretKey}", not "${h.passwordKey}"`, `remove passwordKey (it defaults to the consumer's secretKey) or set it to ${c.secretKey}`);
                    }
                    break;
                }
                case "job-rerun":
                    break;
                default: {
                    const never: never = h;
                    throw new Error(`unknown hook ${JSON.stringify(never)}`);
                }
            }
        });
    }));
    if (cfg.reconciler.fanOutGrants.length > 0 && !cfg.reconciler.enabled) {
        fail("reconcilerFanOutGrants", "fan-out grants are read only by the reconciler, which reconcilerEnabled: false leaves out", "set platform-secrets:reconcilerEnabled: true, or remove reconcilerFanOutGrants");
    }
}

/** The first alternate hook's roles of a password (the pair every other alternate hook of it must repeat). */
function alternatePairOf(p: StackConfig["passwords"][number]): readonly string[] | undefined {
    for (const c of p.consumers) for (const h of c.hooks) if (h.type === "postgres" && h.strategy === "alternate" && h.roles) return h.roles;
    return undefined;
}

/**
 * Why a refresh policy can make a password unrotatable (ESO v0.16.2, pkg/controllers/externalsecret shouldRefresh):
 * a rotation reaches ESO as a changed `platform-secrets.io/rotation` annotation (a label on ClusterExternalSecrets),
 * and ESO re-syncs on a metadata or spec change only under OnChange and Periodic. CreatedOnce never syncs again
 * after its first sync (only when its Secret is deleted); Periodic with a zero refreshInterval syncs once and stops
 * too. Such a consumer would keep the old value forever while the database moves on: refused (pure).
 */
export function rotationBlocker(policy: string, interval: string | undefined): "CreatedOnce" | "zero-interval" | undefined {
    if (policy === "CreatedOnce") return "CreatedOnce";
    if (policy === "Periodic" && interval !== undefined && zeroDuration(interval)) return "zero-interval";
    return undefined;
}

/** Everything fed by a stable password must be able to receive its next rotation. */
export function checkRotationReachesConsumers(cfg: StackConfig): void {
    const owner = new Map(cfg.passwords.map((p, i) => [p.vaultPath, { name: p.name, i }]));
    const check = (key: string, policy: string, interval: string, name: string, counter: string) => {
        switch (rotationBlocker(policy, interval)) {
            case "CreatedOnce":
                fail(`${key}.refreshPolicy`, `refreshPolicy CreatedOnce never re-syncs after the first sync (ESO re-syncs it only when its Secret is deleted), so password "${name}" could never be rotated here: bumping ${counter} would leave this copy on the old value`, "set refreshPolicy: OnChange (re-syncs as soon as the rotation counter changes) or Periodic with a refreshInterval");
                break;
            case "zero-interval":
                fail(`${key}.refreshInterval`, `refreshPolicy Periodic with refreshInterval ${interval} syncs once and never again, so password "${name}" could never be rotated here: bumping ${counter} would leave this copy on the old value`, "set a non-zero refreshInterval (e.g. 1h), or refreshPolicy: OnChange");
                break;
            default:
        }
    };
    const counter = (i: number) => `platform-secrets:passwords[${i}].rotation`;
    cfg.passwords.forEach((p, i) => p.consumers.forEach((c, j) => check(`passwords[${i}].consumers[${j}]`, c.refreshPolicy, c.refreshInterval, p.name, counter(i))));
    const readers: [string, string, string, string][] = [
        ...cfg.externalSecrets.map((e, i): [string, string, string, string] => [`externalSecrets[${i}]`, e.vaultPath, e.refreshPolicy, e.refreshInterval]),
        ...cfg.clusterExternalSecrets.map((e, i): [string, string, string, string] => [`clusterExternalSecrets[${i}]`, e.vaultPath, e.refreshPolicy, e.refreshInterval]),
        // These are always Periodic: only a zero interval blocks a rotation.
        ...cfg.dockerRegistries.map((e, i): [string, string, string, string] => [`dockerRegistries[${i}]`, e.vaultPath, "Periodic", e.refreshInterval]),
        ...cfg.gitCredentials.map((e, i): [string, string, string, string] => [`gitCredentials[${i}]`, e.vaultPath, "Periodic", e.refreshInterval]),
    ];
    for (const [key, path, policy, interval] of readers) {
        const p = owner.get(path);
        if (p) check(key, policy, interval, p.name, counter(p.i));
    }
}

/** Every ExternalSecret must read a path this stack writes or config declares: a typo would sync nothing. */
export function checkVaultPathsKnown(cfg: StackConfig): void {
    const known = new Set([...cfg.passwords.map((p) => p.vaultPath), ...cfg.externalVaultPaths]);
    for (const [key, path] of vaultReaders(cfg)) {
        if (!known.has(path)) {
            fail(key, `Vault path "${path}" is neither written by this stack (passwords) nor declared in platform-secrets:externalVaultPaths`, `fix the path, or add "${path}" to externalVaultPaths if another process writes it`);
        }
    }
}

/** [config key, vault path] of everything that reads Vault through the store. */
export function vaultReaders(cfg: StackConfig): [string, string][] {
    return [
        ...cfg.externalSecrets.map((e, idx): [string, string] => [`externalSecrets[${idx}].vaultPath`, e.vaultPath]),
        ...cfg.clusterExternalSecrets.map((e, idx): [string, string] => [`clusterExternalSecrets[${idx}].vaultPath`, e.vaultPath]),
        ...cfg.dockerRegistries.map((e, idx): [string, string] => [`dockerRegistries[${idx}].vaultPath`, e.vaultPath]),
        ...cfg.gitCredentials.map((e, idx): [string, string] => [`gitCredentials[${idx}].vaultPath`, e.vaultPath]),
        ...cfg.github.apps.map((e, idx): [string, string] => [`githubApps[${idx}].vaultPath`, e.vaultPath]),
    ];
}

export function storeHasConditions(store: StoreSettings): boolean {
    return store.allowedNamespaces.length > 0 || store.allowedNamespaceRegexes.length > 0 || store.allowedNamespaceLabels.length > 0;
}

/**
 * ESO's rule for a ClusterSecretStore: with no conditions every namespace may use it; otherwise a namespace may if
 * ANY condition matches (listed name, unanchored Go regexp, or namespaceSelector over its labels).
 */
export function namespaceAllowed(store: StoreSettings, namespace: string, labels: Record<string, string> | undefined): boolean {
    if (!storeHasConditions(store)) return true;
    if (store.allowedNamespaces.includes(namespace)) return true;
    if (store.allowedNamespaceRegexes.some((r) => new RegExp(r).test(namespace))) return true;
    return labels !== undefined && store.allowedNamespaceLabels.some((l) => selectorMatches({ matchLabels: { [l.key]: l.value } }, labels));
}

/**
 * Does every namespace a ClusterExternalSecret selector picks satisfy one of the store's label conditions? True
 * when the selector itself requires that label (matchLabels, or matchExpressions In with that single value).
 */
export function selectorWithinStore(store: StoreSettings, sel: LabelSelector): boolean {
    if (!storeHasConditions(store)) return true;
    return store.allowedNamespaceLabels.some(({ key, value }) => sel.matchLabels?.[key] === value || (sel.matchExpressions ?? []).some((e) => e.key === key && e.operator === "In" && e.values?.length === 1 && e.values[0] === value));
}

/** A consumer namespace the store's conditions exclude: ESO would report the store as not usable there. */
export function checkStoreConditions(cfg: StackConfig): void {
    const conds = `platform-secrets:storeAllowedNamespaces / storeAllowedNamespaceRegexes / storeAllowedNamespaceLabels`;
    const check = (key: string, ns: string) => {
        if (!namespaceAllowed(cfg.store, ns, cfg.namespaceLabels[ns])) {
            fail(key, `namespace "${ns}" is excluded by the conditions of ClusterSecretStore "${cfg.store.name}"`, `add "${ns}" to ${conds}, or declare its labels in platform-secrets:namespaceLabels if they match the label condition`);
        }
    };
    cfg.passwords.forEach((p, i) => p.consumers.forEach((c, j) => check(`passwords[${i}].consumers[${j}].namespace`, c.namespace)));
    cfg.externalSecrets.forEach((e, i) => check(`externalSecrets[${i}].namespace`, e.namespace));
    cfg.gitCredentials.forEach((g, i) => check(`gitCredentials[${i}].sourceNamespace`, g.sourceNamespace));
    if (cfg.github.apps.length > 0) check("workflowsNamespace", cfg.github.workflowsNamespace);
    const checkSelectors = (key: string, sels: LabelSelector[]) =>
        sels.forEach((sel, j) => {
            if (!selectorWithinStore(cfg.store, sel)) {
                const labels = cfg.store.allowedNamespaceLabels.map((l) => `${l.key}=${l.value}`);
                fail(`${key}[${j}]`, `selects namespaces that the conditions of ClusterSecretStore "${cfg.store.name}" do not guarantee`, labels.length ? `require one of ${labels.join(" | ")} in the selector's matchLabels, or add its label to platform-secrets:storeAllowedNamespaceLabels` : "add a platform-secrets:storeAllowedNamespaceLabels condition the selector also requires");
            }
        });
    cfg.clusterExternalSecrets.forEach((e, i) => checkSelectors(`clusterExternalSecrets[${i}].namespaceSelectors`, e.namespaceSelectors));
    cfg.dockerRegistries.forEach((d, i) => {
        checkSelectors(`dockerRegistries[${i}].namespaceSelectors`, d.namespaceSelectors);
        if (d.kargo) checkSelectors(`dockerRegistries[${i}].kargo.namespaceSelectors`, d.kargo.namespaceSelectors);
    });
}

/** Two ExternalSecrets writing one Kubernetes Secret fight over it on every refresh. */
export function checkTargetCollisions(cfg: StackConfig): void {
    const seen = new Map<string, string>();
    const add = (key: string, ns: string, name: string) => {
        const id = `${ns}/${name}`;
        const prev = seen.get(id);
        if (prev) fail(key, `Secret ${id} is already written by ${prev}`, "give one of them another secretName");
        seen.set(id, key);
    };
    cfg.passwords.forEach((p, i) => p.consumers.forEach((c, j) => add(`passwords[${i}].consumers[${j}].secretName`, c.namespace, c.secretName)));
    cfg.externalSecrets.forEach((e, i) => add(`externalSecrets[${i}].name`, e.namespace, e.name));
    cfg.gitCredentials.forEach((g, i) => add(`gitCredentials[${i}].name`, g.sourceNamespace, g.name));
    // The derived secrets too (providers refuse to overwrite a secret they do not own; better to say so at preview).
    for (const [key, id] of gitTargetKeys(cfg.gitCredentials)) {
        const [ns, name] = id.split("/");
        add(key, ns, name);
    }
    cfg.github.apps.forEach((a, i) => add(`githubApps[${i}].secretName`, cfg.github.workflowsNamespace, a.secretName));
    cfg.esoGenerators.forEach((g, i) => add(`esoGenerators[${i}].target.secretName`, g.namespace, g.target.secretName));
    const apps = new Set<string>();
    cfg.github.apps.forEach((a, i) => {
        if (apps.has(a.name)) fail(`githubApps[${i}].name`, `GitHub App "${a.name}" is declared twice`, "remove the duplicate entry");
        apps.add(a.name);
    });
}

function zeroDuration(d: string): boolean {
    return (d.match(/\d+(\.\d+)?/g) ?? []).every((n) => Number(n) === 0);
}

/**
 * Seed 004: an ESO Password generator re-rolls the value on every refresh, while databases keep the first one.
 * A Password generator may only back a secret that is created once.
 */
export function checkGenerator(g: EsoGeneratorSpec, key: string): void {
    if (g.kind !== "Password") return;
    const policy = g.target.refreshPolicy ?? "Periodic";
    const periodic = policy === "Periodic" && !zeroDuration(g.target.refreshInterval ?? "1h");
    if (periodic) {
        fail(`${key}.target.refreshPolicy`, `ESO Password generator "${g.name}" refreshes periodically (${g.target.refreshPolicy ? "Periodic" : "default Periodic"}, every ${g.target.refreshInterval ?? "1h"}): every refresh generates a NEW password while consumers keep the old one`, "declare it under platform-secrets:passwords (random → Vault KV, stable until rotation is bumped), or set target.refreshPolicy: CreatedOnce");
    }
}

/** Every `apiKeySecretRef` below spec, with its config path. */
export function findApiKeySecretRefs(v: unknown, path: string): [string, Record<string, unknown>][] {
    if (Array.isArray(v)) return v.flatMap((x, idx) => findApiKeySecretRefs(x, `${path}[${idx}]`));
    if (typeof v !== "object" || v === null) return [];
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => {
        const here: [string, Record<string, unknown>][] = k === "apiKeySecretRef" && typeof x === "object" && x !== null && !Array.isArray(x) ? [[`${path}.${k}`, x as Record<string, unknown>]] : [];
        return [...here, ...findApiKeySecretRefs(x, `${path}.${k}`)];
    });
}

/**
 * Seed 004: a ClusterIssuer's webhook `apiKeySecretRef` without namespace makes cert-manager look in the
 * Certificate's namespace, where the secret is not ("secret not found").
 */
export function checkIssuer(iss: CertManagerIssuerSpec, key: string): void {
    for (const [path, ref] of findApiKeySecretRefs(iss.spec, `${key}.spec`)) {
        if (typeof ref.namespace !== "string" || ref.namespace === "") {
            fail(`${path}.namespace`, `${iss.kind} "${iss.name}" references secret "${String(ref.name ?? "?")}" without a namespace, so cert-manager looks for it in each Certificate's namespace`, "set apiKeySecretRef.namespace to the namespace the secret lives in (e.g. cert-manager)");
        }
    }
}
