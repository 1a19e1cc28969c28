import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type * as pulumiservice from "@pulumi/pulumiservice";
import { isSecret, loadStackFile, ofType, runBuild, runStack, T, toRawConfig } from "./harness";

/**
 * The DriftChecks component as the program registers it (pulumi.runtime.setMocks): the exact inputs of
 * DeploymentSettings, DriftSchedule and Webhook, every secret an Output marked secret, and, when the provider's
 * schema is given (PS_PULUMISERVICE_SCHEMA=<schema.json of pulumi-pulumiservice v1.3.0>), every rendered input
 * checked against it: known properties only, types, enums and required fields. The Pulumi Cloud API is never
 * called (unreachable here): see stacks/README.md, Drift checks.
 */
const WEBHOOK = "pulumiservice:index:Webhook";
const AGENT_POOL = "5d1c0c5e-7b8a-4f43-9a55-3c2f1e0b7a11";
const KUBECONFIG = "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://10.0.0.1:6443'}}]\nusers: [{name: u, user: {token: kube-canary}}]\n";
const OVERRIDES = {
    driftCredentials: "environmentVariables",
    driftEscEnvironment: undefined,
    driftAgentPoolId: AGENT_POOL,
    driftEnvironmentVariables: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
    driftPreRunCommands: ["node --version"],
    driftGitAuth: "basic",
    driftGitUsername: "x-access-token",
    driftWebhookFormat: "slack",
    driftOidc: { aws: { roleARN: "arn:aws:iam::123456789012:role/drift", sessionName: "drift" } },
};
/** The secret signature of Pulumi's wire format: the mocks see secret inputs as {<sig>: <SECRET_SIG>, value}. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** Secret wrappers → { $secret: value } (what the assertions name), recursively. */
function marked(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(marked);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SIG_KEY] === SECRET_SIG) return { $secret: marked(o.value) };
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, marked(x)]));
    }
    return v;
}
/** Secret wrappers → their values (for the schema check). */
function plain(v: unknown): unknown {
    const m = marked(v);
    const strip = (x: unknown): unknown =>
        Array.isArray(x) ? x.map(strip) : x && typeof x === "object" ? ("$secret" in (x as object) ? strip((x as { $secret: unknown }).$secret) : Object.fromEntries(Object.entries(x).map(([k, y]) => [k, strip(y)]))) : x;
    return strip(m);
}
const SECRETS = {
    driftSecretEnvironmentVariables: JSON.stringify({ VAULT_TOKEN: "vault-canary", DRIFT_KUBECONFIG: KUBECONFIG }),
    driftGitPassword: "git-canary",
    driftWebhookUrl: "https://hooks.slack.com/services/T0/B0/webhook-canary",
    driftWebhookSecret: "hmac-canary",
};

