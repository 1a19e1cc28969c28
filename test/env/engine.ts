import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, promises as fs, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { binCacheRoot, specDir } from "./binaries";
import { ensureBinaries, Progress, stderrProgress } from "./build";
import { kubernetesProviderSpec, pulumiCliSpec } from "./pulumi-binaries";

/**
 * The Pulumi engine for the local stack: a CLI and the resource plugins the program's SDKs ask for.
 *
 * Preference, per piece (a real user's machine has them, this one and CI do not):
 *   1. CLI: `pulumi` on PATH (PS_PULUMI_BUILD=1 skips it); else built from Go modules and cached (pulumi-binaries.ts).
 *   2. Plugins: a real `resource-<name>-v<version>` already installed under the user's PULUMI_HOME (~/.pulumi);
 *      else kubernetes is built from Go modules and cached; random and vault, which the Go proxy refuses here, get
 *      the STAND-INS of test/standins (a notice is printed; never for a real user who has the plugins).
 * Everything is linked into a PRIVATE PULUMI_HOME, so nothing is written to ~/.pulumi and no ambient plugin leaks in.
 */
export const ROOT = path.resolve(__dirname, "../..");
export const PLUGINS = ["kubernetes", "random", "vault"] as const;
export type PluginName = (typeof PLUGINS)[number];
export type PluginSource = "installed" | "built" | "stand-in";

export interface Engine {
    /** For `PulumiCommand.get({ root })`: `<root>/bin/pulumi` is the CLI; undefined = `pulumi` on PATH. */
    cliRoot?: string;
    cliPath: string;
    cliSource: "path" | "built";
    pulumiHome: string;
    plugins: Record<PluginName, { version: string; source: PluginSource; dir: string }>;
    /** Env every CLI invocation must get (private home, no network, no ambient plugins, no update check). */
    env: Record<string, string>;
    notices: string[];
}

/** The plugin version each SDK asks the engine for (`pulumi.version` of its package.json). */
export function requiredPluginVersion(name: PluginName, root = ROOT): string {
    const pkg = JSON.parse(readFileSync(path.join(root, "node_modules", "@pulumi", name, "package.json"), "utf8")) as { version: string; pulumi?: { version?: string } };
    return pkg.pulumi?.version ?? pkg.version;
}

function isExecutable(p: string): boolean {
    try {
        accessSync(p, constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

function onPath(bin: string): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        if (dir && isExecutable(path.join(dir, bin))) return path.join(dir, bin);
    }
    return undefined;
}

/** `pulumi version` of a CLI, or undefined when it does not run. */
export function cliVersion(cli: string): string | undefined {
    try {
        return execFileSync(cli, ["version"], { encoding: "utf8", env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" }, timeout: 30_000 }).trim();
    } catch {
        return undefined;
    }
}

/** The user's own plugin directory (where `pulumi plugin install` puts them). */
export function userPluginDir(env: NodeJS.ProcessEnv = process.env): string {
    return path.join(env.PULUMI_HOME || path.join(homedir(), ".pulumi"), "plugins");
}

/** A real plugin installed by the user, e.g. ~/.pulumi/plugins/resource-vault-v7.8.0/pulumi-resource-vault. */
export function installedPlugin(name: string, version: string, dir = userPluginDir()): string | undefined {
    const pdir = path.join(dir, `resource-${name}-v${version}`);
    if (existsSync(`${pdir}.partial`)) return undefined;
    return isExecutable(path.join(pdir, `pulumi-resource-${name}`)) ? pdir : undefined;
}

/**
 * Built CLI: the engine looks for its bundled `pulumi-resource-pulumi-nodejs` (dynamic providers) next to the
 * real binary, so @pulumi/pulumi's own copy of that script goes beside it; `<cache>/pulumi-root-<v>/bin/pulumi`
 * is the layout PulumiCommand expects.
 */
async function ensureBuiltCli(progress: Progress): Promise<{ root: string; cli: string }> {
    const spec = pulumiCliSpec();
    const built = await ensureBinaries(spec, { progress });
    const cli = built.paths.pulumi!;
    const nodejsPlugin = path.join(specDir(spec), "pulumi-resource-pulumi-nodejs");
    if (!existsSync(nodejsPlugin)) {
        await fs.copyFile(path.join(ROOT, "node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"), `${nodejsPlugin}.tmp-${process.pid}`);
        await fs.chmod(`${nodejsPlugin}.tmp-${process.pid}`, 0o755);
        await fs.rename(`${nodejsPlugin}.tmp-${process.pid}`, nodejsPlugin);
    }
    const root = path.join(path.dirname(binCacheRoot()), `pulumi-root-${spec.version}`);
    const link = path.join(root, "bin", "pulumi");
    await fs.mkdir(path.dirname(link), { recursive: true });
    const current = await fs.readlink(link).catch(() => undefined);
    if (current !== cli) {
        await fs.rm(link, { force: true });
        await fs.symlink(cli, link);
    }
    return { root, cli };
}

/**
 * The stand-ins compiled to plain JavaScript once per content (cached under node_modules/.cache, where
 * @pulumi/pulumi still resolves): the engine starts each plugin on every preview, and under ts-node that start
 * cost ~1–2 s more per plugin than plain node. Returns the directory holding serve.js.
 */
export async function compileStandIns(root = ROOT): Promise<string> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require("typescript") as typeof import("typescript");
    const srcDir = path.join(root, "test/standins");
    // Every file, not a list of what serve.ts imports today: a new import cannot be left out.
    const files = readdirSync(srcDir).filter((f) => f.endsWith(".ts")).sort();
    const sources = files.map((f) => ({ f, text: readFileSync(path.join(srcDir, f), "utf8") }));
    const hash = createHash("sha256").update(ts.version);
    for (const { f, text } of sources) hash.update(`${f}\0${text}\0`);
    const dir = path.join(root, "node_modules/.cache/platform-secrets", `standins-${hash.digest("hex").slice(0, 16)}`);
    if (existsSync(path.join(dir, "serve.js"))) return dir;
    const tmp = `${dir}.tmp-${process.pid}`;
    await fs.mkdir(tmp, { recursive: true });
    for (const { f, text } of sources) {
        const out = ts.transpileModule(text, {
            fileName: f,
            compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true },
        });
        await fs.writeFile(path.join(tmp, f.replace(/\.ts$/, ".js")), out.outputText);
    }
    await fs.rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
        // Another run compiled the same content first: use theirs.
        await fs.rm(tmp, { recursive: true, force: true });
        if (!existsSync(path.join(dir, "serve.js"))) throw e;
    });
    return dir;
}

