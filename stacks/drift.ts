import * as pulumi from "@pulumi/pulumi";
import * as pulumiservice from "@pulumi/pulumiservice";

export interface DriftChecksArgs {
    /** Pulumi Cloud organization. */
    organization: pulumi.Input<string>;
    /** Project; default the running project. */
    project?: pulumi.Input<string>;
    /** Stack; default the running stack. */
    stack?: pulumi.Input<string>;
    /** Cron (5 fields) of drift runs. */
    cron: pulumi.Input<string>;
    /** Run `pulumi up` when drift is found; default false. */
    autoRemediate?: pulumi.Input<boolean>;
    /** Repository Pulumi Deployments checks out. */
    repoUrl: pulumi.Input<string>;
    /** Branch; default "main". */
    branch?: pulumi.Input<string>;
    /** Directory of Pulumi.yaml inside the repository; default ".". */
    repoDir?: pulumi.Input<string>;
}

/** Pulumi Cloud Deployments settings + a drift schedule for this stack (created only when drift is enabled). */
export class DriftChecks extends pulumi.ComponentResource {
    readonly settings: pulumiservice.DeploymentSettings;
    readonly schedule: pulumiservice.DriftSchedule;

    constructor(name: string, args: DriftChecksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:drift:DriftChecks", name, {}, opts);
        if (typeof args.cron === "string" && !/^(\S+\s+){4}\S+$/.test(args.cron.trim())) {
            throw new pulumi.ResourceError(`DriftChecks ${name}: cron "${args.cron}" is not a 5-field cron expression; write e.g. "0 */6 * * *"`, this);
        }
        if (args.organization === "") throw new pulumi.ResourceError(`DriftChecks ${name}: organization is empty; set the Pulumi Cloud organization`, this);
        const project = args.project ?? pulumi.getProject();
        const stack = args.stack ?? pulumi.getStack();
        this.settings = new pulumiservice.DeploymentSettings(`${name}-settings`, {
            organization: args.organization,
            project,
            stack,
            sourceContext: { git: { repoUrl: args.repoUrl, branch: pulumi.interpolate`refs/heads/${args.branch ?? "main"}`, repoDir: args.repoDir ?? "." } },
        }, { parent: this });
        this.schedule = new pulumiservice.DriftSchedule(`${name}-schedule`, {
            organization: args.organization,
            project,
            stack,
            scheduleCron: args.cron,
            autoRemediate: args.autoRemediate ?? false,
        }, { parent: this, dependsOn: [this.settings] });
        this.registerOutputs({});
    }
}
