import { createHash } from "node:crypto";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { IMAGE_NAMES, IMAGE_VERSION, ImageKind } from "../../stacks/images";
import { Progress, stderrProgress, withBuildLock } from "./build";
import { Buildah, ensureTool, goArch } from "./buildah";
import { ensureSandboxBases, sandboxBaseRefs } from "./image-base";

/**
 * THE image build: `npm run images:build` (test/env/images-cli.ts), the integration tests and
 * .github/workflows/release.yml all come through buildImages. buildah builds reconciler/Dockerfile and
 * tokengen/Dockerfile from the repository root into OCI archives (`ctr -n k8s.io images import` and `skopeo copy
 * oci-archive:...` read them). The only difference between the sandbox and a release is the base images:
 * - "production": the Dockerfiles' defaults (Node 24 LTS pinned by digest), pulled by buildah; tagged
 *   `<IMAGE_NAMES[kind]>:<package version>`, the stack's default image.
 * - "sandbox": bases built here from Debian packages (image-base.ts), since no image registry is reachable; tagged
 *   `localhost/platform-secrets-<kind>:<version>-<content key>` so a changed source is a new tag (a new rollout).
 */
export const IMAGE_KINDS: readonly ImageKind[] = ["reconciler", "tokengen"];
export const DOCKERFILES: Record<ImageKind, string> = { reconciler: "reconciler/Dockerfile", tokengen: "tokengen/Dockerfile" };

export type BaseChoice = "sandbox" | "production";

export interface BuildImagesOptions {
    base?: BaseChoice;
    /** `linux/amd64` or `linux/arm64`; default the host's. A sandbox build is only for the host's platform. */
    platform?: string;
    repoRoot?: string;
    /** Store, base tarballs and archives; default `~/.cache/platform-secrets/images`. */
    cacheDir?: string;
    /** Where the archives are written; default `<cacheDir>/archives`. */
    outDir?: string;
    progress?: Progress;
}

export interface BuiltImage {
    kind: ImageKind;
    /** OCI archive (one image, its index names `ref`). */
    archive: string;
    ref: string;
    /** Manifest digest as buildah pushed it into the archive. */
    digest: string;
    platform: string;
    archiveBytes: number;
    /** Key over every input (Dockerfile, each file it COPYs, base, platform); names the archive. */
    contentKey: string;
    /** 0 when the archive came from the cache. */
    builtSeconds: number;
}

export type BuiltImages = Record<ImageKind, BuiltImage>;

/** `${XDG_CACHE_HOME:-~/.cache}/platform-secrets/images`. */
export function imagesCacheDir(env: NodeJS.ProcessEnv = process.env): string {
    const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(homedir(), ".cache");
    return path.join(base, "platform-secrets", "images");
}

export function hostPlatform(): string {
    return `linux/${goArch(process.arch)}`;
}

/**
 * The context paths a Dockerfile COPYs (COPY without --from), so the cache key follows the Dockerfile itself
 * instead of a second list that could drift from it.
 */
export function contextInputs(dockerfile: string): string[] {
    const out = new Set<string>();
    for (const raw of dockerfile.replace(/\\\n/g, " ").split("\n")) {
        const words = raw.trim().split(/\s+/);
        if (words[0]?.toUpperCase() !== "COPY" && words[0]?.toUpperCase() !== "ADD") continue;
        const args = words.slice(1);
        if (args.some((a) => a.startsWith("--from"))) continue;
        const paths = args.filter((a) => !a.startsWith("--"));
        for (const p of paths.slice(0, -1)) out.add(path.normalize(p).replace(/\/$/, ""));
    }
    return [...out].sort();
}

const SKIP = new Set(["node_modules", "dist", ".git"]);

async function hashTree(root: string, rel: string, h: ReturnType<typeof createHash>): Promise<void> {
    const abs = path.join(root, rel);
    const st = await fs.stat(abs).catch(() => undefined);
    if (!st) throw new Error(`image input ${rel} does not exist in ${root}; fix: the Dockerfile COPYs it, restore it or change the Dockerfile`);
    if (st.isDirectory()) {
        for (const e of (await fs.readdir(abs)).sort()) if (!SKIP.has(e)) await hashTree(root, path.join(rel, e), h);
        return;
    }
    h.update(`${rel}\0${(st.mode & 0o111) !== 0 ? "x" : "-"}\0`).update(await fs.readFile(abs)).update("\0");
}

/** Content key of one image: the Dockerfile, every file it COPYs from the context, the base images and platform. */
export async function contentKey(repoRoot: string, kind: ImageKind, base: string[], platform: string): Promise<string> {
    const dockerfile = readFileSync(path.join(repoRoot, DOCKERFILES[kind]), "utf8");
    const h = createHash("sha256").update(JSON.stringify({ dockerfile, base, platform, version: IMAGE_VERSION }));
    for (const rel of contextInputs(dockerfile)) await hashTree(repoRoot, rel, h);
    return h.digest("hex").slice(0, 16);
}