describe("stacks/drift: DeploymentSettings, DriftSchedule and the drift webhook as rendered", () => {
    it("renders the operationContext, agent pool, git auth and webhook with exactly these inputs", async () => {
        const run = await runStack("staging", { overrides: OVERRIDES, secrets: SECRETS });
        const [settings] = ofType(run, T.deploymentSettings);
        // The SDK lifts a nested secret to the whole top-level property: operationContext and sourceContext are
        // stored encrypted as a whole (preRunCommands included); nothing of them is plaintext in state.
        assert.deepEqual(marked(settings.inputs), {
            organization: "example-org",
            project: "platform-secrets",
            stack: "staging",
            agentPoolId: AGENT_POOL,
            operationContext: { $secret: {
                environmentVariables: { PULUMI_NODEJS_TRANSPILE_ONLY: "true", VAULT_ADDR: "https://vault.vault.svc:8200", VAULT_TOKEN: "vault-canary", DRIFT_KUBECONFIG: KUBECONFIG },
                preRunCommands: [`mkdir -p "$HOME/.kube" && (umask 077 && printf '%s\\n' "$DRIFT_KUBECONFIG" > "$HOME/.kube/config")`, "node --version"],
                options: { skipInstallDependencies: false },
                oidc: { aws: { roleARN: "arn:aws:iam::123456789012:role/drift", sessionName: "drift" } },
            } },
            sourceContext: { $secret: { git: { repoUrl: "https://github.com/example-org/platform.git", branch: "refs/heads/main", repoDir: ".", gitAuth: { basicAuth: { username: "x-access-token", password: "git-canary" } } } } },
        });
        const [sched] = ofType(run, T.driftSchedule);
        assert.deepEqual(sched.inputs, { organization: "example-org", project: "platform-secrets", stack: "staging", scheduleCron: "0 */6 * * *", autoRemediate: false });
        const [hook] = ofType(run, WEBHOOK);
        assert.deepEqual(marked(hook.inputs), {
            active: true,
            displayName: "platform-secrets drift platform-secrets/staging",
            organizationName: "example-org",
            projectName: "platform-secrets",
            stackName: "staging",
            payloadUrl: { $secret: SECRETS.driftWebhookUrl },
            format: "slack",
            filters: ["drift_detected", "drift_detection_failed", "drift_remediation_succeeded", "drift_remediation_failed"],
            secret: { $secret: "hmac-canary" },
        });
        // The schedule waits for the settings (a drift run needs them).
        assert.ok(sched.meta.dependencies.includes(settings.meta.urn!), "DriftSchedule depends on DeploymentSettings");
    });

    it("every secret input is a secret Output (never plaintext in state), plain ones are not", async () => {
        const { stacks, platform } = await runBuild("staging", { overrides: OVERRIDES, secrets: SECRETS });
        const target = { organization: "example-org", project: "platform-secrets", stack: "staging" };
        const drift = await import("../../../stacks/drift");
        // The same config the program got, parsed the same way: the component renders exactly these args.
        const overrides = Object.fromEntries(Object.entries(OVERRIDES).filter(([, v]) => v !== undefined));
        const { driftEscEnvironment: _esc, ...base } = loadStackFile("staging");
        void _esc;
        const parsed = stacks.parseStackConfig(toRawConfig({ ...base, ...overrides }), undefined, SECRETS);
        const args = drift.deploymentSettingsArgs(parsed.drift, target);
        const oc = args.operationContext as pulumiservice.types.input.DeploymentSettingsOperationContextArgs;
        const env = oc.environmentVariables as Record<string, pulumi.Input<string>>;
        for (const k of ["VAULT_TOKEN", "DRIFT_KUBECONFIG"]) assert.ok(pulumi.Output.isInstance(env[k]) && (await isSecret(env[k] as pulumi.Output<string>)), k);
        assert.equal(env.VAULT_ADDR, "https://vault.vault.svc:8200");
        const git = (args.sourceContext as any).git.gitAuth.basicAuth;
        assert.ok(await isSecret(git.password), "git password");
        assert.ok(await isSecret(git.username), "git username (the schema marks it secret too)");
        const hook = drift.driftWebhookArgs(parsed.drift, target)!;
        assert.ok(await isSecret(hook.payloadUrl as pulumi.Output<string>), "webhook URL");
        assert.ok(await isSecret(hook.secret as pulumi.Output<string>), "webhook HMAC key");
        assert.ok(platform.drift?.webhook, "the component created the webhook");
    });

    it("github mode: the Pulumi GitHub App reads the repository, pushes and pull requests do not deploy", async () => {
        const run = await runStack("staging", { overrides: { driftGitAuth: "github", driftGithubRepository: "example-org/platform", driftRepoUrl: "" } });
        const [settings] = ofType(run, T.deploymentSettings);
        assert.deepEqual(settings.inputs.vcs, { provider: "github", repository: "example-org/platform", deployCommits: false, previewPullRequests: false, pullRequestTemplate: false });
        assert.deepEqual(settings.inputs.sourceContext, { git: { branch: "refs/heads/main", repoDir: "." } });
        // ESC credentials: nothing secret in the settings, no VAULT_ADDR (the environment exports it), no webhook.
        assert.deepEqual(settings.inputs.operationContext, { environmentVariables: {}, preRunCommands: [], options: { skipInstallDependencies: false } });
        assert.equal(settings.inputs.agentPoolId, AGENT_POOL);
        assert.equal(ofType(run, WEBHOOK).length, 0);
    });

    it("the rendered inputs match the pulumiservice 1.3.0 schema (PS_PULUMISERVICE_SCHEMA)", async function () {
        const file = process.env.PS_PULUMISERVICE_SCHEMA;
        if (!file || !existsSync(file)) this.skip();
        const schema = JSON.parse(readFileSync(file!, "utf8")) as Schema;
        const runs = [
            await runStack("staging", { overrides: OVERRIDES, secrets: SECRETS }),
            await runStack("staging", { overrides: { ...OVERRIDES, driftGitAuth: "ssh", driftRepoUrl: "git@github.com:example-org/platform.git" }, secrets: { ...SECRETS, driftGitPassword: "", driftGitSshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n" } }),
            await runStack("prod", { overrides: { driftGitAuth: "github", driftGithubRepository: "example-org/platform" } }),
        ];
        let checked = 0;
        for (const run of runs) {
            for (const token of [T.deploymentSettings, T.driftSchedule, WEBHOOK]) {
                for (const r of ofType(run, token)) {
                    const errors = checkResource(schema, token, plain(r.inputs) as Record<string, unknown>);
                    assert.deepEqual(errors, [], `${token} ${r.name}`);
                    checked++;
                }
            }
        }
        assert.equal(checked, 8);
    });
});

interface Schema {
    resources: Record<string, { inputProperties: Record<string, Prop>; requiredInputs?: string[] }>;
    types: Record<string, { type: string; properties?: Record<string, Prop>; required?: string[]; enum?: { value: unknown }[] }>;
}
interface Prop {
    type?: string;
    $ref?: string;
    items?: Prop;
    additionalProperties?: Prop;
}

/** The subset of Pulumi's package schema the pulumiservice inputs use: objects, refs, enums, arrays, maps, scalars. */
function checkResource(schema: Schema, token: string, inputs: Record<string, unknown>): string[] {
    const res = schema.resources[token];
    if (!res) return [`${token}: not in the schema`];
    return checkObject(schema, token, res.inputProperties, res.requiredInputs ?? [], inputs);
}

function checkObject(schema: Schema, where: string, props: Record<string, Prop>, required: string[], v: unknown): string[] {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return [`${where}: not an object`];
    const o = v as Record<string, unknown>;
    const errs: string[] = [];
    for (const r of required) if (o[r] === undefined) errs.push(`${where}.${r}: required`);
    for (const [k, val] of Object.entries(o)) {
        if (!props[k]) errs.push(`${where}.${k}: not a property (known: ${Object.keys(props).join(", ")})`);
        else errs.push(...checkValue(schema, `${where}.${k}`, props[k], val));
    }
    return errs;
}

function checkValue(schema: Schema, where: string, p: Prop, v: unknown): string[] {
    if (p.$ref) {
        const t = schema.types[p.$ref.replace("#/types/", "")];
        if (!t) return [`${where}: unknown type ${p.$ref}`];
        if (t.enum) return t.enum.some((e) => e.value === v) ? [] : [`${where}: ${JSON.stringify(v)} is not one of ${t.enum.map((e) => JSON.stringify(e.value)).join(", ")}`];
        return checkObject(schema, where, t.properties ?? {}, t.required ?? [], v);
    }
    switch (p.type) {
        case "string":
            return typeof v === "string" ? [] : [`${where}: not a string`];
        case "boolean":
            return typeof v === "boolean" ? [] : [`${where}: not a boolean`];
        case "integer":
            return Number.isInteger(v) ? [] : [`${where}: not an integer`];
        case "array":
            return Array.isArray(v) ? v.flatMap((x, i) => checkValue(schema, `${where}[${i}]`, p.items!, x)) : [`${where}: not an array`];
        case "object":
            if (typeof v !== "object" || v === null) return [`${where}: not an object`];
            return p.additionalProperties ? Object.entries(v).flatMap(([k, x]) => checkValue(schema, `${where}.${k}`, p.additionalProperties!, x)) : [];
        default:
            return [`${where}: unhandled schema type ${String(p.type)}`];
    }
}
