import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { Progress } from "./build";

export interface RunResult {
    code: number | null;
    stdout: string;
    /** The last lines of stderr (and stdout), for error messages. */
    tail: string;
}

/** Runs a command without a shell; stdout collected, stderr kept as a bounded tail (builds print a lot). */
export function run(cmd: string, args: string[], opts: { cwd?: string; onLine?: (l: string) => void } = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let log = "";
        const keep = (s: string): void => {
            log += s;
            if (log.length > 100_000) log = log.slice(-50_000);
            if (opts.onLine) for (const l of s.split("\n")) if (l.trim()) opts.onLine(l);
        };
        child.stdout.on("data", (d: Buffer) => {
            stdout += d.toString();
            keep(d.toString());
        });
        child.stderr.on("data", (d: Buffer) => keep(d.toString()));
        child.on("error", (e) => reject(new Error(`${cmd}: ${e.message}`)));
        child.on("close", (code) => resolve({ code, stdout, tail: log.trim().split("\n").slice(-30).join("\n") }));
    });
}

function onPath(bin: string): boolean {
    return (process.env.PATH ?? "").split(":").some((d) => d && existsSync(path.join(d, bin)));
}

/** `bin` on PATH, or installed from the distribution's packages when we may (root with apt-get); else a clear error. */
export async function ensureTool(bin: string, pkg: string, progress: Progress): Promise<void> {
    if (onPath(bin)) return;
    const root = process.getuid?.() === 0;
    if (!root || !onPath("apt-get")) {
        throw new Error(`${bin} is not installed; fix: install the "${pkg}" package (e.g. sudo apt-get install ${pkg}) and retry`);
    }
    progress(`installing ${pkg} (apt-get)`);
    let r = await run("apt-get", ["install", "-y", "--no-install-recommends", pkg]);
    if (r.code !== 0) {
        await run("apt-get", ["update"]);
        r = await run("apt-get", ["install", "-y", "--no-install-recommends", pkg]);
    }
    if (r.code !== 0 || !onPath(bin)) throw new Error(`installing ${pkg} with apt-get failed (exit ${r.code}); fix: install it by hand\n${r.tail}`);
}

/**
 * buildah with its own store (`--root`/`--runroot` under the cache dir, so nothing touches the host's image store)
 * and chroot isolation: no daemon and no OCI runtime are needed, which is what runs here and on CI runners alike.
 * overlay by default (vfs copies every layer in full); PLATFORM_SECRETS_BUILDAH_DRIVER=vfs where overlay cannot mount.
 */
export class Buildah {
    readonly global: string[];

    constructor(readonly storeDir: string, driver = process.env.PLATFORM_SECRETS_BUILDAH_DRIVER ?? "overlay") {
        this.global = ["--root", path.join(storeDir, "root"), "--runroot", path.join(storeDir, "run"), "--storage-driver", driver];
    }

    async exec(args: string[], what: string, onLine?: (l: string) => void): Promise<string> {
        const r = await run("buildah", [...this.global, ...args], { onLine });
        if (r.code !== 0) throw new Error(`${what}: buildah ${args[0]} failed (exit ${r.code})\n${r.tail}`);
        return r.stdout.trim();
    }

    async hasImage(ref: string): Promise<boolean> {
        const r = await run("buildah", [...this.global, "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref]);
        return r.code === 0;
    }

    /** A rootfs tarball as a one-layer image (the `docker import` buildah lacks), with `env` in its config. */
    async importRootfs(tar: string, ref: string, env: string[], extraDir?: string): Promise<void> {
        const what = `importing ${path.basename(tar)} as ${ref}`;
        const c = await this.exec(["from", "scratch"], what);
        try {
            await this.exec(["add", c, tar, "/"], what);
            if (extraDir) await this.exec(["add", c, `${extraDir}/.`, "/"], what);
            const cfg = ["config", "--os", "linux", "--arch", goArch(process.arch)];
            for (const e of env) cfg.push("--env", e);
            await this.exec([...cfg, c], what);
            await this.exec(["commit", "--quiet", c, ref], what);
        } finally {
            await run("buildah", [...this.global, "rm", c]);
        }
    }

    /** The image config (OCI) of `ref`. */
    async imageConfig(ref: string): Promise<OciImageConfig> {
        // buildah 1.28's --format has no json function: take OCIv1 from the full inspect output.
        const out = await this.exec(["inspect", "--type", "image", ref], `inspecting ${ref}`);
        return (JSON.parse(out) as { OCIv1: OciImageConfig }).OCIv1;
    }
}

export interface OciImageConfig {
    architecture: string;
    os: string;
    config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; WorkingDir?: string };
    rootfs: { diff_ids: string[] };
}

/** Node's process.arch → the OCI/Go architecture name. */
export function goArch(arch: string): string {
    return ({ x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[arch] ?? arch;
}
