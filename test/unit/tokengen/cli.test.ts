import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { canaryValue, eventually, withTimeout } from "../../support";
import { GitHubStandIn } from "../../support/github-standin";
import { ACME, APP_ID } from "./harness";
import { appKeys, pemBodyFragments, tempDir } from "./helpers";

const ROOT = path.resolve(__dirname, "../../..");

interface Child {
    code: Promise<number | null>;
    out: () => string;
    kill: (sig: NodeJS.Signals) => void;
}

/** `node -r ts-node/register/transpile-only tokengen/main.ts <mode>` with exactly `env` (plus PATH). */
function spawnMain(mode: string, env: Record<string, string>): Child {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "tokengen/main.ts", mode], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const code = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    return { code, out: () => out, kill: (sig) => child.kill(sig) };
}

describe("tokengen main as a child process (real clock, real signals)", function () {
    this.timeout(60_000);
    let standin: GitHubStandIn;
    let apiUrl: string;
    const tokenCanary = `ghs_${canaryValue()}`;
    let tmp: ReturnType<typeof tempDir>;

    before(async () => {
        standin = new GitHubStandIn({ apps: [{ appId: APP_ID, publicKey: appKeys().publicKey }], installations: [ACME], tokenFactory: () => tokenCanary });
        apiUrl = await standin.start();
        tmp = tempDir("tokengen-cli-");
    });
    after(async () => {
        await standin.stop();
        tmp.cleanup();
    });

    const baseEnv = (out: string): Record<string, string> => ({ APP_ID, PRIVATE_KEY: appKeys().pkcs8, GITHUB_API_URL: apiUrl, OUTPUT_PATH: out, GITHUB_REPOSITORY: "acme/widgets" });

    it("once: exit 0, token written 0600, JSON logs without the token", async () => {
        const out = path.join(tmp.dir, "once", "token");
        const c = spawnMain("once", baseEnv(out));
        assert.equal(await withTimeout(c.code, 30_000, "tokengen once"), 0, c.out());
        assert.equal(readFileSync(out, "utf8"), tokenCanary);
        assert.equal(statSync(out).mode & 0o777, 0o600);
        const lines = c.out().trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.ok(lines.some((l) => l.msg === "installation token written" && l.installationId === ACME.id && l.appId === APP_ID));
        assert.ok(!c.out().includes(tokenCanary));
        for (const f of pemBodyFragments(appKeys().pkcs8)) assert.ok(!c.out().includes(f));
    });

    it("PRIVATE_KEY_FILE with a PKCS#1 key works too", async () => {
        const out = path.join(tmp.dir, "file", "token");
        const keyFile = path.join(tmp.dir, "app.pem");
        writeFileSync(keyFile, appKeys().pkcs1, { mode: 0o600 });
        const env = { ...baseEnv(out), PRIVATE_KEY_FILE: keyFile } as Record<string, string>;
        delete env.PRIVATE_KEY;
        const c = spawnMain("once", env);
        assert.equal(await withTimeout(c.code, 30_000, "tokengen once"), 0, c.out());
        assert.ok(existsSync(out));
    });

    it("exit codes: 2 for a malformed key or unknown mode, 3 for a wrong app id", async () => {
        const out = path.join(tmp.dir, "bad", "token");
        const [malformed, mode, wrongApp] = [
            spawnMain("once", { ...baseEnv(out), PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----" }),
            spawnMain("daemon", baseEnv(out)),
            spawnMain("once", { ...baseEnv(out), APP_ID: "999999" }),
        ];
        assert.equal(await withTimeout(malformed.code, 30_000, "malformed"), 2, malformed.out());
        assert.match(malformed.out(), /PRIVATE_KEY: holds a malformed PEM private key/);
        assert.equal(await withTimeout(mode.code, 30_000, "mode"), 2, mode.out());
        assert.equal(await withTimeout(wrongApp.code, 30_000, "wrong app"), 3, wrongApp.out());
        assert.ok(!existsSync(out));
    });

    it("sidecar: writes a token, then SIGTERM → clean exit 0", async () => {
        const out = path.join(tmp.dir, "sidecar", "token");
        const c = spawnMain("sidecar", baseEnv(out));
        try {
            await eventually(async () => (existsSync(`${out}.expires_at`) ? true : undefined), 30_000, "sidecar wrote its first token");
            c.kill("SIGTERM");
            assert.equal(await withTimeout(c.code, 10_000, "sidecar exit after SIGTERM"), 0, c.out());
            assert.match(c.out(), /termination signal received, sidecar exiting/);
            assert.equal(readFileSync(out, "utf8"), tokenCanary);
            assert.ok(!c.out().includes(tokenCanary), "token in sidecar logs");
        } finally {
            c.kill("SIGKILL");
        }
    });
});
