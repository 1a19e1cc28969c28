import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { DeploymentRunPlan } from "../../stacks/drift";
import { ROOT } from "../env/engine";
import type { LocalStack } from "../env/local-stack";
import { planFromCliConfig } from "./drift-harness";

/**
 * What a platform team does before a stack's first scheduled drift run, shared by the drift harness test (the local
 * stack) and the environments test (dev and staging side by side): set the drift settings in the stack file the way
 * they are documented (secrets with `pulumi config set --secret`), then commit that stack file to the repository
 * Deployments clones (this checkout's HEAD on branch main: commit first, uncommitted work is not in the clone).
 */
export const AGENT_POOL = "00000000-0000-4000-8000-000000000001";

/** Prints the NAMES of the run's variables (never values), so a test sees exactly what the run got. */
// `compgen -e` (bash) lists exported names only: `env | cut` would print the continuation lines of multi-line
// values such as the kubeconfig.
export const ENV_NAMES_CMD = `echo "drift-run-env: $(compgen -e | sort | tr '\\n' ' ')"`;

export interface DriftSetup {
    plan: DeploymentRunPlan;
    /** The bare repository a run clones. */
    origin: string;
    /** The stack file as committed (for "the token is encrypted" checks). */
    stackFile: string;
}

/**
 * Self-hosted agent (Vault and the apiserver are on loopback), the Vault token and the kubeconfig as secret
 * variables, transpile-only to spare the type check. `work` is a scratch dir (the repository goes in it).
 */
export async function setUpDriftRun(s: LocalStack, o: { stackName: string; work: string; vaultToken: string; kubeconfigPath: string }): Promise<DriftSetup> {
    const kubeconfig = await fs.readFile(o.kubeconfigPath, "utf8");
    const set = async (args: string[]) => {
        const r = await s.cli(["config", "set", ...args]);
        assert.equal(r.code, 0, r.stderr);
    };
    await set(["--path", "platform-secrets:driftOrganization", "example-org"]);
    await set(["--path", "platform-secrets:driftRepoUrl", "https://git.example.com/platform-secrets.git"]);
    await set(["--path", "platform-secrets:driftCredentials", "environmentVariables"]);
    await set(["--path", "platform-secrets:driftAgentPoolId", AGENT_POOL]);
    await set(["--path", "platform-secrets:driftEnvironmentVariables.PULUMI_NODEJS_TRANSPILE_ONLY", "true"]);
    await set(["--path", "platform-secrets:driftPreRunCommands[0]", ENV_NAMES_CMD]);
    await set(["--secret", "--path", "platform-secrets:driftSecretEnvironmentVariables.VAULT_TOKEN", o.vaultToken]);
    await set(["--secret", "--path", "platform-secrets:driftSecretEnvironmentVariables.DRIFT_KUBECONFIG", kubeconfig]);
    const shown = await s.cli(["config", "--json", "--show-secrets"]);
    assert.equal(shown.code, 0, shown.stderr);
    const plan = planFromCliConfig(shown.stdout);
    const file = `Pulumi.${o.stackName}.yaml`;
    const stackFile = await fs.readFile(path.join(s.workDir, file), "utf8");

    const origin = path.join(o.work, "origin.git");
    const git = (args: string[], cwd = o.work) => execFileSync("git", ["-c", "user.name=drift-harness", "-c", "user.email=drift-harness@example.invalid", ...args], { cwd, stdio: "pipe" });
    const tree = path.join(o.work, "staging-tree");
    git(["clone", "--quiet", "--no-hardlinks", ROOT, tree]);
    git(["checkout", "--quiet", "-B", "main"], tree);
    await fs.writeFile(path.join(tree, file), stackFile);
    git(["add", file], tree);
    git(["commit", "--quiet", "-m", `${o.stackName} stack: live endpoints and drift settings`], tree);
    git(["clone", "--quiet", "--bare", tree, origin]);
    await fs.rm(tree, { recursive: true, force: true });
    return { plan, origin, stackFile };
}
