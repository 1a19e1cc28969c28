import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, promises as fs, rmSync } from "node:fs";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { isLoopbackHost, VaultConfig, VaultError, VaultKv } from "../../../reconciler/hooks/vault";
import { canaryValue } from "../../support";

/**
 * An in-process stand-in for the few Vault endpoints VaultKv calls (KV v2 data/metadata under `secret/`, Kubernetes
 * auth login). Tokens map to the KV paths they may read; everything else is 403, like a Vault policy.
 */
class FakeVault {
    readonly tokens = new Map<string, Set<string>>();
    readonly jwts = new Map<string, Set<string>>();
    readonly requests: { method: string; url: string; headers: IncomingMessage["headers"] }[] = [];
    readonly kv = new Map<string, Record<string, string>[]>();
    leaseSeconds = 60;
    private server?: Server;

    async start(): Promise<string> {
        const s = createServer((req, res) => void this.handle(req, res));
        this.server = s;
        await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
        return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise<void>((r) => this.server?.close(() => r()));
    }

    private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
        const send = (status: number, body: unknown) => {
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(body));
        };
        const u = new URL(req.url ?? "/", "http://x");
        let m = u.pathname.match(/^\/v1\/auth\/(.+)\/login$/);
        if (req.method === "POST" && m) {
            const { role, jwt } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            const paths = this.jwts.get(`${m[1]}|${role}|${jwt}`);
            if (!paths) return send(403, { errors: ["permission denied"] });
            const token = `hvs.${randomBytes(8).toString("hex")}`;
            this.tokens.set(token, paths);
            return send(200, { auth: { client_token: token, lease_duration: this.leaseSeconds, policies: ["p"] } });
        }
        m = u.pathname.match(/^\/v1\/secret\/(data|metadata)\/(.+)$/);
        if (req.method !== "GET" || !m) return send(404, { errors: [] });
        const allowed = this.tokens.get(String(req.headers["x-vault-token"] ?? ""));
        if (!allowed?.has(m[2]!)) return send(403, { errors: ["permission denied"] });
        const versions = this.kv.get(m[2]!);
        if (!versions) return send(404, { errors: [] });
        if (m[1] === "metadata") return send(200, { data: { current_version: versions.length } });
        const v = Number(u.searchParams.get("version") ?? versions.length);
        const data = versions[v - 1];
        return data ? send(200, { data: { data, metadata: { version: v } } }) : send(404, { errors: [] });
    }
}