/** The executable wrapper of a stand-in plugin: plain node running the compiled test/standins/serve.ts. */
export function standInWrapper(name: string, version: string, compiledDir: string): string {
    return [
        "#!/bin/sh",
        `# STAND-IN resource-${name} plugin (test/standins, test support): NOT the published provider.`,
        `exec '${process.execPath}' '${path.join(compiledDir, "serve.js")}' ${name} ${version} "$@"`,
        "",
    ].join("\n");
}

export interface EngineOptions {
    progress?: Progress;
    /** The private PULUMI_HOME to fill (created; the caller removes it). */
    pulumiHome: string;
    /** Where installed real plugins are looked for; default the user's PULUMI_HOME. */
    userPlugins?: string;
    /** Force the build of the CLI even when `pulumi` is on PATH (also PS_PULUMI_BUILD=1). */
    buildCli?: boolean;
}

export async function prepareEngine(opts: EngineOptions): Promise<Engine> {
    const progress = opts.progress ?? stderrProgress;
    const notices: string[] = [];
    let cliRoot: string | undefined;
    let cliPath: string;
    let cliSource: Engine["cliSource"];
    const ambient = opts.buildCli || process.env.PS_PULUMI_BUILD === "1" ? undefined : onPath("pulumi");
    if (ambient && cliVersion(ambient)) {
        cliPath = ambient;
        cliSource = "path";
    } else {
        const b = await ensureBuiltCli(progress);
        cliRoot = b.root;
        cliPath = b.cli;
        cliSource = "built";
    }
    const pluginsDir = path.join(opts.pulumiHome, "plugins");
    await fs.mkdir(pluginsDir, { recursive: true });
    const plugins = {} as Engine["plugins"];
    let standIns: string | undefined;
    for (const name of PLUGINS) {
        const version = requiredPluginVersion(name);
        const dir = path.join(pluginsDir, `resource-${name}-v${version}`);
        await fs.rm(dir, { recursive: true, force: true });
        const real = installedPlugin(name, version, opts.userPlugins ?? userPluginDir());
        if (real) {
            await fs.symlink(real, dir);
            plugins[name] = { version, source: "installed", dir };
        } else if (name === "kubernetes") {
            const built = await ensureBinaries(kubernetesProviderSpec(version), { progress });
            await fs.mkdir(dir, { recursive: true });
            await fs.symlink(built.paths["pulumi-resource-kubernetes"]!, path.join(dir, "pulumi-resource-kubernetes"));
            plugins[name] = { version, source: "built", dir };
        } else {
            await fs.mkdir(dir, { recursive: true });
            standIns ??= await compileStandIns();
            await fs.writeFile(path.join(dir, `pulumi-resource-${name}`), standInWrapper(name, version, standIns), { mode: 0o755 });
            plugins[name] = { version, source: "stand-in", dir };
            notices.push(
                `NOTICE: no resource-${name}-v${version} plugin is installed (and the Go proxy does not serve it here): ` +
                    `using the STAND-IN provider of test/standins (${name === "random" ? "RandomPassword" : "kv.SecretV2 against the real Vault"} only). ` +
                    `Install the real plugin (pulumi plugin install resource ${name} ${version}) to use it instead.`,
            );
        }
    }
    for (const n of notices) progress(n);
    const env: Record<string, string> = {
        PULUMI_HOME: opts.pulumiHome,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    };
    return { cliRoot, cliPath, cliSource, pulumiHome: opts.pulumiHome, plugins, env, notices };
}

/** Builds (or finds cached) everything the engine needs, without starting anything; for `cli.ts build-engine`. */
export async function buildEngine(progress: Progress = stderrProgress): Promise<{ what: string; seconds: number }[]> {
    const out: { what: string; seconds: number }[] = [];
    const cli = await ensureBinaries(pulumiCliSpec(), { progress });
    out.push({ what: `${cli.spec.module}@${cli.spec.version}`, seconds: cli.builtSeconds });
    const k = await ensureBinaries(kubernetesProviderSpec(requiredPluginVersion("kubernetes")), { progress });
    out.push({ what: `${k.spec.module}@${k.spec.version} (as ${requiredPluginVersion("kubernetes")})`, seconds: k.builtSeconds });
    return out;
}
