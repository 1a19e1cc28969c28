import * as pulumi from "@pulumi/pulumi";
import * as auto from "@pulumi/pulumi/automation";
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { Engine, ROOT } from "./engine";

/**
 * The program run for real: the Automation API with an INLINE program that loads the project's own entry
 * (index.ts), so no language-host binary is needed (the CLI is pointed at a LanguageRuntime server inside this
 * process with --client). The workspace is the project directory (or a copy of its Pulumi.yaml and
 * Pulumi.<stack>.yaml, for tests that change config), so the CLI reads the project schema and stack file exactly
 * as a user's `pulumi up` does. State: a local file backend in a directory the caller owns.
 *
 * Passphrase: the `local` stack's state is throwaway (a temp dir), so its passphrase is fixed and public, and
 * Pulumi.local.yaml carries the matching encryptionsalt: the CLI never rewrites the committed stack file.
 */
export const LOCAL_STACK = "local";
export const LOCAL_PASSPHRASE = "platform-secrets-local-sandbox-not-a-secret";

export interface LocalStackOptions {
    engine: Engine;
    /** Where the servers are: kubeconfig for the kubernetes provider, Vault for the vault provider. */
    kubeconfigPath: string;
    vault: { addr: string; token: string };
    /** File backend directory (created). */
    stateDir: string;
    /** Project directory; default the repository root. */
    workDir?: string;
    stackName?: string;
    /** Engine output, line by line (the CLI's own progress display). */
    onOutput?: (line: string) => void;
    /** Extra env for the CLI and the plugins. */
    extraEnv?: Record<string, string>;
    /** No kubelet (the sandbox): Deployments are not awaited. Default true. */
    noKubelet?: boolean;
}

export interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** The CLI itself (what a user types), in `cwd` with `env` on top of ours. */
export function runCli(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<CliResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

export interface LocalStack {
    stack: auto.Stack;
    workDir: string;
    env: Record<string, string>;
    up(opts?: auto.UpOptions): Promise<auto.UpResult>;
    preview(opts?: auto.PreviewOptions): Promise<auto.PreviewResult>;
    refresh(opts?: auto.RefreshOptions): Promise<auto.RefreshResult>;
    destroy(opts?: auto.DestroyOptions): Promise<auto.DestroyResult>;
    /** `pulumi stack export` as text, secrets as ciphertext (the Automation API's exportStack adds --show-secrets). */
    exportText(): Promise<string>;
    /** Runs the CLI itself in the workspace with the stack's env, e.g. ["config", "set", "--path", k, v]. */
    cli(args: string[]): Promise<CliResult>;
}

/** Project modules are re-required by every run: index.ts registers resources at load time. */
function clearProjectModules(): void {
    for (const k of Object.keys(require.cache)) {
        if (k.startsWith(ROOT + path.sep) && !k.includes(`${path.sep}node_modules${path.sep}`) && !k.includes(`${path.sep}test${path.sep}`)) delete require.cache[k];
    }
}

export const SKIP_AWAIT = "pulumi.com/skipAwait";

/**
 * Sandbox-only adaptation, applied by the runner and never by the program: there is no kubelet, so no pod ever
 * becomes ready and the kubernetes provider would wait 10 minutes for every Deployment's rollout. Each Deployment
 * gets `pulumi.com/skipAwait: "true"`. The reconciler's own Deployment already has it from the stack config
 * (`reconcilerSkipAwait: true` in Pulumi.local.yaml); this covers any other Deployment a section may add.
 */
export function skipAwaitDeployments(args: pulumi.ResourceTransformArgs): pulumi.ResourceTransformResult | undefined {
    if (args.type !== "kubernetes:apps/v1:Deployment") return undefined;
    const props = args.props as { metadata?: { annotations?: Record<string, unknown> } };
    if (props.metadata?.annotations?.[SKIP_AWAIT] !== undefined) return undefined;
    const metadata = { ...(props.metadata ?? {}), annotations: { ...(props.metadata?.annotations ?? {}), [SKIP_AWAIT]: "true" } };
    return { props: { ...args.props, metadata }, opts: args.opts };
}

/**
 * The inline program: the project's own entry, its exports as stack outputs. The program itself reads Vault (the
 * ownership check of stacks/ownership.ts, with the vault provider's VAULT_ADDR / VAULT_TOKEN): a user's `pulumi`
 * hands the language host its environment; an inline program runs in this process, so the runner sets them here.
 */
export function projectProgram(opts: { noKubelet?: boolean; vault?: { addr: string; token: string } } = {}): () => Promise<Record<string, unknown>> {
    return async () => {
        if (opts.vault) {
            process.env.VAULT_ADDR = opts.vault.addr;
            process.env.VAULT_TOKEN = opts.vault.token;
        }
        if (opts.noKubelet) pulumi.runtime.registerResourceTransform(skipAwaitDeployments);
        clearProjectModules();
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(path.join(ROOT, "index.ts")) as Record<string, unknown>;
        return { ...mod };
    };
}

/**
 * A copy of the project files the CLI reads (Pulumi.yaml, Pulumi.<stack>.yaml) in `dir`, with node_modules
 * linked (the dynamic-provider plugin resolves @pulumi/pulumi from its working directory). For tests that run
 * `pulumi config set`, which writes the stack file. The entry index.ts is linked too: the CLI checks it exists.
 */
export async function copyProject(dir: string, stackName = LOCAL_STACK): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    for (const f of ["Pulumi.yaml", `Pulumi.${stackName}.yaml`]) await fs.copyFile(path.join(ROOT, f), path.join(dir, f));
    // The CLI checks that Pulumi.yaml's `main` exists (the inline program loads the real one from ROOT).
    for (const l of ["node_modules", "index.ts"]) {
        await fs.symlink(path.join(ROOT, l), path.join(dir, l)).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== "EEXIST") throw e;
        });
    }
    return dir;
}

