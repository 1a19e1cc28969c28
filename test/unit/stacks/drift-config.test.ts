import { strict as assert } from "node:assert";
import { inspect } from "node:util";
import { isClusterInternalHost, parseStackConfig, SecretText } from "../../../stacks/config";
import { loadStackFile, toRawConfig } from "./harness";
import { rejectsConfig } from "./config-helpers";

/**
 * The drift settings (stacks/config/drift.ts): every refusal with its message, the defaults, and that secret values
 * never reach a message. "staging" is a drift-enabled example stack (ESC credentials, an agent pool).
 */
const KUBECONFIG_PUBLIC = [
    "apiVersion: v1",
    "kind: Config",
    "current-context: prod",
    "contexts: [{name: prod, context: {cluster: prod, user: ci}}]",
    "clusters: [{name: prod, cluster: {server: 'https://k8s.example.com:6443'}}]",
    "users: [{name: ci, user: {token: kube-canary-token}}]",
].join("\n");
const KUBECONFIG_PRIVATE = KUBECONFIG_PUBLIC.replace("https://k8s.example.com:6443", "https://10.0.0.1:6443");

function parse(overrides: Record<string, unknown> = {}, secrets: Record<string, string> = {}, stack = "staging") {
    return parseStackConfig(toRawConfig({ ...loadStackFile(stack), ...overrides }), undefined, secrets);
}

/** environmentVariables credentials on hosted runners, with a public Vault and apiserver. */
const ENV_CREDS = { driftCredentials: "environmentVariables", driftEscEnvironment: "", driftAgentPoolId: "", driftVaultAddress: "https://vault.example.com:8200" };
const envSecrets = (kubeconfig = KUBECONFIG_PUBLIC) => ({ driftSecretEnvironmentVariables: JSON.stringify({ VAULT_TOKEN: "vault-canary-token", DRIFT_KUBECONFIG: kubeconfig }) });

