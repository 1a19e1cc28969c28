import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseOutputMode } from "../../../tokengen";
import { TOKEN_FILE_MODE, TOKEN_GENERATOR_UID, TokenGeneratorFragment, tokenGeneratorFragment } from "../../../stacks/github/tokenGenerator";
import { canaryValue, withTimeout } from "../../support";
import { GitHubStandIn } from "../../support/github-standin";
import { ACME, APP_ID } from "../tokengen/harness";
import { appKeys, tempDir } from "../tokengen/helpers";

const ROOT = path.resolve(__dirname, "../../..");
/** A workload image with its own user, as runner images have. */
const RUNNER_UID = 1001;

function run(args: string[], env: Record<string, string>, ids: { uid: number; gid: number }): Promise<{ code: number | null; out: string }> {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["ignore", "pipe", "pipe"], ...ids });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    return withTimeout(new Promise((resolve) => child.on("exit", (code) => resolve({ code, out }))), 30_000, args.join(" "));
}

describe("stacks/github: the token fragment's users, groups and file mode", () => {
    it("generator containers run as 65532:65532 non-root; the pod's fsGroup is that gid; tokengen writes 0640 (a mode it accepts)", () => {
        const f = tokenGeneratorFragment({ name: "rex" }, { sidecar: true });
        assert.deepEqual(f.podSecurityContext, { fsGroup: TOKEN_GENERATOR_UID });
        for (const c of [...f.initContainers, ...f.containers]) {
            assert.equal(c.securityContext.runAsUser, 65532);
            assert.equal(c.securityContext.runAsGroup, 65532);
            assert.equal(c.securityContext.runAsNonRoot, true);
            const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
            assert.equal(env.OUTPUT_MODE, TOKEN_FILE_MODE);
            assert.equal(parseOutputMode(env.OUTPUT_MODE), 0o640, "tokengen's own parser accepts what the fragment sends");
        }
        // Group-readable, never world-readable.
        assert.equal(parseOutputMode(TOKEN_FILE_MODE) & 0o007, 0);
    });

    it("runAsUser / runAsGroup from options: the containers take both, the pod's fsGroup follows the group; root and nonsense are refused", () => {
        const f = tokenGeneratorFragment({ name: "qa" }, { runAsUser: 2000, runAsGroup: 3000, repositories: ["platform", "docs"] });
        assert.deepEqual(f.podSecurityContext, { fsGroup: 3000 });
        assert.deepEqual([f.initContainers[0].securityContext.runAsUser, f.initContainers[0].securityContext.runAsGroup], [2000, 3000]);
        assert.deepEqual(f.initContainers[0].env.find((e) => e.name === "GITHUB_REPOSITORIES"), { name: "GITHUB_REPOSITORIES", value: "platform,docs" });
        assert.throws(() => tokenGeneratorFragment({ name: "qa" }, { runAsUser: 0 }), /runAsUser 0 is not a non-root id/);
        assert.throws(() => tokenGeneratorFragment({ name: "qa" }, { runAsGroup: 1.5 }), /runAsGroup 1.5 is not a non-root id/);
        assert.throws(() => tokenGeneratorFragment({ name: "qa" }, { repositories: ["a b"] }), /repositories must be repository names/);
    });
});

/**
 * What the kubelet would do with the fragment, with real processes and real file permissions (needs root to switch
 * uids): the emptyDir is 2777 and group-owned by fsGroup, the key file 0440 root:fsGroup (defaultMode 0400 plus the
 * group read bit kubelet adds for fsGroup), tokengen runs as the init container's uid:gid, and the workload runs as
 * another uid with fsGroup among its groups (spawn cannot add supplementary groups, so fsGroup is its primary gid).
 */
describe("stacks/github: a workload with another uid reads the token the fragment's generator writes", function () {
    this.timeout(60_000);
    let standin: GitHubStandIn;
    let apiUrl: string;
    let tmp: ReturnType<typeof tempDir>;
    const token = `ghs_${canaryValue()}`;

    before(async function () {
        if (process.getuid?.() !== 0) this.skip();
        standin = new GitHubStandIn({ apps: [{ appId: APP_ID, publicKey: appKeys().publicKey }], installations: [ACME], tokenFactory: () => token });
        apiUrl = await standin.start();
        tmp = tempDir("token-fragment-");
        chmodSync(tmp.dir, 0o755);
    });
    after(async () => {
        await standin?.stop();
        tmp?.cleanup();
    });

    async function pod(f: TokenGeneratorFragment, name: string, override: Record<string, string> = {}): Promise<string> {
        const fsGroup = f.podSecurityContext.fsGroup as number;
        const vol = path.join(tmp.dir, name, "github");
        mkdirSync(vol, { recursive: true });
        chmodSync(path.dirname(vol), 0o755);
        chownSync(vol, 0, fsGroup);
        chmodSync(vol, 0o2777);
        const keyFile = path.join(tmp.dir, name, "private-key.pem");
        writeFileSync(keyFile, appKeys().pkcs1);
        chownSync(keyFile, 0, fsGroup);
        chmodSync(keyFile, 0o440);
        const [init] = f.initContainers;
        // The init container's env as rendered; secretKeyRef values and in-pod paths replaced by this machine's.
        const env: Record<string, string> = {};
        for (const e of init.env) if (e.value !== undefined) env[e.name] = e.value;
        Object.assign(env, { APP_ID, INSTALLATION_ID: String(ACME.id), OUTPUT_PATH: path.join(vol, "token"), PRIVATE_KEY_FILE: keyFile, GITHUB_API_URL: apiUrl }, override);
        const gen = await run(["-r", "ts-node/register/transpile-only", "tokengen/main.ts", ...init.args], env, { uid: init.securityContext.runAsUser as number, gid: init.securityContext.runAsGroup as number });
        assert.equal(gen.code, 0, gen.out);
        return env.OUTPUT_PATH;
    }

    const read = (file: string, gid: number) => run(["-e", `process.stdout.write(require("fs").readFileSync(${JSON.stringify(file)}, "utf8"))`], {}, { uid: RUNNER_UID, gid });

    it("the rendered fragment: the runner (uid 1001, in fsGroup) reads the 0640 token; without the group it cannot", async () => {
        const f = tokenGeneratorFragment({ name: "rex" });
        const file = await pod(f, "fragment");
        const st = statSync(file);
        assert.equal(st.mode & 0o777, 0o640);
        assert.equal(st.uid, 65532);
        assert.equal(st.gid, f.podSecurityContext.fsGroup);
        const ok = await read(file, f.podSecurityContext.fsGroup as number);
        assert.deepEqual(ok, { code: 0, out: token });
        const outsider = await read(file, RUNNER_UID);
        assert.notEqual(outsider.code, 0);
        assert.match(outsider.out, /EACCES/);
    });

    it("what the fragment used to render (0600, fsGroup only) leaves that runner with permission denied", async () => {
        const f = tokenGeneratorFragment({ name: "rex" });
        const file = await pod(f, "before", { OUTPUT_MODE: "0600" });
        const denied = await read(file, f.podSecurityContext.fsGroup as number);
        assert.notEqual(denied.code, 0);
        assert.match(denied.out, /EACCES/);
    });
});