export async function openLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
    const workDir = opts.workDir ?? ROOT;
    const stackName = opts.stackName ?? LOCAL_STACK;
    await fs.mkdir(opts.stateDir, { recursive: true });
    const env: Record<string, string> = {
        ...opts.engine.env,
        PULUMI_BACKEND_URL: `file://${opts.stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE,
        KUBECONFIG: opts.kubeconfigPath,
        VAULT_ADDR: opts.vault.addr,
        VAULT_TOKEN: opts.vault.token,
        ...opts.extraEnv,
    };
    const pulumiCommand = await auto.PulumiCommand.get(opts.engine.cliRoot ? { root: opts.engine.cliRoot, skipVersionCheck: false } : {});
    const stack = await auto.LocalWorkspace.createOrSelectStack(
        { stackName, projectName: "platform-secrets", program: projectProgram({ noKubelet: opts.noKubelet ?? true, vault: opts.vault }) },
        { workDir, pulumiHome: opts.engine.pulumiHome, envVars: env, pulumiCommand },
    );
    const onOutput = opts.onOutput;
    const out = onOutput ? { onOutput: (s: string) => s.split("\n").forEach((l) => l && onOutput(l)) } : {};
    return {
        stack,
        workDir,
        env,
        up: (o) => stack.up({ ...out, ...o }),
        preview: (o) => stack.preview({ ...out, ...o }),
        refresh: (o) => stack.refresh({ ...out, ...o }),
        destroy: (o) => stack.destroy({ ...out, ...o }),
        exportText: async () => {
            const r = await runCli(pulumiCommand.command, ["stack", "export", "--stack", stackName, "--non-interactive"], workDir, env);
            if (r.code !== 0) throw new Error(`pulumi stack export failed (${r.code}): ${r.stderr}`);
            return r.stdout;
        },
        cli: (args) => runCli(pulumiCommand.command, [...args, "--stack", stackName, "--non-interactive"], workDir, env),
    };
}
