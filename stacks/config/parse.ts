import type * as pulumi from "@pulumi/pulumi";
import { ALL_KEYS, SCALAR_KEYS, STRUCTURED_KEYS } from "./schema";
import { Obj, asArray, asObject, closest, dnsLabel, dnsSubdomain, duration, fail, int, labelMap, vaultPath } from "./readers";
import type { GitHubAppsMode, ReconcilerVaultAuth, StackConfig, VaultAuth } from "./types";
import { checkGuardrails } from "./guardrails";
import { clusterExternalSecret, dockerRegistry, esoGenerator, externalSecret, fanOutGrant, githubApp, issuer, password } from "./entries";
import { gitCredential } from "./git";
import { applyVaultPrefix, failMissing, installation, missingRequired, storeNameOf, vaultUrl } from "./environments";
import { DriftSecretValues, parseDrift } from "./drift";

/**
 * Raw config as Pulumi hands it to the program: short key (no `platform-secrets:` prefix) → string; structured
 * values are JSON text. Missing keys take the schema default.
 */
export type RawConfig = Record<string, string | undefined>;

/** Decode every key to a JS value (schema defaults applied), rejecting unknown keys and ill-typed scalars. */
export function decodeRaw(raw: RawConfig): Obj {
    for (const k of Object.keys(raw)) {
        if (!ALL_KEYS.includes(k)) {
            const hint = closest(k, ALL_KEYS);
            fail(k, "is not a setting this program reads", hint ? `did you mean "platform-secrets:${hint}"?` : "remove it from the stack file");
        }
    }
    const out: Obj = {};
    for (const k of SCALAR_KEYS) {
        const text = raw[k.key];
        if (text === undefined) {
            out[k.key] = k.default;
            continue;
        }
        switch (k.type) {
            case "string":
                out[k.key] = text;
                if (k.oneOf && !k.oneOf.includes(text)) fail(k.key, `"${k.secret ? "<secret>" : text}" is not allowed`, `use one of ${k.oneOf.join(", ")}`);
                break;
            case "integer":
                if (!/^-?\d+$/.test(text.trim())) fail(k.key, "must be an integer", `set it to a whole number (default ${String(k.default)})`);
                out[k.key] = Number(text.trim());
                break;
            case "boolean":
                if (text !== "true" && text !== "false") fail(k.key, "must be true or false", "set it to true or false");
                out[k.key] = text === "true";
                break;
            case "array":
                out[k.key] = asArray(parseJson(text, k.key), k.key).map((x, idx) => {
                    if (typeof x !== "string") fail(`${k.key}[${idx}]`, "must be a string", "quote the value");
                    return x;
                });
                break;
            default: {
                const never: never = k.type;
                throw new Error(`unknown type ${String(never)}`);
            }
        }
    }
    for (const k of STRUCTURED_KEYS) {
        const text = raw[k.key];
        const v = text === undefined ? k.default : parseJson(text, k.key);
        out[k.key] = k.shape === "array" ? asArray(v, k.key) : asObject(v, k.key);
    }
    return out;
}

function parseJson(text: string, key: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return fail(key, "is not structured config", "write it as a YAML mapping/sequence in the stack file (or `pulumi config set --path`)");
    }
}

function labelList(list: string[], key: string): { key: string; value: string }[] {
    return list.map((kv, idx) => {
        const eq = kv.indexOf("=");
        if (eq <= 0) fail(`${key}[${idx}]`, `"${kv}" is not key=value`, 'write e.g. "secrets/gh-docker-registry=true"');
        const [[k, v]] = Object.entries(labelMap({ [kv.slice(0, eq)]: kv.slice(eq + 1) }, `${key}[${idx}]`));
        return { key: k, value: v };
    });
}

