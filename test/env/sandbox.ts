import * as auto from "@pulumi/pulumi/automation";
import { CoreV1Api, KubeConfig, V1Secret } from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Client } from "pg";
import { ANNOTATION_SOURCE_NAME, ANNOTATION_SOURCE_NAMESPACE, ANNOTATION_FORMAT, LABEL_DERIVED } from "../../derive/constants";
import { binPath, vaultSpec } from "./binaries";
import { Progress, stderrProgress } from "./build";
import { Engine } from "./engine";
import { startTestEnv } from "./env";
import { request } from "./http";
import { startLocalSandbox, LocalSandbox } from "./local-sandbox";
import { readStackConfig, stackNamespaces } from "./local-seed";
import { LOCAL_PASSPHRASE, LOCAL_STACK, openLocalStack } from "./local-stack";
import { applyVaultAccess, createConsumerDeployment, followPodLogs, PodInstall, preparePodInstall, VaultAccessOutputs } from "./pod-install";
import { consumeDigest, waitForSolePodLogging } from "./pod-checks";
import { bootstrapHookRoles, readStackPolicy } from "./sandbox-reconciler";
import { pidAlive, waitForSignal } from "./process";

/**
 * The product's main job, `npm run sandbox`: the servers (startTestEnv) → `pulumi up` of the `local` stack through
 * the real engine (progress streamed) → the reconciler as a local process with the ServiceAccount the stack created
 * (sandbox-reconciler.ts) → what was created and how to look at it and rotate a password → Ctrl-C → teardown
 * (reconciler, stand-ins, servers; temp dirs removed).
 *
 * There is no Node.js language host binary here, so a `pulumi up` typed in a shell cannot run the program: the
 * running sandbox writes its coordinates to a state file (SANDBOX_STATE_ENV, default in the temp dir), and
 * `npm run sandbox -- pulumi <args>` / `npm run sandbox -- rotate <password>` run from a second terminal against it
 * (up/preview/refresh/destroy through the Automation API's inline program, everything else through the CLI itself).
 */
export const SANDBOX_STATE_ENV = "PS_SANDBOX_STATE";
export const READY_LINE = "platform-secrets sandbox ready";

type Out = (line: string) => void;
type Obj = Record<string, any>;

export function sandboxStateFile(env: NodeJS.ProcessEnv = process.env): string {
    return env[SANDBOX_STATE_ENV] || path.join(tmpdir(), "platform-secrets-sandbox.json");
}

/** What a second terminal needs to run the stack. Holds the throwaway dev credentials (mode 0600). */
export interface SandboxState {
    pid: number;
    startedAt: string;
    /** The sandbox's own temp dir (PULUMI_HOME, project copy, state). */
    dir: string;
    workDir: string;
    stateDir: string;
    stackName: string;
    /** Public and fixed (throwaway state): test/env/local-stack.ts. */
    passphrase: string;
    kubeconfigPath: string;
    vault: { addr: string; token: string };
    postgres: { url: string; host: string; port: number };
    engine: Engine;
    /** The reconciler as the stack deployed it: Pods of `deployment` on the real node, electing over `lease`. */
    reconciler: { namespace: string; deployment: string; lease: string; image: string; selector: string };
    /** Consumer Deployments the sandbox runs (as an application team would) per consumer Secret `<ns>/<name>`. */
    consumerPods: Record<string, { namespace: string; deployment: string }>;
}


export function readSandboxState(file = sandboxStateFile()): SandboxState {
    if (!existsSync(file)) throw new Error(`no running sandbox: ${file} does not exist; start one with \`npm run sandbox\` (or set ${SANDBOX_STATE_ENV} to its state file)`);
    const s = JSON.parse(readFileSync(file, "utf8")) as SandboxState;
    if (!pidAlive(s.pid)) throw new Error(`the sandbox of ${file} (pid ${s.pid}) is not running; start one with \`npm run sandbox\``);
    return s;
}

/** Resources of the stack by type, from its state (`pulumi stack export`, in memory). */
async function stackResources(sb: LocalSandbox): Promise<Obj[]> {
    const d = await sb.stack.stack.exportStack();
    return ((d.deployment as Obj).resources ?? []) as Obj[];
}