describe("reconciler/vault: VaultKv", () => {
    let vault: FakeVault;
    let addr: string;
    let dir: string;
    const clients: VaultKv[] = [];
    const kv = (cfg: Omit<VaultConfig, "addr">, now?: () => number) => {
        const c = new VaultKv({ addr, ...cfg }, { now, timeoutMs: 2000 });
        clients.push(c);
        return c;
    };
    const file = async (name: string, content: string) => {
        const p = path.join(dir, name);
        await fs.writeFile(p, content, { mode: 0o600 });
        return p;
    };
    const errorOf = (p: Promise<unknown>) =>
        p.then(
            () => assert.fail("expected a VaultError"),
            (e: unknown) => {
                assert.ok(e instanceof VaultError, String(e));
                return e;
            },
        );

    beforeEach(async () => {
        vault = new FakeVault();
        addr = await vault.start();
        dir = mkdtempSync(path.join(tmpdir(), "ps-vault-unit-"));
        vault.kv.set("db/app", [{ password: "one" }, { password: "two" }]);
        vault.kv.set("db/other", [{ password: "x" }]);
    });
    afterEach(async () => {
        for (const c of clients.splice(0)) c.close();
        await vault.stop();
        rmSync(dir, { recursive: true, force: true });
    });

    it("token-file: reads versions with the file's token; missing versions, keys and paths are undefined", async () => {
        const token = canaryValue();
        vault.tokens.set(token, new Set(["db/app", "db/none"]));
        const c = kv({ auth: { method: "token-file", path: await file("token", `${token}\n`) } });
        assert.equal(await c.currentVersion("secret", "db/app"), 2);
        assert.equal(await c.readVersion("secret", "db/app", 1, "password"), "one");
        assert.equal(await c.readVersion("secret", "db/app", 2, "password"), "two");
        assert.equal(await c.readVersion("secret", "db/app", 3, "password"), undefined);
        assert.equal(await c.readVersion("secret", "db/app", 2, "nokey"), undefined);
        assert.equal(await c.currentVersion("secret", "db/none"), undefined);
        const n = vault.requests.length;
        assert.equal(await c.readVersion("secret", "db/app", 0, "password"), undefined);
        assert.equal(vault.requests.length, n, "version 0 needs no request");
        for (const r of vault.requests) assert.ok(!r.url.includes(token), "token in a URL");
        assert.equal(c.stats.tokenFileReads, 1);
    });

    it("token-file: a rotated file is picked up when Vault rejects the old token", async () => {
        const old = canaryValue();
        const next = canaryValue();
        vault.tokens.set(old, new Set(["db/app"]));
        const p = await file("token", old);
        const c = kv({ auth: { method: "token-file", path: p } });
        assert.equal(await c.currentVersion("secret", "db/app"), 2);
        vault.tokens.delete(old);
        vault.tokens.set(next, new Set(["db/app"]));
        await fs.writeFile(p, next);
        assert.equal(await c.readVersion("secret", "db/app", 1, "password"), "one");
        assert.equal(c.stats.tokenFileReads, 2);
    });

    it("token-file: a 403 with an unchanged file is an error naming the path and code, without retry or token", async () => {
        const token = canaryValue();
        vault.tokens.set(token, new Set(["db/app"]));
        const c = kv({ auth: { method: "token-file", path: await file("token", token) } });
        const before = vault.requests.length;
        const e = await errorOf(c.readVersion("secret", "db/other", 1, "password"));
        assert.equal(e.status, 403);
        assert.match(e.message, /^vault GET \/v1\/secret\/data\/db\/other: HTTP 403 \(permission denied/);
        assert.ok(!e.message.includes(token) && !e.message.includes("version="));
        assert.equal(vault.requests.length - before, 1);
    });

    it("token-file: unreadable or empty files are clear errors", async () => {
        const e1 = await errorOf(kv({ auth: { method: "token-file", path: path.join(dir, "missing") } }).currentVersion("secret", "db/app"));
        assert.match(e1.message, /cannot read the Vault token file .*missing \(ENOENT\)/);
        const e2 = await errorOf(kv({ auth: { method: "token-file", path: await file("empty", "\n") } }).currentVersion("secret", "db/app"));
        assert.match(e2.message, /Vault token file .*empty is empty/);
    });

    it("kubernetes: logs in once for many reads (also concurrent), renews at 80% of the TTL, sends the namespace", async () => {
        const jwt = canaryValue();
        vault.jwts.set(`k8s-x|reader|${jwt}`, new Set(["db/app"]));
        let now = 1_000_000;
        const c = kv({ auth: { method: "kubernetes", role: "reader", mount: "k8s-x", jwtPath: await file("jwt", jwt) }, namespace: "team-a" }, () => now);
        const got = await Promise.all([c.currentVersion("secret", "db/app"), c.readVersion("secret", "db/app", 1, "password"), c.readVersion("secret", "db/app", 2, "password")]);
        assert.deepEqual(got, [2, "one", "two"]);
        assert.equal(c.stats.logins, 1);
        now += 47_000; // < 48 s (80% of 60 s)
        await c.currentVersion("secret", "db/app");
        assert.equal(c.stats.logins, 1);
        now += 2_000;
        await c.currentVersion("secret", "db/app");
        assert.equal(c.stats.logins, 2);
        for (const r of vault.requests) assert.equal(r.headers["x-vault-namespace"], "team-a");
        assert.ok(vault.requests.some((r) => r.url === "/v1/auth/k8s-x/login"));
    });

    it("kubernetes: a revoked token is replaced by a new login (re-reading the rotated JWT) and the read retried", async () => {
        const jwt1 = canaryValue();
        const jwt2 = canaryValue();
        const paths = new Set(["db/app"]);
        vault.jwts.set(`kubernetes|reader|${jwt1}`, paths);
        const jwtPath = await file("jwt", jwt1);
        const c = kv({ auth: { method: "kubernetes", role: "reader", jwtPath } });
        assert.equal(await c.currentVersion("secret", "db/app"), 2);
        vault.tokens.clear(); // revoked
        vault.jwts.clear();
        vault.jwts.set(`kubernetes|reader|${jwt2}`, paths); // the kubelet rotated the projected token
        await fs.writeFile(jwtPath, jwt2);
        assert.equal(await c.readVersion("secret", "db/app", 2, "password"), "two");
        assert.equal(c.stats.logins, 2);
    });

    it("kubernetes: a refused login names the mount, role and code, never the JWT", async () => {
        const jwt = canaryValue();
        const c = kv({ auth: { method: "kubernetes", role: "reader", jwtPath: await file("jwt", jwt) } });
        const e = await errorOf(c.currentVersion("secret", "db/app"));
        assert.equal(e.status, 403);
        assert.match(e.message, /^vault login at auth\/kubernetes\/login \(role reader\): HTTP 403 \(the ServiceAccount token was refused/);
        assert.ok(!e.message.includes(jwt));
    });

    it("refuses plain http to anything but loopback, naming the address and the fix", () => {
        const auth = { method: "token-file", path: "/t" } as const;
        for (const a of ["http://vault.vault.svc:8200", "http://10.0.0.7:8200", "http://127.example.com", "http://[fd00::1]:8200"]) {
            assert.throws(() => new VaultKv({ addr: a, auth }), (e: Error) => e instanceof VaultError && e.message.includes("is plain http to a host that is not loopback") && e.message.includes("Fix: use https://"), a);
        }
        for (const a of ["http://127.0.0.1:8200", "http://127.3.4.5:1", "http://localhost:8200", "http://[::1]:8200", "https://vault.vault.svc:8200"]) new VaultKv({ addr: a, auth }).close();
        assert.deepEqual(["127.0.0.1", "LOCALHOST", "[::1]", "10.0.0.1", "127.0.0.1.nip.io"].map(isLoopbackHost), [true, true, true, false, false]);
    });

    it("refuses inline tokens, a CA with http, and paths that climb out of the mount", async () => {
        assert.throws(() => new VaultKv({ addr, token: "t" } as unknown as VaultConfig), /no inline tokens/);
        assert.throws(() => new VaultKv({ addr: "vault:8200", auth: { method: "token-file", path: "/t" } }), /must start with http/);
        assert.throws(() => new VaultKv({ addr, caPem: "x", auth: { method: "token-file", path: "/t" } }), /not https/);
        assert.throws(() => new VaultKv({ addr, auth: { method: "kubernetes", role: "r", jwtPath: "" } }), /jwtPath/);
        const c = kv({ auth: { method: "token-file", path: await file("token", "t") } });
        for (const p of ["../../sys/raw/x", "db/./app", "db//app"]) await errorOf(c.readVersion("secret", p, 1, "k"));
        assert.equal(vault.requests.length, 0);
    });

    it("network failures name the path and the error code only", async () => {
        const c = kv({ auth: { method: "token-file", path: await file("token", "t") } });
        await vault.stop();
        const e = await errorOf(c.currentVersion("secret", "db/app"));
        assert.match(e.message, /^vault GET \/v1\/secret\/metadata\/db\/app: ECONNREFUSED$/);
    });
});