/** The reconciler's own Vault login (separate from ESO's: its role should read only the hooked passwords' paths). */
function reconcilerVault(c: Obj, esoAddress: string): { address: string; auth: ReconcilerVaultAuth; caCert?: string } {
    const S = (k: string) => c[k] as string;
    const address = S("reconcilerVaultAddress") ? vaultUrl(S("reconcilerVaultAddress"), "reconcilerVaultAddress", ", or leave it empty to use vaultAddress") : esoAddress;
    const caCert = S("reconcilerVaultCaCert").trim();
    if (caCert && !/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----$/.test(caCert)) {
        fail("reconcilerVaultCaCert", "is not a PEM certificate bundle", "paste the CA's PEM (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----), or leave it empty for the image's CAs");
    }
    if (caCert && !address.startsWith("https://")) fail("reconcilerVaultCaCert", `is set but the reconciler's Vault address ${address} is not https`, "use an https:// address, or leave reconcilerVaultCaCert empty");
    const withCa = <T extends object>(v: T) => (caCert ? { ...v, caCert } : v);
    const method = S("reconcilerVaultAuthMethod") as ReconcilerVaultAuth["method"];
    switch (method) {
        case "kubernetes": {
            const role = S("reconcilerVaultRole");
            if (!role) fail("reconcilerVaultRole", "is empty", "set the Vault Kubernetes auth role the reconciler's ServiceAccount logs in with");
            const mount = S("reconcilerVaultAuthMount");
            if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(mount)) fail("reconcilerVaultAuthMount", `"${mount}" is not a Vault auth mount path`, 'write e.g. "kubernetes" (no leading "/", no "auth/")');
            const audience = S("reconcilerVaultAudience");
            if (!/^[^\s,]+$/.test(audience)) fail("reconcilerVaultAudience", `"${audience}" is not a token audience`, 'write one audience without spaces or commas, e.g. "vault", and set the same audience on the Vault role');
            return withCa({ address, auth: { method, role, mount, audience } });
        }
        case "token-file":
            return withCa({ address, auth: { method, secretName: dnsSubdomain(S("reconcilerVaultTokenSecretName"), "reconcilerVaultTokenSecretName") } });
        default: {
            const never: never = method;
            throw new Error(`unknown reconciler Vault auth ${String(never)}`);
        }
    }
}

/**
 * The validator: raw Pulumi config → StackConfig, defaults applied, then the guardrails. Pure (the token output is
 * passed through untouched); throws ConfigError naming the key and the fix.
 */
/** The incident pause's reason, or undefined when not paused; one printable line (it reaches logs and the CLI). */
function pauseReason(v: string | undefined): string | undefined {
    const reason = (v ?? "").trim();
    if (reason === "") return undefined;
    if (!/^[^\p{Cc}]{1,200}$/u.test(reason)) fail("reconcilerPauseRestarts", "must be one line of at most 200 printable characters", 'write the reason, e.g. "INC-123: no rollouts", or "" to resume');
    return reason;
}

/** How ESO logs in to Vault (vaultAuthMethod and its keys). */
function esoVaultAuth(S: (k: string) => string): VaultAuth {
    const authMethod = S("vaultAuthMethod") as VaultAuth["method"];
    switch (authMethod) {
        case "kubernetes": {
            const sa = S("vaultKubernetesServiceAccount");
            const auth: VaultAuth = { method: "kubernetes", role: S("vaultKubernetesRole"), mountPath: S("vaultKubernetesMountPath") };
            if (!auth.role) fail("vaultKubernetesRole", "is empty", "set the Vault Kubernetes auth role ESO logs in with");
            if (sa) auth.serviceAccount = { name: dnsSubdomain(sa, "vaultKubernetesServiceAccount"), namespace: dnsLabel(S("vaultKubernetesServiceAccountNamespace"), "vaultKubernetesServiceAccountNamespace") };
            return auth;
        }
        case "token":
            return { method: "token", secretName: dnsSubdomain(S("vaultTokenSecretName"), "vaultTokenSecretName"), secretNamespace: dnsLabel(S("vaultTokenSecretNamespace"), "vaultTokenSecretNamespace"), secretKey: S("vaultTokenSecretKey") };
        default: {
            const never: never = authMethod;
            throw new Error(`unknown auth ${String(never)}`);
        }
    }
}

/** The ClusterSecretStore's name and namespace conditions. */
function storeSettings(c: Obj, instance: string): StackConfig["store"] {
    const S = (k: string) => c[k] as string;
    return {
        name: dnsSubdomain(storeNameOf(S("storeName"), instance), "storeName"),
        allowedNamespaces: (c.storeAllowedNamespaces as string[]).map((n, idx) => dnsLabel(n, `storeAllowedNamespaces[${idx}]`)),
        allowedNamespaceRegexes: (c.storeAllowedNamespaceRegexes as string[]).map((r, idx) => {
            try {
                new RegExp(r);
            } catch {
                fail(`storeAllowedNamespaceRegexes[${idx}]`, `"${r}" is not a regular expression`, "fix the pattern");
            }
            return r;
        }),
        allowedNamespaceLabels: labelList(c.storeAllowedNamespaceLabels as string[], "storeAllowedNamespaceLabels"),
    };
}