function refFor(kind: ImageKind, base: BaseChoice, key: string): string {
    return base === "production" ? `${IMAGE_NAMES[kind]}:${IMAGE_VERSION}` : `localhost/platform-secrets-${kind}:${IMAGE_VERSION}-${key}`;
}

async function readCached(meta: string): Promise<BuiltImage | undefined> {
    try {
        const b = JSON.parse(await fs.readFile(meta, "utf8")) as BuiltImage;
        return existsSync(b.archive) ? { ...b, builtSeconds: 0 } : undefined;
    } catch {
        return undefined;
    }
}

/** Builds (or takes from the cache) both images; a second call with unchanged inputs only hashes files. */
export async function buildImages(opts: BuildImagesOptions = {}): Promise<BuiltImages> {
    const base = opts.base ?? "sandbox";
    const platform = opts.platform ?? hostPlatform();
    const repoRoot = opts.repoRoot ?? path.resolve(__dirname, "..", "..");
    const cacheDir = opts.cacheDir ?? imagesCacheDir();
    const outDir = opts.outDir ?? path.join(cacheDir, "archives");
    const progress = opts.progress ?? stderrProgress;
    if (base === "sandbox" && platform !== hostPlatform()) {
        throw new Error(`images: the sandbox base is built for ${hostPlatform()} only, not ${platform}; fix: build other platforms with --base production`);
    }
    const buildah = new Buildah(path.join(cacheDir, "store"));
    // The sandbox bases are named by their content, so the image keys cover them before (and without) building them.
    const bases = base === "sandbox" ? sandboxBaseRefs() : undefined;
    const baseKey = bases ? [bases.runtime, bases.build] : ["dockerfile-default"];
    let buildArgs: string[] | undefined;
    const result: Partial<BuiltImages> = {};
    for (const kind of IMAGE_KINDS) {
        result[kind] = await buildOne(buildah, { repoRoot, kind, outDir, platform, base, baseKey, progress }, async () => {
            if (buildArgs) return buildArgs;
            if (!bases) return (buildArgs = []);
            const b = await ensureSandboxBases(buildah, cacheDir, progress, bases.suite);
            return (buildArgs = ["--build-arg", `BASE_IMAGE=${b.runtime}`, "--build-arg", `BUILD_IMAGE=${b.build}`, "--pull=never"]);
        });
    }
    return result as BuiltImages;
}

interface BuildOneArgs {
    repoRoot: string;
    kind: ImageKind;
    outDir: string;
    platform: string;
    base: BaseChoice;
    baseKey: string[];
    progress: Progress;
}

async function buildOne(buildah: Buildah, a: BuildOneArgs, buildArgs: () => Promise<string[]>): Promise<BuiltImage> {
    const key = await contentKey(a.repoRoot, a.kind, a.baseKey, a.platform);
    const stem = path.join(a.outDir, `${a.kind}-${a.base}-${a.platform.replace("/", "-")}-${key}`);
    const meta = `${stem}.json`;
    await fs.mkdir(a.outDir, { recursive: true });
    const cached = await readCached(meta);
    if (cached) return cached;
    return withBuildLock(stem, a.progress, async () => {
        const again = await readCached(meta);
        if (again) return again;
        await ensureTool("buildah", "buildah", a.progress);
        const args = await buildArgs();
        const ref = refFor(a.kind, a.base, key);
        const t0 = Date.now();
        a.progress(`building ${ref} (${a.platform}) from ${DOCKERFILES[a.kind]}`);
        await buildah.exec(
            ["build", "--isolation", "chroot", "--layers", "--format", "oci", "--platform", a.platform, ...args, "-f", DOCKERFILES[a.kind], "-t", ref, a.repoRoot],
            `building ${DOCKERFILES[a.kind]}`,
        );
        const archive = `${stem}.oci.tar`;
        const digestFile = `${stem}.digest`;
        await fs.rm(archive, { force: true });
        await buildah.exec(["push", "--quiet", "--digestfile", digestFile, ref, `oci-archive:${archive}:${ref}`], `writing ${archive}`);
        const built: BuiltImage = {
            kind: a.kind,
            archive,
            ref,
            digest: (await fs.readFile(digestFile, "utf8")).trim(),
            platform: a.platform,
            archiveBytes: (await fs.stat(archive)).size,
            contentKey: key,
            builtSeconds: Math.round((Date.now() - t0) / 1000),
        };
        await fs.writeFile(meta, JSON.stringify(built, null, 2));
        a.progress(`${ref}: ${(built.archiveBytes / 1e6).toFixed(1)} MB archive, ${built.digest}, built in ${built.builtSeconds} s`);
        return built;
    });
}

/** The buildah store buildImages uses (tests inspect and run the built images through it). */
export function imagesBuildah(cacheDir = imagesCacheDir()): Buildah {
    return new Buildah(path.join(cacheDir, "store"));
}