interface Inventory {
    /** Every resource in the state (the engine's count: stack, components, providers included). */
    total: number;
    /** Objects in the cluster or Vault. */
    resources: number;
    byType: [string, number][];
    createdNamespaces: string[];
    seededNamespaces: string[];
    vaultPaths: string[];
    synced: string[];
    derived: string[];
    other: string[];
}

function describeSecret(s: V1Secret): string {
    return `${s.metadata!.namespace}/${s.metadata!.name}`;
}

async function inventory(sb: LocalSandbox, kc: KubeConfig, outputs: auto.OutputMap, cfg: Obj): Promise<Inventory> {
    const all = await stackResources(sb);
    const resources = all.filter((r) => r.custom && !String(r.type).startsWith("pulumi:providers:"));
    const counts = new Map<string, number>();
    for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    const createdNamespaces = resources.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => r.outputs?.metadata?.name as string);
    const seededNamespaces = [...stackNamespaces(cfg).keys()].filter((n) => !createdNamespaces.includes(n));
    const core = kc.makeApiClient(CoreV1Api);
    const synced: string[] = [];
    const derived: string[] = [];
    const other: string[] = [];
    for (const ns of [...createdNamespaces, ...seededNamespaces].sort()) {
        for (const s of (await core.listNamespacedSecret({ namespace: ns })).items) {
            if (s.metadata?.labels?.[LABEL_DERIVED] === "true") {
                const a = s.metadata.annotations ?? {};
                derived.push(`${describeSecret(s)}  (${a[ANNOTATION_FORMAT]} from ${a[ANNOTATION_SOURCE_NAMESPACE] ?? ns}/${a[ANNOTATION_SOURCE_NAME]})`);
            } else if ((s.metadata?.ownerReferences ?? []).some((o) => o.kind === "ExternalSecret")) synced.push(describeSecret(s));
            else other.push(describeSecret(s));
        }
    }
    return {
        total: all.length,
        resources: resources.length,
        byType: [...counts.entries()].sort((a, b) => b[1] - a[1]),
        createdNamespaces,
        seededNamespaces,
        vaultPaths: (outputs.vaultPathsWritten?.value ?? []) as string[],
        synced,
        derived,
        other,
    };
}

/** The rotate commands for the stack's first hooked password (else its first password). */
export function rotateCommands(cfg: Obj): { name: string; index: number; rotation: number; shortcut: string; explicit: string[] } | undefined {
    const pws = (cfg.passwords ?? []) as Obj[];
    if (pws.length === 0) return undefined;
    let index = pws.findIndex((p) => (p.consumers ?? []).some((c: Obj) => (c.hooks ?? []).some((h: Obj) => h.type === "postgres")));
    if (index < 0) index = 0;
    const p = pws[index];
    const rotation = Number(p.rotation ?? 0);
    return {
        name: p.name,
        index,
        rotation,
        shortcut: `npm run sandbox -- rotate ${p.name}`,
        explicit: [`npm run sandbox -- pulumi config set --path 'platform-secrets:passwords[${index}].rotation' ${rotation + 1}`, "npm run sandbox -- pulumi up"],
    };
}

