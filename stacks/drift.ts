import * as pulumi from "@pulumi/pulumi";
import * as pulumiservice from "@pulumi/pulumiservice";
import { DRIFT_KUBECONFIG_VAR, DriftSettings, SecretText } from "./config/drift";

/**
 * What a Pulumi Deployments run of this stack gets, as plain data: the harness (test/e2e/drift-harness.ts) runs
 * exactly this, and `deploymentSettingsArgs` renders it into the `pulumiservice.DeploymentSettings` inputs, so the
 * two cannot disagree. Secret values stay `SecretText` here and become `pulumi.secret` in the resource inputs.
 */
export interface DeploymentRunPlan {
    /** Empty = Pulumi-hosted runners. */
    agentPoolId: string;
    /** Undefined for the Pulumi GitHub App (vcs), which knows the repository. */
    repoUrl?: string;
    /** refs/heads/<branch> */
    branch: string;
    repoDir: string;
    environmentVariables: Record<string, string>;
    secretEnvironmentVariables: Record<string, SecretText>;
    /** Ours first (the kubeconfig file), then the user's. */
    preRunCommands: string[];
    skipInstallDependencies: boolean;
}

/**
 * Writes the kubeconfig from its secret variable to ~/.kube/config, the file every loader reads when KUBECONFIG
 * is unset (the kubernetes provider's clientcmd and lib/kube's loadKubeconfig in the dynamic providers alike). Only the variable's name is in the command, never its value; umask keeps the file 0600.
 */
export const WRITE_KUBECONFIG = `mkdir -p "$HOME/.kube" && (umask 077 && printf '%s\\n' "$${DRIFT_KUBECONFIG_VAR}" > "$HOME/.kube/config")`;

export function deploymentRunPlan(d: DriftSettings): DeploymentRunPlan {
    const env: Record<string, string> = { ...d.environmentVariables };
    if (d.vaultAddress && env.VAULT_ADDR === undefined && d.secretEnvironmentVariables.VAULT_ADDR === undefined) env.VAULT_ADDR = d.vaultAddress;
    const pre = d.secretEnvironmentVariables[DRIFT_KUBECONFIG_VAR] ? [WRITE_KUBECONFIG] : [];
    return {
        agentPoolId: d.agentPoolId,
        ...(d.gitAuth.kind === "github" ? {} : { repoUrl: d.repoUrl }),
        branch: `refs/heads/${d.branch}`,
        repoDir: d.repoDir,
        environmentVariables: env,
        secretEnvironmentVariables: d.secretEnvironmentVariables,
        preRunCommands: [...pre, ...d.preRunCommands],
        skipInstallDependencies: d.skipInstallDependencies,
    };
}

export interface DeploymentTarget {
    organization: pulumi.Input<string>;
    project: pulumi.Input<string>;
    stack: pulumi.Input<string>;
}

/** `pulumi.secret` of a secret value (never plaintext in state: the provider's schema marks only git auth secret). */
const sec = (s: SecretText): pulumi.Output<string> => pulumi.secret(s.reveal());

/** The DeploymentSettings inputs (checked against @pulumi/pulumiservice 1.3.0's schema by test/unit/stacks/drift-settings.test.ts). */
export function deploymentSettingsArgs(d: DriftSettings, target: DeploymentTarget): pulumiservice.DeploymentSettingsArgs {
    const plan = deploymentRunPlan(d);
    const environmentVariables: Record<string, pulumi.Input<string>> = { ...plan.environmentVariables };
    for (const [k, v] of Object.entries(plan.secretEnvironmentVariables)) environmentVariables[k] = sec(v);
    const g = d.gitAuth;
    const gitAuth: pulumiservice.types.input.DeploymentSettingsGitSourceGitAuthArgs | undefined =
        g.kind === "basic"
            ? { basicAuth: { username: pulumi.secret(g.username), password: sec(g.password) } }
            : g.kind === "ssh"
              ? { sshAuth: { sshPrivateKey: sec(g.privateKey), ...(g.passphrase ? { password: sec(g.passphrase) } : {}) } }
              : undefined;
    const operationContext: pulumiservice.types.input.DeploymentSettingsOperationContextArgs = {
        environmentVariables,
        preRunCommands: plan.preRunCommands,
        options: { skipInstallDependencies: plan.skipInstallDependencies },
        ...(d.oidc ? { oidc: d.oidc as pulumiservice.types.input.OperationContextOIDCArgs } : {}),
    };
    return {
        organization: target.organization,
        project: target.project,
        stack: target.stack,
        ...(plan.agentPoolId ? { agentPoolId: plan.agentPoolId } : {}),
        operationContext,
        sourceContext: {
            git: {
                ...(plan.repoUrl !== undefined ? { repoUrl: plan.repoUrl } : {}),
                branch: plan.branch,
                repoDir: plan.repoDir,
                ...(gitAuth ? { gitAuth } : {}),
            },
        },
        // The Pulumi GitHub App reads the private repository; these settings exist for drift runs, so pushes and
        // pull requests must not start deployments (the schema defaults both to true).
        ...(g.kind === "github" ? { vcs: { provider: "github", repository: g.repository, deployCommits: false, previewPullRequests: false } } : {}),
    };
}