describe("stacks/config: drift settings", () => {
    it("the example stacks parse: staging and prod use ESC credentials and an agent pool", () => {
        for (const stack of ["staging", "prod"]) {
            const d = parse({}, {}, stack).drift;
            assert.equal(d.credentials, "esc");
            assert.match(d.escEnvironment, new RegExp(`^platform-secrets/${stack}-drift$`));
            assert.match(d.agentPoolId, /^[0-9a-f-]{36}$/);
            // The ESO address is in-cluster; ESC supplies VAULT_ADDR, so the run's address is not rendered.
            assert.equal(d.vaultAddress, "");
        }
    });

    it("a disabled stack keeps half-filled drift keys without validation", () => {
        assert.equal(parse({ driftEnabled: false, driftCredentials: "none", driftEscEnvironment: "" }).drift.enabled, false);
    });

    it("refuses a drift run with no credentials, naming auto-remediation when it is on", () => {
        rejectsConfig(() => parse({ driftCredentials: "none", driftEscEnvironment: "" }), "platform-secrets:driftCredentials", /is none: drift detection would run with no Vault token and no kubeconfig, so every scheduled run would fail/);
        rejectsConfig(() => parse({ driftCredentials: "none", driftEscEnvironment: "" }, {}, "prod"), "platform-secrets:driftCredentials", /drift detection and its auto-remediation \(driftAutoRemediate\) would run with no Vault token/);
    });

    it("refuses each credential mode without what it needs", () => {
        rejectsConfig(() => parse({ driftEscEnvironment: "" }), "platform-secrets:driftEscEnvironment", /is empty while driftCredentials is esc/);
        rejectsConfig(() => parse({ driftEscEnvironment: "a/b/c" }), "platform-secrets:driftEscEnvironment", /not an ESC environment name/);
        rejectsConfig(() => parse({ driftCredentials: "agent", driftEscEnvironment: "", driftAgentPoolId: "" }), "platform-secrets:driftAgentPoolId", /is empty while driftCredentials is agent/);
        rejectsConfig(() => parse({ driftCredentials: "agent" }), "platform-secrets:driftEscEnvironment", /is set while driftCredentials is agent/);
        rejectsConfig(() => parse(ENV_CREDS), "platform-secrets:driftSecretEnvironmentVariables.VAULT_TOKEN", /is not set while driftCredentials is environmentVariables: drift detection would have no Vault token/);
        rejectsConfig(
            () => parse(ENV_CREDS, { driftSecretEnvironmentVariables: JSON.stringify({ VAULT_TOKEN: "t" }) }),
            "platform-secrets:driftSecretEnvironmentVariables.DRIFT_KUBECONFIG",
            /would have no kubeconfig/,
        );
        assert.equal(parse(ENV_CREDS, envSecrets()).drift.credentials, "environmentVariables");
    });

    it("requires an agent pool when Vault or the apiserver is cluster-internal", () => {
        // staging's vaultAddress is https://vault.vault.svc:8200 (ESO's): the run would use it by default.
        rejectsConfig(() => parse({ ...ENV_CREDS, driftVaultAddress: "" }, envSecrets()), "platform-secrets:driftAgentPoolId", /would reach Vault at https:\/\/vault\.vault\.svc:8200 \(vaultAddress\), a cluster-internal address that Pulumi-hosted runners cannot reach/);
        rejectsConfig(() => parse({ ...ENV_CREDS, driftVaultAddress: "http://127.0.0.1:8200" }, envSecrets()), "platform-secrets:driftVaultAddress", /cluster-internal/);
        rejectsConfig(() => parse(ENV_CREDS, envSecrets(KUBECONFIG_PRIVATE)), "platform-secrets:driftAgentPoolId", /kubeconfig \(driftSecretEnvironmentVariables\.DRIFT_KUBECONFIG\) points at https:\/\/10\.0\.0\.1:6443, a private apiserver/);
        // With an agent pool both are fine.
        assert.equal(parse({ ...ENV_CREDS, driftVaultAddress: "", driftAgentPoolId: "5d1c0c5e-7b8a-4f43-9a55-3c2f1e0b7a11" }, envSecrets(KUBECONFIG_PRIVATE)).drift.vaultAddress, "https://vault.vault.svc:8200");
        rejectsConfig(() => parse({ driftAgentPoolId: "pool-1" }), "platform-secrets:driftAgentPoolId", /"pool-1" is not an agent pool id/);
    });

    it("a kubeconfig that is not YAML or has no current context is refused without echoing it", () => {
        for (const bad of ["{{{ not: yaml", "apiVersion: v1\nkind: Config\n"]) {
            try {
                parse(ENV_CREDS, { driftSecretEnvironmentVariables: JSON.stringify({ VAULT_TOKEN: "vault-canary-token", DRIFT_KUBECONFIG: `${bad}\n# kube-canary-token` }) });
                assert.fail("accepted");
            } catch (e) {
                assert.match(String(e), /driftSecretEnvironmentVariables\.DRIFT_KUBECONFIG: (is not kubeconfig YAML|has no current-context)/);
                assert.doesNotMatch(String(e), /canary/);
            }
        }
    });

    it("refuses credentials as plain variables and variables the runner owns", () => {
        rejectsConfig(() => parse({ driftEnvironmentVariables: { VAULT_TOKEN: "x" } }), "platform-secrets:driftEnvironmentVariables.VAULT_TOKEN", /looks like a credential but is a plain variable[\s\S]*fix: move it: pulumi config rm --path/);
        rejectsConfig(() => parse({ driftEnvironmentVariables: { GITHUB_PRIVATE_KEY: "x" } }), "platform-secrets:driftEnvironmentVariables.GITHUB_PRIVATE_KEY", /looks like a credential/);
        rejectsConfig(() => parse({ driftEnvironmentVariables: { PULUMI_BACKEND_URL: "file:///x" } }), "platform-secrets:driftEnvironmentVariables.PULUMI_BACKEND_URL", /set by the Deployments runner itself/);
        rejectsConfig(() => parse({ driftEnvironmentVariables: { "1BAD": "x" } }), "platform-secrets:driftEnvironmentVariables.1BAD", /not an environment variable name/);
        rejectsConfig(() => parse({ driftEnvironmentVariables: { VAULT_ADDR: "https://v.example.com" }, driftVaultAddress: "https://v.example.com" }), "platform-secrets:driftEnvironmentVariables.VAULT_ADDR", /together with driftVaultAddress/);
        // `pulumi config set --path ... true` stores a boolean: the variable is its text.
        assert.deepEqual(parse({ driftEnvironmentVariables: { PULUMI_NODEJS_TRANSPILE_ONLY: true, N: 3 } }).drift.environmentVariables, { PULUMI_NODEJS_TRANSPILE_ONLY: "true", N: "3" });
        rejectsConfig(() => parse({ driftEnvironmentVariables: { X: { a: 1 } } }), "platform-secrets:driftEnvironmentVariables.X", /must be a string/);
    });

    it("skipping the install needs pre-run commands that install", () => {
        rejectsConfig(() => parse({ driftSkipInstallDependencies: true }), "platform-secrets:driftPreRunCommands", /is empty while driftSkipInstallDependencies is true/);
        assert.deepEqual(parse({ driftSkipInstallDependencies: true, driftPreRunCommands: ["npm ci --omit=dev"] }).drift.preRunCommands, ["npm ci --omit=dev"]);
    });

    it("git auth: the credential its kind needs, a URL that matches, no stale credential", () => {
        rejectsConfig(() => parse({ driftRepoUrl: "git@github.com:example-org/platform.git" }), "platform-secrets:driftGitAuth", /is none but driftRepoUrl "git@github\.com:example-org\/platform\.git" is an ssh URL/);
        rejectsConfig(() => parse({ driftGitAuth: "basic" }), "platform-secrets:driftGitUsername", /is empty while driftGitAuth is basic/);
        rejectsConfig(() => parse({ driftGitAuth: "basic", driftGitUsername: "x-access-token" }), "platform-secrets:driftGitPassword", /is not set while driftGitAuth is basic/);
        rejectsConfig(() => parse({ driftGitAuth: "basic", driftGitUsername: "u", driftRepoUrl: "http://git.example.com/p.git" }, { driftGitPassword: "p" }), "platform-secrets:driftRepoUrl", /is not an https URL while driftGitAuth is basic/);
        rejectsConfig(() => parse({ driftGitAuth: "ssh", driftRepoUrl: "git@github.com:o/p.git" }), "platform-secrets:driftGitSshPrivateKey", /is not set while driftGitAuth is ssh/);
        rejectsConfig(() => parse({ driftGitAuth: "ssh", driftRepoUrl: "git@github.com:o/p.git" }, { driftGitSshPrivateKey: "ssh-canary" }), "platform-secrets:driftGitSshPrivateKey", /is not a PEM\/OpenSSH private key \(content not shown\)/);
        rejectsConfig(() => parse({}, { driftGitPassword: "stale" }), "platform-secrets:driftGitPassword", /is set but driftGitAuth is none/);
        rejectsConfig(() => parse({ driftGitAuth: "github", driftGithubRepository: "platform" }), "platform-secrets:driftGithubRepository", /is not <owner>\/<repository>/);
        const gh = parse({ driftGitAuth: "github", driftGithubRepository: "example-org/platform", driftRepoUrl: "" }).drift;
        assert.deepEqual(gh.gitAuth, { kind: "github", repository: "example-org/platform" });
    });

    it("webhook: https only, its HMAC key only with a URL", () => {
        rejectsConfig(() => parse({}, { driftWebhookUrl: "http://hooks.example.com/canary" }), "platform-secrets:driftWebhookUrl", /is not an https URL \(value not shown: it is a secret\)/);
        rejectsConfig(() => parse({}, { driftWebhookSecret: "k" }), "platform-secrets:driftWebhookSecret", /is set without driftWebhookUrl/);
        rejectsConfig(() => parse({ driftWebhookFormat: "discord" }), "platform-secrets:driftWebhookFormat", /"discord" is not allowed; fix: use one of raw, slack, ms_teams, pulumi_deployments/);
    });

    it("OIDC: only the clouds and fields Deployments knows", () => {
        rejectsConfig(() => parse({ driftOidc: { vault: {} } }), "platform-secrets:driftOidc.vault", /unknown field/);
        rejectsConfig(() => parse({ driftOidc: { aws: { roleARN: "arn:aws:iam::1:role/r" } } }), "platform-secrets:driftOidc.aws.sessionName", /is required/);
        assert.deepEqual(parse({ driftOidc: { aws: { roleARN: "arn:aws:iam::1:role/r", sessionName: "drift" } } }).drift.oidc, { aws: { roleARN: "arn:aws:iam::1:role/r", sessionName: "drift" } });
    });

    it("branch and repoDir stay inside the repository", () => {
        rejectsConfig(() => parse({ driftBranch: "refs/heads/main" }), "platform-secrets:driftBranch", /write the bare branch name/);
        rejectsConfig(() => parse({ driftRepoDir: "../other" }), "platform-secrets:driftRepoDir", /leaves the repository/);
    });

    it("secret values never print: SecretText hides itself from String, JSON and inspect", () => {
        const d = parse(ENV_CREDS, envSecrets()).drift;
        const text = [String(d.secretEnvironmentVariables.VAULT_TOKEN), JSON.stringify(d), inspect(d, { depth: 10 })].join("\n");
        assert.doesNotMatch(text, /canary/);
        assert.equal(d.secretEnvironmentVariables.VAULT_TOKEN.reveal(), "vault-canary-token");
        assert.ok(d.secretEnvironmentVariables.VAULT_TOKEN instanceof SecretText);
    });

    it("cluster-internal hosts", () => {
        for (const h of ["vault.vault.svc", "vault.vault.svc.cluster.local", "vault", "localhost", "127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "::1", "fd00::1", "kubernetes.default.svc"]) assert.ok(isClusterInternalHost(h), h);
        for (const h of ["vault.example.com", "8.8.8.8", "172.32.0.1", "2001:db8::1"]) assert.ok(!isClusterInternalHost(h), h);
    });
});