function instructions(s: SandboxState, inv: Inventory, cfg: Obj, roles: string[], access: string[], stateFile: string): string {
    const rot = rotateCommands(cfg);
    const pw = rot ? (cfg.passwords as Obj[])[rot.index] : undefined;
    const consumer = pw?.consumers?.[0] as Obj | undefined;
    const hook = (consumer?.hooks ?? []).find((h: Obj) => h.type === "postgres") as Obj | undefined;
    const pg = new URL(s.postgres.url);
    const lines = [
        "",
        `The local stack (Pulumi.local.yaml) is up: ${inv.total} resources in the state, ${inv.resources} of them objects in the cluster or Vault (${inv.byType.slice(0, 6).map(([t, n]) => `${n} ${t.split(":").pop()}`).join(", ")}, ...).`,
        `  namespaces created by the stack: ${inv.createdNamespaces.join(", ")}`,
        `  namespaces seeded first (an operator's; labels per namespaceLabels): ${inv.seededNamespaces.join(", ")}`,
        `  Vault paths the stack wrote (KV v2): ${inv.vaultPaths.join(", ")}`,
        `  Secrets ESO synced from Vault (${inv.synced.length}): ${inv.synced.join(", ")}`,
        `  derived Secrets (${inv.derived.length}):`,
        ...inv.derived.map((d) => `    ${d}`),
        `  other Secrets: ${inv.other.join(", ") || "none"}`,
        "",
        `Reconciler: deployment/${s.reconciler.deployment} in ${s.reconciler.namespace}, Pods on the node from ${s.reconciler.image}, leader elected over Lease ${s.reconciler.lease};`,
        `  ServiceAccount ${s.reconciler.namespace}/platform-secrets-reconciler (its RBAC applies); Vault: Kubernetes auth with an audience-vault token over TLS;`,
        `  ${access.join(", ") || "no Vault policy or role"} (from the stack outputs); postgres hook role(s) bootstrapped: ${roles.join(", ") || "none"}`,
        `  logs: kubectl -n ${s.reconciler.namespace} logs -f -l ${s.reconciler.selector} (also shown below, prefixed "reconciler")`,
        ...Object.entries(s.consumerPods).map(([secret, d]) => `  consumer of ${secret}: kubectl -n ${d.namespace} logs deployment/${d.deployment} (it logs a digest of what it read, never the value)`),
        "",
        "Look at it (these are throwaway dev credentials):",
        `  export KUBECONFIG=${s.kubeconfigPath}`,
        "  npx platform-secrets status -A",
        "  kubectl get externalsecrets,secrets -A",
        `  export VAULT_ADDR=${s.vault.addr} VAULT_TOKEN=${s.vault.token}`,
        `  ${binPath(vaultSpec(), "vault")} kv metadata get ${inv.vaultPaths[0] ?? "secret/local/sandbox/app-db"}`,
        `  psql "${s.postgres.url}"`,
        "",
    ];
    if (rot) {
        lines.push(
            `Rotate ${rot.name} (from a second terminal, in this repository):`,
            `  ${rot.shortcut}`,
            `which is the stack's rotation procedure (bump the counter, pulumi up) run against this sandbox:`,
            ...rot.explicit.map((c) => `  ${c}`),
            `then: a new Vault version of ${inv.vaultPaths.find((v) => v.endsWith(`/${pw!.vaultPath}`)) ?? `secret/${pw!.vaultPath}`}, ESO re-syncs ${consumer ? `${consumer.namespace}/${consumer.secretName}` : "its consumers"}` +
                (hook ? `, the reconciler's postgres hook runs ALTER ROLE ${hook.user} (log in: psql "postgresql://${hook.user}:<new password>@${pg.host}/${hook.database ?? "postgres"}?sslmode=require")` : "") +
                ".",
            "Any other pulumi command: npm run sandbox -- pulumi <args> (preview --refresh --expect-no-changes is the drift gate; stack export, config, ...).",
            "",
        );
    }
    lines.push(`State of this sandbox for those commands: ${stateFile}`, "Ctrl-C stops the reconciler, then the servers, and deletes every temp dir.", "");
    return lines.join("\n");
}


/**
 * The pid of the sandbox that owns `text` (a state file's content), or undefined when it is not valid state.
 * Pure (exported for tests); the caller checks whether that pid is alive.
 */
export function stateOwner(text: string | undefined): number | undefined {
    if (text === undefined) return undefined;
    try {
        const pid = (JSON.parse(text) as { pid?: unknown }).pid;
        return typeof pid === "number" && Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
        return undefined;
    }
}

function readIfExists(file: string): string | undefined {
    try {
        return readFileSync(file, "utf8");
    } catch {
        return undefined;
    }
}

export interface RunSandboxOptions {
    out?: Out;
    progress?: Progress;
    stateFile?: string;
}

