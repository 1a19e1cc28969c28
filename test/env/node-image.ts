import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { binCacheRoot } from "./binaries";

const execFileP = promisify(execFile);

/**
 * The node's locally built images. No registry is reachable here, so the Pod sandbox ("pause") image and the
 * test images come from one static, standard-library-only Go binary (node-image/main.go: `pause`, `echo`,
 * `list-configmaps`), packed as OCI image archives by hand: one uncompressed layer, a config, a manifest and an
 * index naming the image, the format `buildah push oci-archive:` writes and `ctr images import` reads.
 */
export const PAUSE_IMAGE = "localhost/platform-secrets/pause:1";
export const TINY_IMAGE = "localhost/platform-secrets/ps-tiny:1";

const SRC_DIR = path.join(__dirname, "node-image");

function sha256(data: Buffer | string): string {
    return createHash("sha256").update(data).digest("hex");
}

/** Builds ps-tiny once per source version into the binary cache (a few seconds; ~30 s with a cold Go cache). */
export async function buildTinyBinary(cacheRoot = binCacheRoot()): Promise<string> {
    const srcs = ["main.go", "go.mod"];
    const digest = sha256((await Promise.all(srcs.map((f) => fs.readFile(path.join(SRC_DIR, f), "utf8")))).join("\0")).slice(0, 12);
    const out = path.join(cacheRoot, `ps-tiny-${digest}`, "ps-tiny");
    if (existsSync(out)) return out;
    await fs.mkdir(path.dirname(out), { recursive: true });
    const partial = `${out}.partial-${process.pid}`;
    const go = existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
    try {
        await execFileP(go, ["build", "-trimpath", "-ldflags", "-s -w", "-o", partial, "."], {
            cwd: SRC_DIR,
            env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false" },
        });
    } catch (e) {
        throw new Error(`building ${SRC_DIR} (ps-tiny) failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
    }
    await fs.rename(partial, out);
    return out;
}

export interface OciImageInput {
    /** Full reference, e.g. localhost/platform-secrets/ps-tiny:1 (recorded as the index's ref name). */
    name: string;
    /** Files of the single layer: path inside the image → local file. */
    files: Record<string, string>;
    entrypoint: string[];
    cmd?: string[];
    user?: string;
}

async function tarDir(dir: string, out: string): Promise<void> {
    // Reproducible: sorted, owner root, fixed mtime, so the same input gives the same digest.
    await execFileP("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C", dir, "-cf", out, "."]);
}

/** Writes an OCI image archive (a tar of an OCI image layout) for `input` to `out`. */
export async function writeOciArchive(input: OciImageInput, out: string): Promise<void> {
    const work = await fs.mkdtemp(path.join(tmpdir(), "ps-oci-"));
    try {
        const rootfs = path.join(work, "rootfs");
        const layout = path.join(work, "layout");
        const blobs = path.join(layout, "blobs", "sha256");
        await fs.mkdir(blobs, { recursive: true });
        for (const [dest, src] of Object.entries(input.files)) {
            const target = path.join(rootfs, dest);
            await fs.mkdir(path.dirname(target), { recursive: true });
            await fs.copyFile(src, target);
            await fs.chmod(target, 0o755);
        }
        // Directories the runtime mounts over; present so the layer works with a read-only root filesystem too.
        for (const d of ["proc", "sys", "dev", "etc", "tmp", "var/run"]) await fs.mkdir(path.join(rootfs, d), { recursive: true });
        const layerTar = path.join(work, "layer.tar");
        await tarDir(rootfs, layerTar);
        const layer = await fs.readFile(layerTar);
        const layerDigest = sha256(layer);
        await fs.writeFile(path.join(blobs, layerDigest), layer);
        const blob = async (obj: unknown): Promise<{ digest: string; size: number }> => {
            const text = JSON.stringify(obj);
            const digest = sha256(text);
            await fs.writeFile(path.join(blobs, digest), text);
            return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
        };
        const config = await blob({
            architecture: process.arch === "arm64" ? "arm64" : "amd64",
            os: "linux",
            config: { Entrypoint: input.entrypoint, Cmd: input.cmd, User: input.user, Env: ["PATH=/"] },
            rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
        });
        const manifest = await blob({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${layerDigest}`, size: layer.length }],
        });
        const index = {
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.index.v1+json",
            manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": input.name } }],
        };
        await fs.writeFile(path.join(layout, "index.json"), JSON.stringify(index));
        await fs.writeFile(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
        await tarDir(layout, out);
    } finally {
        await fs.rm(work, { recursive: true, force: true });
    }
}

/** The pause image and the ps-tiny test image as OCI archives in `dir`. */
export async function buildNodeImages(dir: string): Promise<{ pause: string; tiny: string }> {
    const bin = await buildTinyBinary();
    const pause = path.join(dir, "pause.oci.tar");
    const tiny = path.join(dir, "ps-tiny.oci.tar");
    await writeOciArchive({ name: PAUSE_IMAGE, files: { "ps-tiny": bin }, entrypoint: ["/ps-tiny", "pause"], user: "65535:65535" }, pause);
    await writeOciArchive({ name: TINY_IMAGE, files: { "ps-tiny": bin }, entrypoint: ["/ps-tiny"], user: "65532:65532" }, tiny);
    return { pause, tiny };
}
