import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { Buildah, run } from "../../env/buildah";
import { buildImages, BuiltImages, imagesBuildah } from "../../env/images";
import { withTimeout } from "../../support";

/**
 * Both images built by THE build command (buildImages: what `npm run images:build` and the release workflow run),
 * on the sandbox base made from Debian packages. Then each image's root filesystem is checked as the Pod would get
 * it: the entrypoint from the image config runs as the image's user on a read-only bind of the rootfs, with no
 * node_modules anywhere, no @pulumi package and not the other domain's code. The first run on a machine builds
 * the Debian bases (a few minutes); later runs take the archives from the cache.
 */
const BUILD_MS = 40 * 60_000;

/** Every path under `dir` whose name matches `re` (a few thousand files: a Debian nodejs rootfs). */
async function findNames(dir: string, re: RegExp, rel = ""): Promise<string[]> {
    const out: string[] = [];
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
        const p = path.join(rel, e.name);
        if (re.test(e.name)) out.push(p);
        if (e.isDirectory()) out.push(...(await findNames(dir, re, p)));
    }
    return out;
}

interface Mounted {
    root: string;
    release: () => Promise<void>;
}

async function mountImage(b: Buildah, ref: string): Promise<Mounted> {
    const c = await b.exec(["from", "--pull=never", ref], `container of ${ref}`);
    try {
        const root = await b.exec(["mount", c], `mounting ${ref}`);
        return { root, release: async () => void (await run("buildah", [...b.global, "rm", c])) };
    } catch (e) {
        await run("buildah", [...b.global, "rm", c]);
        throw e;
    }
}

/**
 * The image's entrypoint + `args`, as `user`, chrooted into a READ-ONLY bind mount of its rootfs made in a private
 * mount namespace (unshare -m), the way the Deployment's readOnlyRootFilesystem presents it; /tmp stays read-only too.
 */
async function runReadOnly(root: string, user: string, argv: string[]): Promise<{ code: number | null; out: string }> {
    const script = 'set -e; ro=$(mktemp -d); mount --bind "$1" "$ro"; mount -o remount,bind,ro "$ro"; shift; exec chroot --userspec="$U" "$ro" "$@"';
    const child = await runWithEnv("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", root, ...argv], { U: user, PATH: "/usr/bin:/bin:/usr/sbin:/sbin" });
    return child;
}

function runWithEnv(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { spawn } = require("node:child_process") as typeof import("node:child_process");
    return new Promise((resolve, reject) => {
        const c = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        c.stdout.on("data", (d: Buffer) => (out += d.toString()));
        c.stderr.on("data", (d: Buffer) => (out += d.toString()));
        c.on("error", reject);
        c.on("close", (code) => resolve({ code, out }));
    });
}

