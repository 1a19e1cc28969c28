import { isIP } from "node:net";
import * as YAML from "yaml";
import { CONFIG_NAMESPACE } from "./errors";
import { Obj, asObject, fail, onlyFields } from "./readers";
import type { ScalarKeySchema, StructuredKeySchema } from "./schema";

/**
 * The drift-check settings (issue 20 §4): what a Pulumi Deployments run of this stack gets. Detection is
 * `pulumi refresh --preview-only`, remediation `pulumi up --refresh`, both on Pulumi-hosted runners unless an agent
 * pool is set, in a fresh clone of the repository after the dependency install and the pre-run commands, with only
 * the environment the settings give. Kept in its own file (keys, secrets, parser, validation) so the rest of
 * stacks/config stays untouched; schema.ts, parse.ts and load.ts only splice these in.
 */

/** A secret config value held outside every message: only `reveal()` gives the text (no toString/JSON/inspect leak). */
export class SecretText {
    readonly #value: string;
    constructor(value: string) {
        this.#value = value;
    }
    reveal(): string {
        return this.#value;
    }
    toString(): string {
        return "[secret]";
    }
    toJSON(): string {
        return "[secret]";
    }
    [Symbol.for("nodejs.util.inspect.custom")](): string {
        return "[secret]";
    }
}

/** Where the run's Vault token and kubeconfig come from. */
export const DRIFT_CREDENTIALS = ["none", "esc", "environmentVariables", "agent"] as const;
export type DriftCredentials = (typeof DRIFT_CREDENTIALS)[number];
export const DRIFT_GIT_AUTH = ["none", "github", "basic", "ssh"] as const;
export type DriftGitAuth = (typeof DRIFT_GIT_AUTH)[number];
export const DRIFT_WEBHOOK_FORMATS = ["raw", "slack", "ms_teams", "pulumi_deployments"] as const;
/** The secret env var whose content the pre-run command writes to ~/.kube/config (driftCredentials=environmentVariables). */
export const DRIFT_KUBECONFIG_VAR = "DRIFT_KUBECONFIG";

const s = (key: string, description: string, def: string, extra: Partial<ScalarKeySchema> = {}): ScalarKeySchema => ({ key, type: "string", description, default: def, ...extra });
const b = (key: string, description: string, def: boolean): ScalarKeySchema => ({ key, type: "boolean", description, default: def });

export const DRIFT_SCALAR_KEYS: readonly ScalarKeySchema[] = [
    b("driftEnabled", "Create Pulumi Cloud DeploymentSettings + DriftSchedule for this stack.", false),
    s("driftCron", "Drift detection schedule (cron, 5 fields).", "0 */6 * * *"),
    b("driftAutoRemediate", "Run `pulumi up --refresh` automatically when drift is found.", false),
    s("driftOrganization", "Pulumi Cloud organization (required when driftEnabled).", ""),
    s("driftRepoUrl", "Git repository Pulumi Deployments checks out (required when driftEnabled, unless driftGitAuth=github).", ""),
    s("driftBranch", "Branch Pulumi Deployments checks out.", "main"),
    s("driftRepoDir", "Directory of Pulumi.yaml inside the repository.", "."),
    s("driftCredentials", "Where the drift run gets its Vault token and kubeconfig: esc (driftEscEnvironment, imported by the stack file), environmentVariables (driftSecretEnvironmentVariables VAULT_TOKEN and DRIFT_KUBECONFIG), agent (the agent pool's own environment); none is refused while driftEnabled.", "none", { oneOf: DRIFT_CREDENTIALS }),
    s("driftEscEnvironment", "Pulumi ESC environment (<project>/<environment>) the stack file imports under `environment:`, exporting VAULT_TOKEN (and VAULT_ADDR) and files.KUBECONFIG (driftCredentials=esc).", ""),
    s("driftAgentPoolId", "Pulumi Deployments agent pool id; empty = Pulumi-hosted runners (required when Vault or the apiserver is cluster-internal, or driftCredentials=agent).", ""),
    s("driftVaultAddress", "Vault URL the drift run reaches (VAULT_ADDR of the run); empty = vaultAddress.", ""),
    b("driftSkipInstallDependencies", "Skip Deployments' own dependency install (then driftPreRunCommands must install them).", false),
    { key: "driftPreRunCommands", type: "array", items: "string", description: "Shell commands Deployments runs before the Pulumi operation (after its own ones).", default: [] },
    s("driftGitAuth", "How Deployments authenticates to the repository: none (public), github (the Pulumi GitHub App, driftGithubRepository), basic (driftGitUsername + secret driftGitPassword, https), ssh (secret driftGitSshPrivateKey).", "none", { oneOf: DRIFT_GIT_AUTH }),
    s("driftGitUsername", "User name of driftGitAuth=basic (any non-empty name for a GitHub token).", ""),
    s("driftGithubRepository", "<owner>/<repository> of driftGitAuth=github.", ""),
    s("driftWebhookFormat", "Payload format of the drift webhook (driftWebhookUrl).", "raw", { oneOf: DRIFT_WEBHOOK_FORMATS }),
    s("driftGitPassword", "Password or token of driftGitAuth=basic.", "", { secret: true }),
    s("driftGitSshPrivateKey", "Private key of driftGitAuth=ssh.", "", { secret: true }),
    s("driftGitSshPassphrase", "Passphrase of driftGitSshPrivateKey, if it has one.", "", { secret: true }),
    s("driftWebhookUrl", "https URL that receives drift events (detected, detection failed, remediation succeeded/failed); secret because chat webhook URLs carry a token.", "", { secret: true }),
    s("driftWebhookSecret", "HMAC key Pulumi Cloud signs the drift webhook payloads with (optional).", "", { secret: true }),
];