/** The main job; resolves with the exit code after Ctrl-C and teardown. */
export async function runSandbox(opts: RunSandboxOptions = {}): Promise<number> {
    const out = opts.out ?? ((l: string) => process.stdout.write(l + "\n"));
    const progress = opts.progress ?? stderrProgress;
    const stateFile = opts.stateFile ?? sandboxStateFile();
    // One sandbox per state file: a second one would take over the file the first one's commands read, and the
    // first one's Ctrl-C would then delete the second's.
    const owner = stateOwner(readIfExists(stateFile));
    if (owner !== undefined && owner !== process.pid && pidAlive(owner)) {
        out(`a sandbox is already running (pid ${owner}, state ${stateFile}). Fix: use it, or stop it with Ctrl-C in its terminal; to run a second one, set ${SANDBOX_STATE_ENV} to another file for it and its commands`);
        return 1;
    }
    // Registered before anything starts, so a Ctrl-C during start-up also tears down in order (after the step running).
    const signal = waitForSignal();
    let interrupted = false;
    void signal.then(() => (interrupted = true));
    const t0 = Date.now();
    const since = (t: number): number => Math.round((Date.now() - t) / 100) / 10;
    const timings: Record<string, number> = {};
    // The real node: the reconciler runs as the stack deploys it (issue 19), consumers are Pods.
    const env = await startTestEnv({ progress, node: true });
    timings.servers = since(t0);
    let sb: LocalSandbox | undefined;
    let install: PodInstall | undefined;
    let logs: { stop(): void } | undefined;
    let wroteState = false;
    const podDir = await fs.mkdtemp(path.join(tmpdir(), "ps-sandbox-pods-"));
    const teardown = async (): Promise<void> => {
        progress("stopping the reconciler, then the servers");
        logs?.stop();
        await sb?.stop().catch((e) => progress(`sandbox stop: ${String(e)}`));
        await env.stop();
        await install?.stop().catch(() => undefined);
        await fs.rm(podDir, { recursive: true, force: true });
        // Only if the file is still ours (a stale-file sweep or another sandbox may have replaced it).
        if (wroteState && stateOwner(readIfExists(stateFile)) === process.pid) await fs.rm(stateFile, { force: true });
        progress("stopped; temp dirs removed");
    };
    try {
        const check = (): void => {
            if (interrupted) throw new Error("interrupted during start-up");
        };
        let t = Date.now();
        install = await preparePodInstall(env, podDir, { progress });
        timings.images = since(t);
        check();
        t = Date.now();
        const pods = { reconcilerImage: install.images.reconciler.ref, vaultUrl: install.vaultUrl, vaultCaPem: install.vaultCaPem, authMount: install.authMount, postgres: install.postgres };
        sb = await startLocalSandbox(env, { progress, pods });
        timings.stackPrepared = since(t);
        check();
        progress("pulumi up of the local stack (the engine's own progress follows)");
        t = Date.now();
        const engineOut = lineBuffer((l) => out(`  | ${l}`));
        const up = await sb.stack.up({ onOutput: engineOut.push });
        engineOut.flush();
        timings.up = since(t);
        check();
        const cfg = await readStackConfig(path.join(sb.stack.workDir, `Pulumi.${LOCAL_STACK}.yaml`));
        const kc = env.kubeConfig();
        const deployment = (await stackResources(sb)).find((r) => r.type === "kubernetes:apps/v1:Deployment" && String(r.urn).includes("ReconcilerDeployment"));
        if (!deployment) throw new Error("the local stack has no reconciler Deployment (reconcilerEnabled: false?)");
        const recNs = deployment.outputs.metadata.namespace as string;
        t = Date.now();
        // docs/install.md §6, then what the application team has: the hooked role, a consumer Pod per Secret.
        const access = await applyVaultAccess(env.vault, { vaultPolicies: up.outputs.vaultPolicies.value, vaultKubernetesAuthRoles: up.outputs.vaultKubernetesAuthRoles.value } as VaultAccessOutputs);
        const roles = await bootstrapHookRoles(env, await readStackPolicy(kc, recNs));
        const consumerPods: SandboxState["consumerPods"] = {};
        const first = ((cfg.passwords ?? []) as Obj[])[0]?.consumers?.[0] as Obj | undefined;
        if (first) {
            await createConsumerDeployment(kc, first.namespace, first.secretName, env.node!.images.tiny, first.secretName, first.secretKey ?? "password");
            consumerPods[`${first.namespace}/${first.secretName}`] = { namespace: first.namespace, deployment: first.secretName };
        }
        const container = (deployment.outputs.spec.template.spec.containers as Obj[])[0]!;
        const lease = ((container.env ?? []) as Obj[]).find((e) => e.name === "RECONCILER_LEASE_NAME")?.value as string;
        const selector = Object.entries(deployment.outputs.spec.selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(",");
        logs = followPodLogs(kc, recNs, selector, container.name as string, (pod, l) => out(`  reconciler ${pod.slice(-5)} | ${compactLog(l)}`));
        timings.reconciler = since(t);
        check();
        const state: SandboxState = {
            pid: process.pid,
            startedAt: new Date().toISOString(),
            dir: sb.dir,
            workDir: sb.stack.workDir,
            stateDir: sb.stateDir,
            stackName: LOCAL_STACK,
            passphrase: LOCAL_PASSPHRASE,
            kubeconfigPath: env.kubeconfigPath,
            vault: env.vault,
            postgres: { url: env.postgres.url, host: env.postgres.host, port: env.postgres.port },
            engine: sb.engine,
            reconciler: { namespace: recNs, deployment: deployment.outputs.metadata.name as string, lease, image: install.images.reconciler.ref, selector },
            consumerPods,
        };
        await fs.writeFile(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
        wroteState = true;
        const inv = await inventory(sb, kc, up.outputs, cfg);
        out(instructions(state, inv, cfg, roles, access, stateFile));
        timings.total = since(t0);
        out(`${READY_LINE} in ${timings.total} s (${JSON.stringify(timings)}); state: ${stateFile}`);
    } catch (e) {
        await teardown();
        throw e;
    }
    const sig = await signal;
    progress(`${sig}: stopping`);
    await teardown();
    return 0;
}

/** Chunks → whole lines (the CLI's progress dots arrive a few at a time); blank and dot-only lines dropped. */
export function lineBuffer(emit: (line: string) => void): { push: (chunk: string) => void; flush: () => void } {
    let partial = "";
    const put = (l: string): void => {
        if (l.trim() !== "" && !/^\s*\.+\s*$/.test(l)) emit(l);
    };
    return {
        push: (chunk) => {
            const parts = (partial + chunk).split("\n");
            partial = parts.pop() ?? "";
            parts.forEach(put);
        },
        flush: () => {
            put(partial);
            partial = "";
        },
    };
}

/** One reconciler JSON log line as `level msg key=value ...` (the line as-is when it is not JSON). */
export function compactLog(line: string): string {
    let o: unknown;
    try {
        o = JSON.parse(line);
    } catch {
        return line;
    }
    if (o === null || typeof o !== "object" || Array.isArray(o)) return line;
    const { level, time, pid, hostname, name, msg, ...rest } = o as Obj;
    void [time, pid, hostname, name];
    const kv = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    const levelName = typeof level === "number" ? ({ 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" } as Record<number, string>)[level] ?? level : level;
    return [levelName, msg, ...kv].filter((x) => x !== undefined).join(" ");
}

// ---------------------------------------------------------------------------------------------------------------
// The runner for a second terminal.

const ENGINE_OPS = ["up", "preview", "refresh", "destroy"] as const;
type EngineOp = (typeof ENGINE_OPS)[number];

export interface OpFlags {
    refresh?: boolean;
    expectNoChanges?: boolean;
    diff?: boolean;
    target?: string[];
}

/** The flags the runner takes for up/preview/refresh/destroy (the Automation API's options); `--yes` is implied. */
export function parseOpFlags(args: string[]): OpFlags {
    const f: OpFlags = {};
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "--refresh" || a === "-r") f.refresh = true;
        else if (a === "--expect-no-changes") f.expectNoChanges = true;
        else if (a === "--diff") f.diff = true;
        else if (a === "--yes" || a === "-y" || a === "--skip-preview" || a === "-f" || a === "--non-interactive") continue;
        else if (a === "--target" || a === "-t") {
            const urn = args[++i];
            if (urn === undefined || urn === "") throw new Error(`${a} needs a resource URN, e.g. ${a} 'urn:pulumi:local::platform-secrets::…'`);
            (f.target ??= []).push(urn);
        }
        else if (a.startsWith("--target=")) (f.target ??= []).push(a.slice(9));
        else throw new Error(`unsupported flag "${a}" for the sandbox runner; supported: --refresh, --expect-no-changes, --diff, --target <urn>, --yes`);
    }
    return f;
}

function stackEnv(s: SandboxState): Record<string, string> {
    return {
        ...s.engine.env,
        PULUMI_BACKEND_URL: `file://${s.stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: s.passphrase,
        KUBECONFIG: s.kubeconfigPath,
        VAULT_ADDR: s.vault.addr,
        VAULT_TOKEN: s.vault.token,
    };
}

async function engineOp(s: SandboxState, op: EngineOp, flags: OpFlags, out: Out): Promise<Obj> {
    const stack = await openLocalStack({ engine: s.engine, kubeconfigPath: s.kubeconfigPath, vault: s.vault, stateDir: s.stateDir, workDir: s.workDir, stackName: s.stackName });
    const lines = lineBuffer(out);
    const common = { onOutput: lines.push, target: flags.target };
    try {
        switch (op) {
            case "up":
                return await stack.up({ ...common, refresh: flags.refresh, expectNoChanges: flags.expectNoChanges, diff: flags.diff });
            case "preview":
                return await stack.preview({ ...common, refresh: flags.refresh, expectNoChanges: flags.expectNoChanges, diff: flags.diff });
            case "refresh":
                return await stack.refresh({ ...common, expectNoChanges: flags.expectNoChanges });
            case "destroy":
                return await stack.destroy({ ...common, refresh: flags.refresh });
        }
    } finally {
        lines.flush();
    }
}

/** `pulumi <args>` against the running sandbox: engine operations inline, anything else through the CLI itself. */
export async function runnerPulumi(args: string[], out: Out, stateFile = sandboxStateFile()): Promise<number> {
    const s = readSandboxState(stateFile);
    const op = args[0] as EngineOp;
    if ((ENGINE_OPS as readonly string[]).includes(op)) {
        try {
            await engineOp(s, op, parseOpFlags(args.slice(1)), out);
            return 0;
        } catch (e) {
            process.stderr.write(`pulumi ${op} failed: ${String((e as Error).message ?? e).split("\n").slice(-5).join("\n")}\n`);
            return 1;
        }
    }
    return new Promise((resolve, reject) => {
        const child = spawn(s.engine.cliPath, args, { cwd: s.workDir, env: { ...process.env, ...stackEnv(s) }, stdio: ["inherit", "inherit", "inherit"] });
        child.on("error", reject);
        child.on("close", (code) => resolve(code ?? 1));
    });
}

async function vaultVersion(s: SandboxState, mount: string, p: string): Promise<number> {
    const r = await request(`${s.vault.addr}/v1/${mount}/metadata/${p}`, { headers: { "x-vault-token": s.vault.token } });
    return r.status === 200 ? (JSON.parse(r.body).data.current_version as number) : 0;
}

async function vaultValue(s: SandboxState, mount: string, p: string, key: string): Promise<string | undefined> {
    const r = await request(`${s.vault.addr}/v1/${mount}/data/${p}`, { headers: { "x-vault-token": s.vault.token } });
    return r.status === 200 ? (JSON.parse(r.body).data.data[key] as string) : undefined;
}

async function until<T>(ms: number, fn: () => Promise<T | undefined>): Promise<T | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
        const v = await fn().catch(() => undefined);
        if (v !== undefined || Date.now() > deadline) return v;
        await new Promise((r) => setTimeout(r, 250));
    }
}

/**
 * `rotate <password>`: the rotation procedure against the sandbox (config set the counter + 1, pulumi up), then
 * waits for what follows and says when each step arrived: the new Vault version, each consumer Secret re-synced by
 * ESO, each postgres hook's role logging in with the new password (the reconciler's ALTER ROLE). No value printed.
 */
export async function runnerRotate(name: string | undefined, out: Out, stateFile = sandboxStateFile(), waitMs = 120_000): Promise<number> {
    const s = readSandboxState(stateFile);
    const file = path.join(s.workDir, `Pulumi.${s.stackName}.yaml`);
    const cfg = await readStackConfig(file);
    const pws = (cfg.passwords ?? []) as Obj[];
    const index = pws.findIndex((p) => p.name === name);
    if (!name || index < 0) {
        process.stderr.write(`usage: npm run sandbox -- rotate <password>; passwords of the local stack: ${pws.map((p) => p.name).join(", ")}\n`);
        return 2;
    }
    // The stack writes under its path prefix (default: the environment; stacks/config/environments.ts).
    const p: Obj = { ...pws[index], vaultPath: `${(cfg.vaultPathPrefix as string | undefined) || cfg.environment}/${pws[index].vaultPath}` };
    const mount = (cfg.vaultKvMount as string | undefined) ?? "secret";
    const vkey = (p.vaultKey as string | undefined) ?? "password";
    const next = Number(p.rotation ?? 0) + 1;
    const before = await vaultVersion(s, mount, p.vaultPath);
    const t0 = Date.now();
    const key = `platform-secrets:passwords[${index}].rotation`;
    out(`$ pulumi config set --path '${key}' ${next}`);
    const set = await runnerPulumi(["config", "set", "--path", key, String(next)], out, stateFile);
    if (set !== 0) return set;
    out("$ pulumi up");
    const up = await runnerPulumi(["up"], out, stateFile);
    if (up !== 0) return up;
    const after = await vaultVersion(s, mount, p.vaultPath);
    out(`rotated ${name}: rotation ${next - 1} -> ${next}; Vault ${mount}/${p.vaultPath} version ${before} -> ${after} (the previous version stays readable)`);
    const value = await vaultValue(s, mount, p.vaultPath, vkey);
    const kc = new KubeConfig();
    kc.loadFromFile(s.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    let ok = true;
    for (const c of (p.consumers ?? []) as Obj[]) {
        const synced = await until(waitMs, async () => {
            const sec = await core.readNamespacedSecret({ name: c.secretName, namespace: c.namespace });
            const v = sec.data?.[c.secretKey ?? vkey];
            return v !== undefined && Buffer.from(v, "base64").toString("utf8") === value ? true : undefined;
        });
        out(synced ? `  ${c.namespace}/${c.secretName}: re-synced by ESO (${since(t0)} s after the config change, the up included)` : `  ${c.namespace}/${c.secretName}: NOT re-synced after ${waitMs / 1000} s`);
        ok &&= synced === true;
        for (const h of ((c.hooks ?? []) as Obj[]).filter((x) => x.type === "postgres")) {
            // The hook names PostgreSQL as Pods reach it (the node's address); this terminal reaches the same server
            // on loopback.
            const { host, port } = s.postgres;
            const logs = await until(waitMs, async () => {
                const cl = new Client({ host, port, user: h.user, password: value, database: h.database ?? "postgres", ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 3000 });
                try {
                    await cl.connect();
                    return true;
                } finally {
                    await cl.end().catch(() => undefined);
                }
            });
            out(logs ? `  PostgreSQL role ${h.user} logs in with the new password: the reconciler's postgres hook ran ALTER ROLE (${since(t0)} s)` : `  PostgreSQL role ${h.user}: the new password does not log in after ${waitMs / 1000} s; see kubectl -n ${s.reconciler.namespace} logs -l ${s.reconciler.selector}`);
            ok &&= logs === true;
        }
        const pods = s.consumerPods?.[`${c.namespace}/${c.secretName}`];
        if (pods) {
            // The consumer read its value once, at start: only a NEW Pod can have the new one.
            const line = `env:DB_PASSWORD ${consumeDigest(value!)}`;
            const pod = await waitForSolePodLogging(kc, pods.namespace, `app=${pods.deployment}`, line, waitMs, `${pods.namespace}/${pods.deployment} restarted`).catch(() => undefined);
            out(pod ? `  ${pods.namespace}/${pods.deployment}: restarted by the reconciler; its new Pod ${pod.metadata!.name} read the new value (log: ${line}); the old Pod is gone (${since(t0)} s)` : `  ${pods.namespace}/${pods.deployment}: no single new Pod with the new value after ${waitMs / 1000} s`);
            ok &&= pod !== undefined;
        }
    }
    return ok ? 0 : 1;
}

function since(t0: number): number {
    return Math.round((Date.now() - t0) / 100) / 10;
}

/** `sandbox <sub> ...` from a second terminal; `sandbox` alone is the main job (cli.ts). */
export async function sandboxCommand(args: string[], out: Out): Promise<number> {
    const [sub, ...rest] = args;
    switch (sub) {
        case "pulumi":
            if (rest.length === 0) {
                process.stderr.write("usage: npm run sandbox -- pulumi <pulumi args>, e.g. pulumi preview --refresh --expect-no-changes\n");
                return 2;
            }
            return runnerPulumi(rest, out);
        case "rotate":
            if (rest.length > 1) {
                process.stderr.write("usage: npm run sandbox -- rotate <password>\n");
                return 2;
            }
            return runnerRotate(rest[0], out);
        case "info": {
            const s = readSandboxState();
            out(JSON.stringify({ ...s, engine: { cliPath: s.engine.cliPath, pulumiHome: s.engine.pulumiHome } }, null, 2));
            return 0;
        }
        default:
            process.stderr.write(`unknown sandbox command "${sub}"; use: pulumi <args> | rotate <password> | info\n`);
            return 2;
    }
}