/** The events a drift webhook receives: everything but the routine "checked, nothing found". */
export const DRIFT_WEBHOOK_FILTERS: pulumiservice.WebhookFilters[] = [
    pulumiservice.WebhookFilters.DriftDetected,
    pulumiservice.WebhookFilters.DriftDetectionFailed,
    pulumiservice.WebhookFilters.DriftRemediationSucceeded,
    pulumiservice.WebhookFilters.DriftRemediationFailed,
];

export function driftWebhookArgs(d: DriftSettings, target: DeploymentTarget): pulumiservice.WebhookArgs | undefined {
    if (!d.webhook) return undefined;
    return {
        active: true,
        displayName: pulumi.interpolate`platform-secrets drift ${target.project}/${target.stack}`,
        organizationName: target.organization,
        projectName: target.project,
        stackName: target.stack,
        // Chat webhook URLs embed their token: secret, though the schema does not mark it.
        payloadUrl: sec(d.webhook.url),
        format: d.webhook.format,
        filters: DRIFT_WEBHOOK_FILTERS,
        ...(d.webhook.secret ? { secret: sec(d.webhook.secret) } : {}),
    };
}

export interface DriftChecksArgs {
    /** Validated drift settings (stacks/config/drift.ts). */
    drift: DriftSettings;
    /** Project; default the running project. */
    project?: pulumi.Input<string>;
    /** Stack; default the running stack. */
    stack?: pulumi.Input<string>;
}

/** Pulumi Cloud Deployments settings, a drift schedule and an optional drift webhook (only when drift is enabled). */
export class DriftChecks extends pulumi.ComponentResource {
    readonly settings: pulumiservice.DeploymentSettings;
    readonly schedule: pulumiservice.DriftSchedule;
    readonly webhook?: pulumiservice.Webhook;

    constructor(name: string, args: DriftChecksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:drift:DriftChecks", name, {}, opts);
        const d = args.drift;
        if (!/^(\S+\s+){4}\S+$/.test(d.cron.trim())) {
            throw new pulumi.ResourceError(`DriftChecks ${name}: cron "${d.cron}" is not a 5-field cron expression; write e.g. "0 */6 * * *"`, this);
        }
        if (d.organization === "") throw new pulumi.ResourceError(`DriftChecks ${name}: organization is empty; set the Pulumi Cloud organization`, this);
        const target: DeploymentTarget = { organization: d.organization, project: args.project ?? pulumi.getProject(), stack: args.stack ?? pulumi.getStack() };
        this.settings = new pulumiservice.DeploymentSettings(`${name}-settings`, deploymentSettingsArgs(d, target), { parent: this });
        this.schedule = new pulumiservice.DriftSchedule(`${name}-schedule`, {
            organization: target.organization,
            project: target.project,
            stack: target.stack,
            scheduleCron: d.cron,
            autoRemediate: d.autoRemediate,
        }, { parent: this, dependsOn: [this.settings] });
        const hook = driftWebhookArgs(d, target);
        if (hook) this.webhook = new pulumiservice.Webhook(`${name}-webhook`, hook, { parent: this });
        this.registerOutputs({});
    }
}