export const DRIFT_STRUCTURED_KEYS: readonly StructuredKeySchema[] = [
    { key: "driftEnvironmentVariables", shape: "object", description: "Plain environment variables of the drift run: {NAME: value}; names that look like credentials are refused (use driftSecretEnvironmentVariables).", default: {} },
    { key: "driftSecretEnvironmentVariables", shape: "object", description: "Secret environment variables of the drift run (set each with `pulumi config set --secret --path 'platform-secrets:driftSecretEnvironmentVariables.NAME'`): VAULT_TOKEN and DRIFT_KUBECONFIG (kubeconfig content, written to ~/.kube/config by a pre-run command) for driftCredentials=environmentVariables.", default: {} },
    { key: "driftOidc", shape: "object", description: "Deployments OIDC for cloud credentials (e.g. an EKS/GKE/AKS kubeconfig's exec plugin): {aws: {roleARN, sessionName, duration, policyARNs}, azure: {clientId, tenantId, subscriptionId}, gcp: {projectId, providerId, workloadPoolId, serviceAccount, region, tokenLifetime}}.", default: {} },
];

/** Secret keys: read with their secretness and never put in the plain raw map (load.ts). */
export const DRIFT_SECRET_KEYS = [...DRIFT_SCALAR_KEYS.filter((k) => k.secret).map((k) => k.key), "driftSecretEnvironmentVariables"];
export type DriftSecretValues = Partial<Record<string, string>>;

export type DriftOidc = { aws?: Record<string, unknown>; azure?: Record<string, string>; gcp?: Record<string, string> };

