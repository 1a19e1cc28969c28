import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { CONFIG_NAMESPACE, DRIFT_SECRET_KEYS, parseStackConfig, RawConfig } from "../../stacks/config";
import { DeploymentRunPlan, deploymentRunPlan } from "../../stacks/drift";
import { Engine, ROOT } from "../env/engine";
import { languageHostScript } from "./drift-language-host";

/**
 * What a Pulumi Deployments drift run does, step by step, on this machine (test support):
 *   1. a fresh `git clone` of the repository at the settings' branch (sourceContext.git);
 *   2. cd repoDir; the executor's dependency install unless options.skipInstallDependencies (the Node.js default
 *      is npm's `npm install`, as the language host's InstallDependencies runs it; configurable: `install`);
 *   3. the settings' preRunCommands, each in `bash -c`;
 *   4. detection `pulumi refresh --preview-only`, or remediation `pulumi up --refresh --yes`.
 * Every step gets ONLY the settings' environment variables (plain + secret, revealed) on top of what the runner
 * itself provides: PATH (node, git, the CLI, the language host), a fresh HOME, the engine's private PULUMI_HOME
 * (its plugins: the runner image's), the backend login and secrets passphrase (Deployments' own login and the
 * Cloud secrets manager; here the local file backend), and npm's cache (the runner's dependency cache). Nothing
 * of the caller's environment (no KUBECONFIG, VAULT_*, PS_*) reaches it.
 */
export interface HarnessRunner {
    engine: Engine;
    /** What `pulumi login` gives the runner: here the file backend and the stack's passphrase. */
    login: { PULUMI_BACKEND_URL: string; PULUMI_CONFIG_PASSPHRASE: string };
    /** Scratch directory (each run gets a fresh subdirectory, removed afterwards unless keep). */
    workRoot: string;
    /** Install command when the settings do not skip it; default Deployments' `npm install`. */
    install?: string[];
    onOutput?: (line: string) => void;
}

export interface StepResult {
    step: string;
    seconds: number;
    code: number;
}

export interface DriftRunResult {
    operation: "detect" | "remediate";
    steps: StepResult[];
    seconds: number;
    /** Engine summary: `same`, `update`, ... counts. */
    changes: Record<string, number>;
    /** Resources in the stack the run went through (sum of the summary counts). */
    resources: number;
    /** detect: something would change. */
    drift: boolean;
    /** Engine output of the operation (the CLI's own text: what Deployments shows in its log). */
    output: string;
}

/** Deployments' npm default (the Node.js language host runs `npm install`; --loglevel=error as it does). */
export const DEPLOYMENTS_NPM_INSTALL = ["npm", "install", "--loglevel=error"];

