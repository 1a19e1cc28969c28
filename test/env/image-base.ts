import { createHash } from "node:crypto";
import { existsSync, promises as fs, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Progress } from "./build";
import { Buildah, ensureTool, run } from "./buildah";

/**
 * The sandbox's base images, built from Debian packages because no image registry is reachable here (only the
 * Debian, npm and Go mirrors are). Both carry Debian's own `nodejs` of `suite`:
 * - runtime: `mmdebstrap --variant=extract` of nodejs and its libraries only (no shell, no apt, no dpkg database),
 *   plus a passwd entry for uid 65532. This is what the images ship on in the sandbox.
 * - build: a minbase Debian with nodejs and npm, where the Dockerfiles' build stage runs `npm ci` and esbuild.
 * forky (testing) is the default because it ships Node 24, the production major; trixie's nodejs is 20.19 (still
 * enough: the bundles target node20). A testing suite's Release file may be past its Valid-Until on a mirror that
 * is not refreshed, hence Check-Valid-Until false: the packages are still signed.
 */
export const DEFAULT_SANDBOX_SUITE = "forky";

export interface SandboxBases {
    runtime: string;
    build: string;
    suite: string;
}

/** The Debian mirror the host's own apt uses (so nothing here names a host): the main archive of its codename. */
export function debianMirror(env: NodeJS.ProcessEnv = process.env): string {
    if (env.PLATFORM_SECRETS_DEBIAN_MIRROR) return env.PLATFORM_SECRETS_DEBIAN_MIRROR;
    let out = "";
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        out = require("node:child_process").execFileSync("apt-get", ["indextargets", "--format", "$(REPO_URI) $(RELEASE) $(CODENAME) $(ORIGIN)"], { encoding: "utf8" }) as string;
    } catch {
        /* reported below */
    }
    const main = out.split("\n").map((l) => l.trim().split(" ")).find(([, rel, code, origin]) => origin === "Debian" && rel === code);
    if (!main) throw new Error("sandbox base image: cannot find the host's Debian mirror in `apt-get indextargets`; set PLATFORM_SECRETS_DEBIAN_MIRROR to a Debian archive URL");
    return main[0]!.replace(/\/$/, "");
}

/**
 * extract runs no maintainer script, installs no base-files and (mmdebstrap 1.3) runs no customize hook, so the
 * merged-/usr links (the ELF interpreter is /lib64/ld-linux-*.so), /etc/passwd and /tmp are added as a second layer.
 */
async function runtimeExtras(dir: string): Promise<void> {
    await fs.mkdir(path.join(dir, "etc"), { recursive: true });
    await fs.mkdir(path.join(dir, "tmp"), { recursive: true, mode: 0o1777 });
    await fs.chmod(path.join(dir, "tmp"), 0o1777);
    for (const d of ["bin", "sbin", "lib", "lib64"]) await fs.symlink(`usr/${d}`, path.join(dir, d));
    await fs.writeFile(path.join(dir, "etc/passwd"), "root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin\n");
    await fs.writeFile(path.join(dir, "etc/group"), "root:x:0:\nnonroot:x:65532:\n");
}
const EXTRAS_VERSION = "extras-1";

/**
 * The host's CA bundle goes into the BUILD base: where this runs, TLS to the npm registry passes a proxy whose CA is
 * only in the host's bundle, so `npm ci` in the build stage trusts what the host trusts. The runtime base gets none
 * of it (the reconciler and tokengen take their CAs from config and the ServiceAccount).
 */
const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface BaseSpec {
    kind: "runtime" | "build";
    args: string[];
    /** Content the cache key covers beyond the arguments. */
    extra: string;
    env: string[];
}