describe("images: reconciler and tokengen built from their Dockerfiles (buildah, sandbox base)", function () {
    this.timeout(BUILD_MS + 120_000);
    let built: BuiltImages;
    const b = imagesBuildah();

    before(async function () {
        const t0 = Date.now();
        built = await withTimeout(buildImages({ base: "sandbox" }), BUILD_MS, "building both images");
        const again = Date.now();
        const second = await withTimeout(buildImages({ base: "sandbox" }), 60_000, "second buildImages call");
        assert.deepEqual(second.reconciler.archive, built.reconciler.archive, "same inputs, same archive");
        for (const i of Object.values(built)) {
            process.stderr.write(`[images] ${i.ref}: archive ${(i.archiveBytes / 1e6).toFixed(1)} MB (${i.digest}), built in ${i.builtSeconds} s\n`);
        }
        process.stderr.write(`[images] both images ${((again - t0) / 1000).toFixed(1)} s, a second call ${((Date.now() - again) / 1000).toFixed(1)} s\n`);
    });

    it("each image config runs as uid 65532, not root, from the bundled entrypoint", async () => {
        for (const [kind, file] of [["reconciler", "/app/reconciler.js"], ["tokengen", "/app/tokengen.js"]] as const) {
            const cfg = await b.imageConfig(built[kind].ref);
            assert.equal(cfg.config.User, "65532:65532", `${kind} image user`);
            assert.equal(cfg.config.Entrypoint?.[0], "node", `${kind} entrypoint`);
            assert.equal(cfg.config.Entrypoint?.at(-1), file, `${kind} entrypoint`);
            assert.equal(cfg.architecture, process.arch === "x64" ? "amd64" : process.arch);
        }
    });

    it("the images hold one bundle each: no node_modules, no @pulumi, not the other domain's code", async () => {
        for (const [kind, other] of [["reconciler", "tokengen"], ["tokengen", "reconciler"]] as const) {
            const m = await mountImage(b, built[kind].ref);
            try {
                assert.deepEqual(await fs.readdir(path.join(m.root, "app")), [`${kind}.js`], `${kind}: /app`);
                assert.deepEqual(await findNames(m.root, /^(@pulumi|pulumi)$/), [], `${kind}: @pulumi in the image`);
                // Debian's nodejs keeps its own libraries under usr/; no other node_modules may exist (the app has none).
                for (const nm of (await findNames(m.root, /^node_modules$/)).filter((p) => !p.startsWith("usr/"))) {
                    assert.deepEqual(await fs.readdir(path.join(m.root, nm)), [], `${kind}: ${nm} is not empty`);
                }
                assert.deepEqual(await findNames(m.root, new RegExp(other)), [], `${kind}: ${other} in the image`);
                const bundle = await fs.readFile(path.join(m.root, "app", `${kind}.js`), "utf8");
                assert.ok(!bundle.includes(`${other}/main.ts`) && !bundle.includes("@pulumi/"), `${kind}: bundle holds ${other} or @pulumi code`);
                const sizeMb = Number((await run("du", ["-sm", m.root])).stdout.split("\t")[0]);
                process.stderr.write(`[images] ${kind}: rootfs ${sizeMb} MB uncompressed, bundle ${(bundle.length / 1e6).toFixed(2)} MB\n`);
            } finally {
                await m.release();
            }
        }
    });

    it("the reconciler's entrypoint runs as 65532 on a read-only root filesystem", async function () {
        if (process.getuid?.() !== 0) this.skip(); // unshare -m and chroot need root
        const cfg = await b.imageConfig(built.reconciler.ref);
        const m = await mountImage(b, built.reconciler.ref);
        try {
            const help = await runReadOnly(m.root, cfg.config.User!, [...cfg.config.Entrypoint!, "--help"]);
            assert.equal(help.code, 0, help.out);
            assert.match(help.out, /usage: reconciler/);
            // Past flag parsing, no kubeconfig and no pod: exit 2 naming the fix, not a crash on a write.
            const noCluster = await runReadOnly(m.root, cfg.config.User!, [...cfg.config.Entrypoint!, "--lease-namespace=platform-secrets"]);
            assert.equal(noCluster.code, 2, noCluster.out);
            assert.match(noCluster.out, /pass --kubeconfig or run in a pod/);
            const whoami = await runReadOnly(m.root, cfg.config.User!, ["node", "-e", "process.stdout.write(String(process.getuid()));require('fs').writeFileSync('/app/x','')"]);
            assert.match(whoami.out, /^65532/);
            assert.match(whoami.out, /EROFS|EACCES/, "the root filesystem is read-only to the process");
        } finally {
            await m.release();
        }
    });

    it("the token generator's entrypoint runs read-only and owns its default token directory", async function () {
        if (process.getuid?.() !== 0) this.skip();
        const cfg = await b.imageConfig(built.tokengen.ref);
        assert.deepEqual(cfg.config.Cmd, ["once"]);
        const m = await mountImage(b, built.tokengen.ref);
        try {
            const st = await fs.stat(path.join(m.root, "var/run/github"));
            assert.equal(st.uid, 65532, "/var/run/github owner");
            assert.equal(st.mode & 0o777, 0o700, "/var/run/github mode");
            // No APP_ID etc.: the configuration error names the key and the fix (exit 2), from the bundle alone.
            const r = await runReadOnly(m.root, cfg.config.User!, [...cfg.config.Entrypoint!, ...cfg.config.Cmd!]);
            assert.equal(r.code, 2, r.out);
            assert.match(r.out, /tokengen failed/);
            assert.match(r.out, /APP_ID|PRIVATE_KEY/);
        } finally {
            await m.release();
        }
    });
});