/** The reconciler's Deployment settings, Vault login, fan-out grants and pause. */
function reconcilerSettings(c: Obj, address: string, namespace: string): StackConfig["reconciler"] {
    const S = (k: string) => c[k] as string;
    return {
        enabled: c.reconcilerEnabled as boolean,
        image: S("reconcilerImage"),
        // parseStackConfig checks that an enabled reconciler has an image
        replicas: int(c, "reconcilerReplicas", "", 1, 0),
        namespace,
        debounceMs: int(c, "reconcilerDebounceMs", "", 2000, 0),
        skipAwait: c.reconcilerSkipAwait as boolean,
        prometheusRules: c.reconcilerPrometheusRules as boolean,
        vault: reconcilerVault(c, address),
        fanOutGrants: (c.reconcilerFanOutGrants as unknown[]).map((g, idx) => fanOutGrant(g, `reconcilerFanOutGrants[${idx}]`)),
        pauseRestarts: pauseReason(S("reconcilerPauseRestarts")),
    };
}

export function parseStackConfig(raw: RawConfig, githubToken?: pulumi.Output<string>, driftSecrets: DriftSecretValues = {}): StackConfig {
    const c = decodeRaw(raw);
    const missing = missingRequired(c);
    if (missing.length) failMissing(missing);
    const S = (k: string) => c[k] as string;
    const defInterval = duration(S("defaultRefreshInterval"), "defaultRefreshInterval");
    const auth = esoVaultAuth(S);
    const address = vaultUrl(S("vaultAddress"), "vaultAddress", "");
    const mode = S("githubAppsMode") as GitHubAppsMode;
    const reconcilerNamespace = dnsLabel(S("reconcilerNamespace"), "reconcilerNamespace");
    const nsLabels = c.namespaceLabels as Obj;
    const environment = dnsLabel(S("environment"), "environment");
    const inst = installation(c, environment);
    const cfg: StackConfig = {
        environment,
        installation: inst,
        vault: { address, kvMount: vaultPath(S("vaultKvMount"), "vaultKvMount"), auth },
        store: storeSettings(c, inst.instance),
        passwordMinLength: int(c, "passwordMinLength", "", 24, 8),
        defaultRefreshInterval: defInterval,
        externalVaultPaths: (c.externalVaultPaths as string[]).map((p, idx) => vaultPath(p, `externalVaultPaths[${idx}]`)),
        namespaceLabels: Object.fromEntries(Object.entries(nsLabels).map(([ns, l]) => [dnsLabel(ns, `namespaceLabels.${ns}`), labelMap(l, `namespaceLabels.${ns}`)])),
        passwords: (c.passwords as unknown[]).map((p, idx) => password(p, `passwords[${idx}]`, defInterval)),
        externalSecrets: (c.externalSecrets as unknown[]).map((e, idx) => externalSecret(e, `externalSecrets[${idx}]`, defInterval)),
        clusterExternalSecrets: (c.clusterExternalSecrets as unknown[]).map((e, idx) => clusterExternalSecret(e, `clusterExternalSecrets[${idx}]`, defInterval)),
        dockerRegistries: (c.dockerRegistries as unknown[]).map((e, idx) => dockerRegistry(e, `dockerRegistries[${idx}]`, defInterval)),
        gitCredentials: (c.gitCredentials as unknown[]).map((e, idx) => gitCredential(e, `gitCredentials[${idx}]`, defInterval, reconcilerNamespace)),
        github: {
            workflowsNamespace: dnsLabel(S("workflowsNamespace"), "workflowsNamespace"),
            mode,
            owner: S("githubOwner"),
            apiUrl: S("githubApiUrl"),
            tokenGeneratorImage: S("tokenGeneratorImage"),
            tokenRefreshInterval: duration(S("githubTokenRefreshInterval"), "githubTokenRefreshInterval"),
            apps: (c.githubApps as unknown[]).map((a, idx) => githubApp(a, `githubApps[${idx}]`, S("githubAppsVaultPrefix"), mode, githubToken !== undefined)),
        },
        esoGenerators: (c.esoGenerators as unknown[]).map((g, idx) => esoGenerator(g, `esoGenerators[${idx}]`)),
        certManagerIssuers: (c.certManagerIssuers as unknown[]).map((g, idx) => issuer(g, `certManagerIssuers[${idx}]`)),
        reconciler: reconcilerSettings(c, address, reconcilerNamespace),
        drift: parseDrift(c, driftSecrets, address),
        githubToken,
    };
    if (cfg.reconciler.enabled && !cfg.reconciler.image) fail("reconcilerImage", "is empty while reconcilerEnabled is true", "set the reconciler image reference, or reconcilerEnabled: false");
    if (inst.secretNamespaces && !cfg.reconciler.enabled) fail("secretNamespaces", "is read only by the reconciler, which reconcilerEnabled: false leaves out", "set platform-secrets:reconcilerEnabled: true, or remove secretNamespaces");
    applyVaultPrefix(cfg);
    checkGuardrails(cfg);
    return cfg;
}