function run(cmd: string, args: string[], cwd: string, env: Record<string, string>, onOutput?: (l: string) => void): Promise<{ code: number; out: string }> {
    return new Promise((resolve, reject) => {
        // env replaces process.env entirely: nothing of the caller leaks in.
        const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        const take = (d: Buffer) => {
            const s = d.toString();
            out += s;
            if (onOutput) s.split("\n").forEach((l) => l && onOutput(l));
        };
        child.stdout.on("data", take);
        child.stderr.on("data", take);
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
}

/** The runner's own PATH entries: a bin dir with the CLI and the language host, then node's and the system's. */
async function runnerBin(runner: HarnessRunner, dir: string): Promise<string> {
    const bin = path.join(dir, "runner-bin");
    await fs.mkdir(bin, { recursive: true });
    // The runner image's layout: the CLI with its bundled plugins beside it. With PULUMI_IGNORE_AMBIENT_PLUGINS
    // (the engine's isolation) the CLI looks for the language host only next to its own executable (symlinks
    // resolved), so the binary is hard-linked (copied across filesystems), not symlinked.
    const real = await fs.realpath(runner.engine.cliPath);
    await fs.link(real, path.join(bin, "pulumi")).catch(() => fs.copyFile(real, path.join(bin, "pulumi")));
    await fs.chmod(path.join(bin, "pulumi"), 0o755);
    const dynamic = [path.join(path.dirname(real), "pulumi-resource-pulumi-nodejs"), path.join(ROOT, "node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs")];
    const found = await Promise.all(dynamic.map((f) => fs.access(f).then(() => f, () => undefined)));
    await fs.copyFile(found.find((f) => f)!, path.join(bin, "pulumi-resource-pulumi-nodejs"));
    await fs.chmod(path.join(bin, "pulumi-resource-pulumi-nodejs"), 0o755);
    await fs.writeFile(path.join(bin, "pulumi-language-nodejs"), languageHostScript(process.execPath), { mode: 0o755 });
    return [bin, path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":");
}

export interface DriftRunOptions {
    /** The repository Deployments clones (sourceContext.git.repoUrl; here a local path). */
    repoUrl: string;
    plan: DeploymentRunPlan;
    stack: string;
    operation: "detect" | "remediate";
}

export async function runDeployment(runner: HarnessRunner, o: DriftRunOptions): Promise<DriftRunResult> {
    const t0 = Date.now();
    const dir = await fs.mkdtemp(path.join(runner.workRoot, "run-"));
    const steps: StepResult[] = [];
    try {
        const home = path.join(dir, "home");
        await fs.mkdir(home);
        const env: Record<string, string> = {
            PATH: await runnerBin(runner, dir),
            HOME: home,
            npm_config_cache: process.env.npm_config_cache || path.join(homedir(), ".npm"),
            npm_config_update_notifier: "false",
            ...runner.engine.env,
            ...runner.login,
            ...o.plan.environmentVariables,
            ...Object.fromEntries(Object.entries(o.plan.secretEnvironmentVariables).map(([k, v]) => [k, v.reveal()])),
        };
        const step = async (name: string, cmd: string, args: string[], cwd: string): Promise<string> => {
            const s = Date.now();
            const r = await run(cmd, args, cwd, env, runner.onOutput);
            steps.push({ step: name, seconds: (Date.now() - s) / 1000, code: r.code });
            if (r.code !== 0 && !name.startsWith("pulumi")) throw new Error(`drift run step "${name}" failed (exit ${r.code}):\n${r.out.slice(-4000)}`);
            return r.out;
        };
        const src = path.join(dir, "src");
        const branch = o.plan.branch.replace(/^refs\/heads\//, "");
        await step("git clone", "git", ["clone", "--quiet", "--depth", "1", "--branch", branch, "--single-branch", `file://${o.repoUrl}`, src], dir);
        const work = path.join(src, o.plan.repoDir);
        if (!o.plan.skipInstallDependencies) {
            const [cmd, ...args] = runner.install ?? DEPLOYMENTS_NPM_INSTALL;
            await step(`install: ${[cmd, ...args].join(" ")}`, cmd, args, work);
        }
        for (const [i, c] of o.plan.preRunCommands.entries()) await step(`preRunCommands[${i}]`, "bash", ["-c", c], work);
        const args =
            o.operation === "detect"
                ? ["refresh", "--preview-only", "--stack", o.stack, "--non-interactive", "--color", "never"]
                : ["up", "--refresh", "--yes", "--skip-preview", "--stack", o.stack, "--non-interactive", "--color", "never"];
        const s = Date.now();
        const r = await run("pulumi", args, work, env, runner.onOutput);
        steps.push({ step: `pulumi ${args.slice(0, o.operation === "detect" ? 2 : 2).join(" ")}`, seconds: (Date.now() - s) / 1000, code: r.code });
        if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed (exit ${r.code}):\n${r.out.slice(-6000)}`);
        const changes = summary(r.out);
        const resources = Object.values(changes).reduce((a, b) => a + b, 0);
        return { operation: o.operation, steps, seconds: (Date.now() - t0) / 1000, changes, resources, drift: Object.keys(changes).some((k) => k !== "same"), output: r.out };
    } finally {
        await fs.rm(dir, { recursive: true, force: true });
    }
}

/**
 * The CLI's "Resources:" summary → counts, e.g. `~ 1 to update` / `1 updated`, `36 unchanged` →
 * { update: 1, same: 36 }. (The CLI has no machine-readable refresh --preview-only summary.)
 */
export function summary(out: string): Record<string, number> {
    const i = out.lastIndexOf("Resources:");
    if (i < 0) throw new Error(`no "Resources:" summary in the engine output:\n${out.slice(-3000)}`);
    const block = out.slice(i).split("\n").slice(1);
    const counts: Record<string, number> = {};
    const names: Record<string, string> = { unchanged: "same", updated: "update", created: "create", deleted: "delete", replaced: "replace" };
    for (const line of block) {
        if (/^\s*$/.test(line) || /^Duration:/.test(line.trim())) break;
        const m = /^\s*[~+\-±]*\s*(\d+)\s+(?:to\s+)?(\w+)/.exec(line);
        if (!m) continue;
        const key = names[m[2]] ?? m[2];
        counts[key] = (counts[key] ?? 0) + Number(m[1]);
    }
    return counts;
}

/**
 * `pulumi config --json --show-secrets` of the stack → the drift run plan, through the program's own parser, with
 * driftEnabled forced on (all of the drift validation runs, as for a stack with a schedule) while the stack file
 * keeps it off: here no Pulumi Cloud exists for the program's pulumiservice resources.
 */
export function planFromCliConfig(json: string): DeploymentRunPlan {
    const all = JSON.parse(json) as Record<string, { value?: string; objectValue?: unknown; secret?: boolean }>;
    const raw: RawConfig = {};
    const secrets: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) {
        if (!k.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
        const short = k.slice(CONFIG_NAMESPACE.length + 1);
        const text = v.value ?? JSON.stringify(v.objectValue);
        if (DRIFT_SECRET_KEYS.includes(short)) secrets[short] = text;
        else if (short !== "githubToken") raw[short] = text;
    }
    raw.driftEnabled = "true";
    return deploymentRunPlan(parseStackConfig(raw, undefined, secrets).drift);
}