export interface DriftSettings {
    enabled: boolean;
    cron: string;
    autoRemediate: boolean;
    organization: string;
    repoUrl: string;
    branch: string;
    repoDir: string;
    credentials: DriftCredentials;
    escEnvironment: string;
    agentPoolId: string;
    /** VAULT_ADDR of the run (driftVaultAddress, else vaultAddress); empty when the ESC environment supplies it. */
    vaultAddress: string;
    skipInstallDependencies: boolean;
    preRunCommands: string[];
    environmentVariables: Record<string, string>;
    secretEnvironmentVariables: Record<string, SecretText>;
    oidc?: DriftOidc;
    gitAuth:
        | { kind: "none" }
        | { kind: "github"; repository: string }
        | { kind: "basic"; username: string; password: SecretText }
        | { kind: "ssh"; privateKey: SecretText; passphrase?: SecretText };
    webhook?: { url: SecretText; format: (typeof DRIFT_WEBHOOK_FORMATS)[number]; secret?: SecretText };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names whose value is a credential: refused as plain variables (they would sit in the DeploymentSettings and the stack file in clear). */
const SECRET_LOOKING = /(TOKEN|PASSWORD|PASSWD|SECRET|PRIVATE_?KEY|CREDENTIAL|API_?KEY|ACCESS_?KEY|^DRIFT_KUBECONFIG$)/i;
/** Set by the Deployments runner itself (login, secrets provider): overriding them breaks the run. */
const RUNNER_VARS = ["PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "HOME", "PATH"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ESC_NAME = /^([A-Za-z0-9_.-]+\/)?[A-Za-z0-9_.-]+(@[A-Za-z0-9_.-]+)?$/;

/**
 * True for a host only a runner inside (or next to) the cluster can reach: Kubernetes service DNS, single-label
 * names, loopback, link-local and private addresses. Pulumi-hosted runners are on the public internet.
 */
export function isClusterInternalHost(host: string): boolean {
    const h = host.toLowerCase().replace(/^\[|\]$/g, "");
    if (h === "localhost" || h.endsWith(".localhost")) return true;
    if (/\.(svc|cluster\.local|svc\.cluster\.local|internal|local)$/.test(h)) return true;
    const ip = isIP(h);
    if (ip === 4) {
        const [a, b2] = h.split(".").map(Number);
        return a === 10 || a === 127 || (a === 172 && b2 >= 16 && b2 <= 31) || (a === 192 && b2 === 168) || (a === 169 && b2 === 254) || (a === 100 && b2 >= 64 && b2 <= 127);
    }
    if (ip === 6) return h === "::1" || /^f[cd]/.test(h) || h.startsWith("fe80:");
    return !h.includes(".");
}

function hostOf(url: string): string | undefined {
    try {
        return new URL(url).hostname;
    } catch {
        return undefined;
    }
}

function envMap(v: unknown, path: string): Record<string, string> {
    const o = asObject(v, path);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(o)) {
        if (!ENV_NAME.test(k)) fail(`${path}.${k}`, "is not an environment variable name", "use letters, digits and _ (not starting with a digit)");
        // `pulumi config set --path ... true` stores a YAML boolean (and 3 a number): the variable is its text.
        if (typeof val === "boolean" || typeof val === "number") out[k] = String(val);
        else if (typeof val === "string") out[k] = val;
        else fail(`${path}.${k}`, "must be a string", "quote the value");
    }
    return out;
}

/** The server URL of the kubeconfig's current context (never echoing the content: it holds credentials). */
export function kubeconfigServer(text: string, key: string): string {
    const where = `${key}.${DRIFT_KUBECONFIG_VAR}`;
    let doc: { "current-context"?: string; contexts?: { name: string; context?: { cluster?: string } }[]; clusters?: { name: string; cluster?: { server?: string } }[] };
    try {
        doc = YAML.parse(text) as typeof doc;
    } catch {
        return fail(where, "is not kubeconfig YAML (content not shown: it is a secret)", "set it to the content of a kubeconfig file, e.g. `pulumi config set --secret --path ... \"$(cat kubeconfig)\"`");
    }
    const ctx = doc?.contexts?.find((c) => c.name === doc["current-context"]);
    const server = doc?.clusters?.find((c) => c.name === ctx?.context?.cluster)?.cluster?.server;
    if (!server) fail(where, "has no current-context whose cluster has a server", "set current-context to the context the stack deploys to (the kubeconfig's clusters[].cluster.server is read from it)");
    return server;
}

function oidc(v: unknown, path: string): DriftOidc | undefined {
    const o = asObject(v, path);
    if (Object.keys(o).length === 0) return undefined;
    onlyFields(o, path, ["aws", "azure", "gcp"]);
    const shapes: Record<string, { required: string[]; optional: string[] }> = {
        aws: { required: ["roleARN", "sessionName"], optional: ["duration", "policyARNs"] },
        azure: { required: ["clientId", "tenantId", "subscriptionId"], optional: [] },
        gcp: { required: ["projectId", "providerId", "workloadPoolId", "serviceAccount"], optional: ["region", "tokenLifetime"] },
    };
    const out: DriftOidc = {};
    for (const [cloud, shape] of Object.entries(shapes)) {
        if (o[cloud] === undefined) continue;
        const c = asObject(o[cloud], `${path}.${cloud}`);
        onlyFields(c, `${path}.${cloud}`, [...shape.required, ...shape.optional]);
        for (const f of shape.required) if (typeof c[f] !== "string" || c[f] === "") fail(`${path}.${cloud}.${f}`, "is required", `set ${f} (Deployments OIDC for ${cloud})`);
        if (c.policyARNs !== undefined && (!Array.isArray(c.policyARNs) || c.policyARNs.some((x) => typeof x !== "string"))) fail(`${path}.${cloud}.policyARNs`, "must be a list of strings", "write the ARNs as a YAML sequence");
        (out as Record<string, unknown>)[cloud] = c;
    }
    return out;
}

/**
 * The decoded config (schema defaults applied, see parse.ts decodeRaw) + the secret values → DriftSettings.
 * `esoVaultAddress` is vaultAddress, the default of the run's Vault address. Validation runs only when drift is
 * enabled: a disabled stack may keep half-filled drift keys.
 */
export function parseDrift(c: Obj, secrets: DriftSecretValues, esoVaultAddress: string): DriftSettings {
    const S = (k: string) => c[k] as string;
    const secret = (k: string) => (secrets[k] ? new SecretText(secrets[k]!) : undefined);
    let secretEnvRaw: unknown = {};
    if (secrets.driftSecretEnvironmentVariables) {
        try {
            secretEnvRaw = JSON.parse(secrets.driftSecretEnvironmentVariables);
        } catch {
            fail("driftSecretEnvironmentVariables", "is not a mapping", "set each variable with `pulumi config set --secret --path 'platform-secrets:driftSecretEnvironmentVariables.NAME' value`");
        }
    }
    const secretEnv = Object.fromEntries(Object.entries(envMap(secretEnvRaw, "driftSecretEnvironmentVariables")).map(([k, v]) => [k, new SecretText(v)]));
    const env = envMap(c.driftEnvironmentVariables, "driftEnvironmentVariables");
    const credentials = S("driftCredentials") as DriftCredentials;
    const gitKind = S("driftGitAuth") as DriftGitAuth;
    let gitAuth: DriftSettings["gitAuth"];
    switch (gitKind) {
        case "none":
            gitAuth = { kind: "none" };
            break;
        case "github":
            gitAuth = { kind: "github", repository: S("driftGithubRepository") };
            break;
        case "basic":
            gitAuth = { kind: "basic", username: S("driftGitUsername"), password: secret("driftGitPassword") ?? new SecretText("") };
            break;
        case "ssh":
            gitAuth = { kind: "ssh", privateKey: secret("driftGitSshPrivateKey") ?? new SecretText(""), ...(secret("driftGitSshPassphrase") ? { passphrase: secret("driftGitSshPassphrase") } : {}) };
            break;
        default: {
            const never: never = gitKind;
            throw new Error(`unknown git auth ${String(never)}`);
        }
    }
    const webhookUrl = secret("driftWebhookUrl");
    const d: DriftSettings = {
        enabled: c.driftEnabled as boolean,
        cron: S("driftCron"),
        autoRemediate: c.driftAutoRemediate as boolean,
        organization: S("driftOrganization"),
        repoUrl: S("driftRepoUrl"),
        branch: S("driftBranch"),
        repoDir: S("driftRepoDir"),
        credentials,
        escEnvironment: S("driftEscEnvironment"),
        agentPoolId: S("driftAgentPoolId"),
        vaultAddress: S("driftVaultAddress") || env.VAULT_ADDR || (credentials === "esc" ? "" : esoVaultAddress),
        skipInstallDependencies: c.driftSkipInstallDependencies as boolean,
        preRunCommands: c.driftPreRunCommands as string[],
        environmentVariables: env,
        secretEnvironmentVariables: secretEnv,
        oidc: oidc(c.driftOidc, "driftOidc"),
        gitAuth,
        ...(webhookUrl ? { webhook: { url: webhookUrl, format: S("driftWebhookFormat") as (typeof DRIFT_WEBHOOK_FORMATS)[number], ...(secret("driftWebhookSecret") ? { secret: secret("driftWebhookSecret") } : {}) } } : {}),
    };
    if (d.enabled) validateDrift(d, secrets, esoVaultAddress, S("driftVaultAddress") !== "");
    return d;
}

/** The drift settings as a whole (pure); each part below checks one concern and fails naming its key. */
function validateDrift(d: DriftSettings, secrets: DriftSecretValues, esoVaultAddress: string, explicitVault: boolean): void {
    void esoVaultAddress;
    validateCheckout(d);
    validateCredentials(d);
    validateReachability(d, secrets, explicitVault);
    validateVariables(d, explicitVault);
    validateGitAuth(d, secrets);
    validateWebhook(d, secrets);
}

/** What the run checks out: schedule, organization, repository, branch, directory. */
function validateCheckout(d: DriftSettings): void {
    if (!/^(\S+\s+){4}\S+$/.test(d.cron.trim())) fail("driftCron", `"${d.cron}" is not a 5-field cron expression`, 'write e.g. "0 */6 * * *"');
    if (!d.organization) fail("driftOrganization", "is required when driftEnabled is true", "set the Pulumi Cloud organization");
    if (d.gitAuth.kind !== "github" && !d.repoUrl) fail("driftRepoUrl", "is required when driftEnabled is true", "set the git URL Pulumi Deployments checks out (or driftGitAuth: github with driftGithubRepository)");
    if (!d.branch || /\s|\.\.|^refs\//.test(d.branch)) fail("driftBranch", `"${d.branch}" is not a branch name`, 'write the bare branch name, e.g. "main" (refs/heads/ is added)');
    if (d.repoDir.startsWith("/") || d.repoDir.split("/").includes("..")) fail("driftRepoDir", `"${d.repoDir}" leaves the repository`, 'write a path inside the repository, e.g. "." or "infra/platform-secrets"');
}

/** The run's credentials: without them every scheduled run fails. */
function validateCredentials(d: DriftSettings): void {
    // Every refresh reads each SecretV2 from Vault and each object from the apiserver: without credentials every
    // scheduled run fails (and with driftAutoRemediate the `up --refresh` after it too).
    const runs = d.autoRemediate ? "drift detection and its auto-remediation (driftAutoRemediate)" : "drift detection";
    const has = (k: string) => d.secretEnvironmentVariables[k] !== undefined;
    switch (d.credentials) {
        case "none":
            fail("driftCredentials", `is none: ${runs} would run with no Vault token and no kubeconfig, so every scheduled run would fail`, `set driftCredentials: esc (with driftEscEnvironment), environmentVariables (with driftSecretEnvironmentVariables VAULT_TOKEN and ${DRIFT_KUBECONFIG_VAR}), or agent (with driftAgentPoolId, whose agents carry them)`);
            break;
        case "esc":
            if (!d.escEnvironment) fail("driftEscEnvironment", "is empty while driftCredentials is esc", "set the <project>/<environment> of the Pulumi ESC environment that exports VAULT_TOKEN and files.KUBECONFIG, and import it in the stack file under `environment:`");
            if (!ESC_NAME.test(d.escEnvironment)) fail("driftEscEnvironment", `"${d.escEnvironment}" is not an ESC environment name`, 'write "<project>/<environment>", e.g. "platform-secrets/prod-drift"');
            break;
        case "environmentVariables":
            for (const k of ["VAULT_TOKEN", DRIFT_KUBECONFIG_VAR]) {
                if (!has(k)) fail(`driftSecretEnvironmentVariables.${k}`, `is not set while driftCredentials is environmentVariables: ${runs} would have no ${k === "VAULT_TOKEN" ? "Vault token" : "kubeconfig"}`, `pulumi config set --secret --path 'platform-secrets:driftSecretEnvironmentVariables.${k}' <${k === "VAULT_TOKEN" ? "a Vault token whose policy allows the stack's paths" : "kubeconfig content"}>`);
            }
            break;
        case "agent":
            if (!d.agentPoolId) fail("driftAgentPoolId", "is empty while driftCredentials is agent", "set the id of the agent pool whose agents carry VAULT_TOKEN and the kubeconfig (or in-cluster ServiceAccount credentials)");
            break;
        default: {
            const never: never = d.credentials;
            throw new Error(`unknown credentials ${String(never)}`);
        }
    }
    if (d.escEnvironment && d.credentials !== "esc") fail("driftEscEnvironment", `is set while driftCredentials is ${d.credentials}`, "set driftCredentials: esc, or remove driftEscEnvironment");
    if (d.agentPoolId && !UUID.test(d.agentPoolId)) fail("driftAgentPoolId", `"${d.agentPoolId}" is not an agent pool id`, "copy the id (a UUID) from Pulumi Cloud → Deployments → Agent pools");
}

/** Pulumi-hosted runners reach only public addresses. */
function validateReachability(d: DriftSettings, secrets: DriftSecretValues, explicitVault: boolean): void {
    // Reachability from Pulumi-hosted runners (the public internet).
    if (!d.agentPoolId) {
        const vaultHost = d.vaultAddress ? hostOf(d.vaultAddress) : undefined;
        if (vaultHost && isClusterInternalHost(vaultHost)) {
            const from = explicitVault ? "driftVaultAddress" : d.environmentVariables.VAULT_ADDR ? "driftEnvironmentVariables.VAULT_ADDR" : "vaultAddress";
            fail(from === "vaultAddress" ? "driftAgentPoolId" : from, `the drift run would reach Vault at ${d.vaultAddress} (${from}), a cluster-internal address that Pulumi-hosted runners cannot reach`, "set driftAgentPoolId to an agent pool that runs where that address resolves, or driftVaultAddress to a Vault URL reachable from Pulumi's hosted runners");
        }
        const kc = secrets.driftSecretEnvironmentVariables ? d.secretEnvironmentVariables[DRIFT_KUBECONFIG_VAR] : undefined;
        if (kc) {
            const server = kubeconfigServer(kc.reveal(), "driftSecretEnvironmentVariables");
            const host = hostOf(server);
            if (host && isClusterInternalHost(host)) fail("driftAgentPoolId", `the drift run's kubeconfig (driftSecretEnvironmentVariables.${DRIFT_KUBECONFIG_VAR}) points at ${server}, a private apiserver that Pulumi-hosted runners cannot reach`, "set driftAgentPoolId to an agent pool inside that network (or give a kubeconfig of a public endpoint)");
        }
    } else if (d.secretEnvironmentVariables[DRIFT_KUBECONFIG_VAR]) {
        kubeconfigServer(d.secretEnvironmentVariables[DRIFT_KUBECONFIG_VAR].reveal(), "driftSecretEnvironmentVariables");
    }
    if (d.vaultAddress && !/^https?:\/\/[^\s/]+\/?$/.test(d.vaultAddress)) fail("driftVaultAddress", `"${d.vaultAddress}" is not a Vault server URL`, 'write e.g. "https://vault.example.com:8200" (no path)');
}

/** Environment variables and pre-run commands. */
function validateVariables(d: DriftSettings, explicitVault: boolean): void {
    // Plain variables land in the DeploymentSettings (and the stack file) in clear.
    for (const [k] of Object.entries(d.environmentVariables)) {
        if (SECRET_LOOKING.test(k)) fail(`driftEnvironmentVariables.${k}`, "looks like a credential but is a plain variable (it would be stored in clear in the DeploymentSettings and the stack file)", `move it: pulumi config rm --path 'platform-secrets:driftEnvironmentVariables.${k}' && pulumi config set --secret --path 'platform-secrets:driftSecretEnvironmentVariables.${k}' <value>`);
        if (d.secretEnvironmentVariables[k]) fail(`driftEnvironmentVariables.${k}`, "is also in driftSecretEnvironmentVariables", "keep one of the two");
    }
    for (const k of [...Object.keys(d.environmentVariables), ...Object.keys(d.secretEnvironmentVariables)]) {
        if (RUNNER_VARS.includes(k)) fail(`drift${d.environmentVariables[k] !== undefined ? "" : "Secret"}EnvironmentVariables.${k}`, "is set by the Deployments runner itself (login, secrets provider, shell)", "remove it");
    }
    if (d.environmentVariables.VAULT_ADDR && explicitVault) fail("driftEnvironmentVariables.VAULT_ADDR", "is set together with driftVaultAddress", "keep only driftVaultAddress");

    if (d.skipInstallDependencies && d.preRunCommands.length === 0) fail("driftPreRunCommands", "is empty while driftSkipInstallDependencies is true: the run would have no node_modules", 'add the install, e.g. "npm ci"');
    d.preRunCommands.forEach((cmd, i) => {
        if (cmd.trim() === "") fail(`driftPreRunCommands[${i}]`, "is empty", "remove it");
    });
}

/** Git: one credential kind, matching the URL. */
function validateGitAuth(d: DriftSettings, secrets: DriftSecretValues): void {
    // Git: one credential kind, matching the URL; a credential that nothing uses is refused (stale secrets).
    const g = d.gitAuth;
    const sshUrl = /^(ssh:\/\/|[\w.-]+@[\w.-]+:)/.test(d.repoUrl);
    if (g.kind === "none" && sshUrl) fail("driftGitAuth", `is none but driftRepoUrl "${d.repoUrl}" is an ssh URL, which always needs a key`, "set driftGitAuth: ssh with driftGitSshPrivateKey, or use the https URL");
    if (g.kind === "github") {
        if (!/^[\w.-]+\/[\w.-]+$/.test(g.repository)) fail("driftGithubRepository", `"${g.repository}" is not <owner>/<repository>`, 'write e.g. "example-org/platform" (the Pulumi GitHub App must be installed on it)');
    }
    if (g.kind === "basic") {
        if (!g.username) fail("driftGitUsername", "is empty while driftGitAuth is basic", "set the user name (for a GitHub token any non-empty name, e.g. x-access-token)");
        if (!g.password.reveal()) fail("driftGitPassword", "is not set while driftGitAuth is basic", "pulumi config set --secret platform-secrets:driftGitPassword <token>");
        if (!/^https:\/\//.test(d.repoUrl)) fail("driftRepoUrl", `"${d.repoUrl}" is not an https URL while driftGitAuth is basic (the password would travel in clear or not at all)`, "use the https:// URL of the repository");
    }
    if (g.kind === "ssh") {
        if (!g.privateKey.reveal()) fail("driftGitSshPrivateKey", "is not set while driftGitAuth is ssh", "pulumi config set --secret platform-secrets:driftGitSshPrivateKey \"$(cat deploy_key)\"");
        if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(g.privateKey.reveal())) fail("driftGitSshPrivateKey", "is not a PEM/OpenSSH private key (content not shown)", "set the whole key file, BEGIN and END lines included");
        if (!sshUrl) fail("driftRepoUrl", `"${d.repoUrl}" is not an ssh URL while driftGitAuth is ssh`, 'use e.g. "git@github.com:example-org/platform.git"');
    }
    const unused: [string, boolean][] = [
        ["driftGitPassword", g.kind !== "basic"],
        ["driftGitSshPrivateKey", g.kind !== "ssh"],
        ["driftGitSshPassphrase", g.kind !== "ssh"],
    ];
    for (const [k, isUnused] of unused) if (isUnused && secrets[k]) fail(k, `is set but driftGitAuth is ${g.kind}`, `remove it (pulumi config rm ${CONFIG_NAMESPACE}:${k}) or set the matching driftGitAuth`);
}

/** The webhook that receives drift events. */
function validateWebhook(d: DriftSettings, secrets: DriftSecretValues): void {
    if (d.webhook) {
        if (!/^https:\/\/[^\s/]+/.test(d.webhook.url.reveal())) fail("driftWebhookUrl", "is not an https URL (value not shown: it is a secret)", "set the https endpoint that receives the drift events");
    } else if (secrets.driftWebhookSecret) {
        fail("driftWebhookSecret", "is set without driftWebhookUrl", "set driftWebhookUrl, or remove driftWebhookSecret");
    }
}

/** The secret drift values of the running stack (pulumi.runtime config), for load.ts. */
export function readDriftSecrets(get: (key: string) => string | undefined): DriftSecretValues {
    const out: DriftSecretValues = {};
    for (const k of DRIFT_SECRET_KEYS) {
        const v = get(`${CONFIG_NAMESPACE}:${k}`);
        if (v !== undefined && v !== "") out[k] = v;
    }
    return out;
}