function specs(suite: string, mirror: string): BaseSpec[] {
    const common = ["--aptopt=Acquire::Check-Valid-Until \"false\"", "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/locale/*"];
    const ca = existsSync(HOST_CA_BUNDLE) ? readFileSync(HOST_CA_BUNDLE, "utf8") : "";
    return [
        { kind: "runtime", args: ["--variant=extract", "--include=nodejs", ...common, suite, "-", mirror], extra: EXTRAS_VERSION, env: [DEFAULT_PATH] },
        {
            kind: "build",
            args: ["--variant=minbase", "--include=nodejs,npm,ca-certificates", ...common, ...(ca ? [`--customize-hook=cp ${HOST_CA_BUNDLE} "$1${HOST_CA_BUNDLE}"`] : []), suite, "-", mirror],
            extra: ca,
            env: ca ? [`NODE_EXTRA_CA_CERTS=${HOST_CA_BUNDLE}`, `npm_config_cafile=${HOST_CA_BUNDLE}`] : [],
        },
    ];
}

function keyOf(spec: BaseSpec, arch: string): string {
    return createHash("sha256").update(JSON.stringify([spec.args, spec.env, arch])).update(spec.extra).digest("hex").slice(0, 16);
}

function suiteOf(suite?: string): string {
    return suite ?? process.env.PLATFORM_SECRETS_DEBIAN_SUITE ?? DEFAULT_SANDBOX_SUITE;
}

function refOf(spec: BaseSpec, suite: string): string {
    return `localhost/platform-secrets-sandbox-node-${spec.kind}:${suite}-${keyOf(spec, process.arch)}`;
}

/** The refs of both bases, named by their content key; computed without building anything. */
export function sandboxBaseRefs(suite?: string): SandboxBases {
    const su = suiteOf(suite);
    const [runtime, build] = specs(su, debianMirror()).map((sp) => refOf(sp, su));
    return { runtime: runtime!, build: build!, suite: su };
}

/**
 * Both sandbox bases in the buildah store (refs as sandboxBaseRefs). Cached by content: the rootfs tarball under
 * `<cacheDir>/base/` (mmdebstrap runs once per suite and package set) and the image tag in the store.
 */
export async function ensureSandboxBases(buildah: Buildah, cacheDir: string, progress: Progress, suite?: string): Promise<SandboxBases> {
    const su = suiteOf(suite);
    for (const spec of specs(su, debianMirror())) {
        const ref = refOf(spec, su);
        if (await buildah.hasImage(ref)) continue;
        const tar = path.join(cacheDir, "base", `${ref.replace(/^.*\//, "").replace(":", "-")}.tar`);
        if (!existsSync(tar)) {
            await ensureTool("mmdebstrap", "mmdebstrap", progress);
            await fs.mkdir(path.dirname(tar), { recursive: true });
            const t0 = Date.now();
            progress(`building the sandbox ${spec.kind} base (Debian ${su} nodejs) with mmdebstrap`);
            // mmdebstrap picks the output format from the name: keep ".tar" on the partial file.
            const partial = tar.replace(/\.tar$/, ".partial.tar");
            const args = spec.args.map((a) => (a === "-" ? partial : a));
            const r = await run("mmdebstrap", args);
            if (r.code !== 0) {
                await fs.rm(partial, { force: true });
                throw new Error(`sandbox ${spec.kind} base: mmdebstrap ${su} failed (exit ${r.code}); fix: check the Debian mirror (PLATFORM_SECRETS_DEBIAN_MIRROR) or try PLATFORM_SECRETS_DEBIAN_SUITE=trixie\n${r.tail}`);
            }
            await fs.rename(partial, tar);
            progress(`sandbox ${spec.kind} base built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        }
        if (spec.kind === "runtime") {
            const extras = await fs.mkdtemp(path.join(os.tmpdir(), "ps-base-extras-"));
            try {
                await runtimeExtras(extras);
                await buildah.importRootfs(tar, ref, spec.env, extras);
            } finally {
                await fs.rm(extras, { recursive: true, force: true });
            }
        } else {
            await buildah.importRootfs(tar, ref, spec.env);
        }
    }
    return sandboxBaseRefs(su);
}
