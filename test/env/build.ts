import { spawn } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BinarySpec, binCacheRoot, specDir } from "./binaries";
import { GoModReplace, maxGoVersion, parseGoMod, renderWrapperGoMod, wrapperReplaces } from "./gomod";
import { CopiedModule } from "./binaries";
import { pidAlive } from "./process";

/** Where one-time build progress goes; stderr by default so it shows up under mocha and the CLI alike. */
export type Progress = (line: string) => void;

export const stderrProgress: Progress = (line) => {
    process.stderr.write(`[test-env] ${line}\n`);
};

export interface BuildOptions {
    progress?: Progress;
    cacheRoot?: string;
    /** Seconds between "still building" lines. */
    heartbeatSeconds?: number;
}

export interface BuildResult {
    spec: BinarySpec;
    paths: Record<string, string>;
    /** Seconds spent building; 0 when the cache was used. */
    builtSeconds: number;
}

interface RunResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

function goBinary(): string {
    if (existsSync("/usr/local/go/bin/go")) return "/usr/local/go/bin/go";
    return "go";
}

function goEnv(): NodeJS.ProcessEnv {
    // GOTOOLCHAIN=local: never download another toolchain; -mod=mod: let the wrapper's go.mod/go.sum be filled in.
    return { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod -buildvcs=false" };
}

function run(cmd: string, args: string[], cwd: string, onStderrLine?: (l: string) => void): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd, env: goEnv(), stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => {
            const s = d.toString();
            stderr += s;
            if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
            if (onStderrLine) for (const l of s.split("\n")) if (l.trim()) onStderrLine(l);
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

function tail(text: string, lines = 25): string {
    return text.trim().split("\n").slice(-lines).join("\n");
}

/** True when every output of `spec` is already in the cache: then nothing touches the network. */
export function isCached(spec: BinarySpec, cacheRoot = binCacheRoot()): boolean {
    return spec.outputs.every((o) => existsSync(path.join(specDir(spec, cacheRoot), o.bin)));
}

/** `go mod download -json module@version`: where the module cache holds its go.mod and source. */
async function download(module: string, version: string, cwd: string): Promise<{ GoMod: string; Dir: string }> {
    const r = await run(goBinary(), ["mod", "download", "-json", `${module}@${version}`], cwd);
    let info: { GoMod?: string; Dir?: string; Error?: string } = {};
    try {
        info = JSON.parse(r.stdout) as typeof info;
    } catch {
        /* reported below */
    }
    if (r.code !== 0 || !info.GoMod || !info.Dir) {
        throw new Error(`go mod download ${module}@${version} failed: ${info.Error ?? tail(r.stderr || r.stdout)}`);
    }
    return { GoMod: info.GoMod, Dir: info.Dir };
}

/** Copies `p.module@p.version` into the wrapper, applies its patches, and returns the replace pointing there. */
async function preparePatched(p: CopiedModule, work: string): Promise<GoModReplace> {
    const src = await download(p.module, p.version, work);
    const dest = path.join(work, p.dir);
    await fs.cp(src.Dir, dest, { recursive: true });
    await chmodWritable(dest);
    for (const patch of p.patches) {
        const file = path.join(dest, patch.file);
        const text = await fs.readFile(file, "utf8");
        try {
            await fs.writeFile(file, patch.apply(text));
        } catch (e) {
            throw new Error(`patching ${p.module}@${p.version} ${patch.file} (${patch.description}): ${e instanceof Error ? e.message : String(e)}`);
        }
    }
    if (p.generate) await p.generate(dest);
    return { from: p.module, to: `./${p.dir}` };
}

/** The module cache is read-only; the copy must be writable to patch it and to delete it afterwards. */
async function chmodWritable(dir: string): Promise<void> {
    await fs.chmod(dir, 0o755);
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await chmodWritable(p);
        else await fs.chmod(p, 0o644);
    }
}


/**
 * One build per spec at a time across processes (a test run and a benchmark started together would otherwise
 * both compile for half an hour): `<dir>.lock` holds the builder's pid; a lock whose pid is dead is taken over.
 */
export async function withBuildLock<T>(dir: string, progress: Progress, fn: () => Promise<T>): Promise<T> {
    const lock = `${dir}.lock`;
    await fs.mkdir(path.dirname(lock), { recursive: true });
    let announced = false;
    for (;;) {
        try {
            await fs.writeFile(lock, String(process.pid), { flag: "wx" });
            break;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
            const holder = Number((await fs.readFile(lock, "utf8").catch(() => "")).trim());
            if (!holder || !pidAlive(holder)) {
                await fs.rm(lock, { force: true });
                continue;
            }
            if (!announced) progress(`waiting for process ${holder}, which is building ${path.basename(dir)}`);
            announced = true;
            await new Promise((r) => setTimeout(r, 2000));
        }
    }
    try {
        return await fn();
    } finally {
        await fs.rm(lock, { force: true });
    }
}

/** Builds the outputs of `spec` unless cached; resolves with their paths. Rejects naming module@version. */
export async function ensureBinaries(spec: BinarySpec, opts: BuildOptions = {}): Promise<BuildResult> {
    const root = opts.cacheRoot ?? binCacheRoot();
    const dir = specDir(spec, root);
    const paths = Object.fromEntries(spec.outputs.map((o) => [o.bin, path.join(dir, o.bin)]));
    if (isCached(spec, root)) return { spec, paths, builtSeconds: 0 };
    return withBuildLock(dir, opts.progress ?? stderrProgress, async () => {
        // Another process may have finished it while we waited for the lock.
        if (isCached(spec, root)) return { spec, paths, builtSeconds: 0 };
        return build(spec, dir, paths, opts);
    });
}

async function build(spec: BinarySpec, dir: string, paths: Record<string, string>, opts: BuildOptions): Promise<BuildResult> {

    const progress = opts.progress ?? stderrProgress;
    const what = `${spec.outputs.map((o) => o.bin).join(" + ")} from ${spec.module}@${spec.version}`;
    const started = Date.now();
    const elapsed = (): number => Math.round((Date.now() - started) / 1000);
    progress(`building ${what} (one-time; cached in ${dir})`);
    const heartbeat = setInterval(() => progress(`still building ${what}: ${elapsed()} s`), (opts.heartbeatSeconds ?? 30) * 1000);
    const work = await fs.mkdtemp(path.join(tmpdir(), `ps-wrap-${spec.name}-`));
    const staging = `${dir}.partial-${process.pid}`;
    try {
        const target = parseGoMod(await fs.readFile((await download(spec.module, spec.version, work)).GoMod, "utf8"));
        const patched: GoModReplace[] = [];
        for (const p of spec.patchedModules ?? []) patched.push(await preparePatched(p, work));
        const patchedNames = new Set(patched.map((r) => r.from));
        const gomod = renderWrapperGoMod({
            module: `platform-secrets.local/wrap/${spec.name}`,
            go: maxGoVersion([target.go]),
            requires: [{ path: spec.module, version: spec.version }],
            replaces: [...wrapperReplaces(target, spec.resolveLocal).filter((r) => !patchedNames.has(r.from)), ...patched],
        });
        await fs.writeFile(path.join(work, "go.mod"), gomod);
        await fs.mkdir(staging, { recursive: true });
        const single = spec.outputs.length === 1;
        const out = single ? path.join(staging, spec.outputs[0]!.bin) : `${staging}${path.sep}`;
        const args = ["build", "-trimpath", "-o", out];
        if (spec.tags.length) args.push("-tags", spec.tags.join(","));
        if (spec.ldflags.length) args.push("-ldflags", spec.ldflags.join(" "));
        args.push(...spec.outputs.map((o) => o.pkg));
        let downloads = 0;
        const r = await run(goBinary(), args, work, (l) => {
            if (l.startsWith("go: downloading") && ++downloads % 50 === 0) progress(`${spec.name}: ${downloads} modules downloaded (${elapsed()} s)`);
        });
        if (r.code !== 0) {
            throw new Error(`building ${what} failed (go build exit ${r.code}):\n${tail(r.stderr)}`);
        }
        await fs.mkdir(dir, { recursive: true });
        for (const o of spec.outputs) {
            const built = path.join(staging, o.bin);
            if (!existsSync(built)) throw new Error(`building ${what}: go build produced no ${o.bin} in ${staging}`);
            await fs.rename(built, paths[o.bin]!);
        }
        progress(`built ${what} in ${elapsed()} s`);
        return { spec, paths, builtSeconds: elapsed() };
    } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new Error(msg.includes(`${spec.module}@${spec.version}`) ? msg : `building ${what} failed: ${msg}`);
    } finally {
        clearInterval(heartbeat);
        await fs.rm(work, { recursive: true, force: true });
        await fs.rm(staging, { recursive: true, force: true });
    }
}

/** Builds every spec, one after the other: with 2 cores, parallel go builds only thrash. */
export async function ensureAll(specs: BinarySpec[], opts: BuildOptions = {}): Promise<BuildResult[]> {
    const out: BuildResult[] = [];
    for (const s of specs) out.push(await ensureBinaries(s, opts));
    return out;
}
