import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import { Client } from "pg";
import type { PostgresHook } from "../../../reconciler/hooks/hookspec";
import { alterRolePassword, canLogin, pgConnect, PgHookError, scramSha256Verifier } from "../../../reconciler/hooks/postgres";
import { HostilePgServer, StandInAuthMode } from "../../support/pg-standin";
import { canaryValue, eventually, randomName, withTimeout } from "../../support";
import { getEnv } from "../fixture";

/** The test's own superuser session (setup and inspection only; never the code under test). */
async function superuser<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const pg = getEnv().postgres;
    const c = new Client({ host: pg.host, port: pg.port, database: pg.database, user: pg.user, password: pg.password });
    c.on("error", () => undefined);
    await c.connect();
    try {
        return await fn(c);
    } finally {
        await c.end();
    }
}

function hookFor(user: string, tls?: PostgresHook["tls"]): PostgresHook {
    const pg = getEnv().postgres;
    return { type: "postgres", host: pg.host, port: pg.port, database: pg.database, user, ...(tls ? { tls } : {}) };
}

async function expectPgError(p: Promise<unknown>): Promise<PgHookError> {
    return p.then(
        () => assert.fail("expected a PgHookError"),
        (e: unknown) => {
            assert.ok(e instanceof PgHookError, `not a PgHookError: ${String(e)}`);
            return e;
        },
    );
}

async function rolpassword(role: string): Promise<string> {
    return superuser(async (c) => (await c.query("SELECT rolpassword FROM pg_authid WHERE rolname = $1", [role])).rows[0]?.rolpassword);
}

function sameVerifier(stored: string, password: string): boolean {
    const m = stored.match(/^SCRAM-SHA-256\$(\d+):([^$]+)\$/);
    return !!m && scramSha256Verifier(password, Buffer.from(m[2]!, "base64"), Number(m[1])) === stored;
}

describe("reconciler/postgres against the real PostgreSQL", function () {
    const roles: string[] = [];
    const newRole = async (password: string, opts = ""): Promise<string> => {
        const role = `ps_${randomName("r").replace(/-/g, "_")}`;
        roles.push(role);
        await superuser(async (c) => {
            await c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN ${opts} PASSWORD ${c.escapeLiteral(password)}`);
            // Statement logging for every session of this role only (other suites share the server).
            await c.query(`ALTER ROLE ${c.escapeIdentifier(role)} SET log_statement = 'all'`);
        });
        return role;
    };
    after(async () => {
        await superuser(async (c) => {
            for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(r)}`).catch(() => undefined);
        }).catch(() => undefined);
    });

    it("scramSha256Verifier reproduces the verifier the server stored (same salt and iterations)", async () => {
        for (const pw of [canaryValue(), `${canaryValue()} p\u00e4ss\u00a0\u2163`]) {
            const role = await newRole(pw);
            assert.ok(sameVerifier(await rolpassword(role), pw), "verifier differs from the server's");
        }
    });

    it("alterRolePassword with log_statement=all: new password logs in, old does not, the log never holds the password", async () => {
        const { logPath } = getEnv().postgres;
        const oldPw = canaryValue();
        const canary = canaryValue();
        const role = await newRole(oldPw);
        const hook = hookFor(role); // default TLS mode (require)
        const client = await withTimeout(pgConnect(hook, oldPw), 15_000, "login with the old password");
        try {
            assert.equal((await client.query("SHOW log_statement")).rows[0].log_statement, "all", "statement logging is on for this session");
            await withTimeout(alterRolePassword(client, role, canary), 15_000, "alterRolePassword");
        } finally {
            await client.end();
        }
        assert.equal(await withTimeout(canLogin(hook, canary), 15_000, "login with the new password"), true);
        assert.equal(await withTimeout(canLogin(hook, oldPw), 15_000, "login with the old password"), false);
        assert.ok(sameVerifier(await rolpassword(role), canary), "the stored verifier is the canary's");

        // Positive control: the server logged the statement (so a plaintext literal would have been logged too).
        const statement = `ALTER ROLE "${role}" PASSWORD 'SCRAM-SHA-256$4096:`;
        const log = await eventually(async () => {
            const text = await fs.readFile(logPath, "utf8");
            return text.includes(statement) ? text : undefined;
        }, 10_000, "the ALTER ROLE statement in the server log");
        assert.ok(!log.includes(canary), "the new password is in the server log");
    });

    it("a refused ALTER ROLE reports SQLSTATE and role, and neither the error nor the server log holds the password", async () => {
        const { logPath } = getEnv().postgres;
        const pw = canaryValue();
        const canary = canaryValue();
        const actor = await newRole(pw);
        const victim = await newRole(canaryValue());
        const client = await withTimeout(pgConnect(hookFor(actor), pw), 15_000, "login");
        let err: PgHookError;
        try {
            err = await expectPgError(alterRolePassword(client, victim, canary));
        } finally {
            await client.end();
        }
        assert.equal(err.code, "42501");
        assert.match(err.message, new RegExp(`ALTER ROLE ${victim} failed: SQLSTATE 42501`));
        assert.ok(!err.message.includes(canary) && !err.message.includes("SCRAM-SHA-256$"));
        // log_min_error_statement (default error) logs the failing statement: the verifier at most, never the canary.
        const log = await eventually(async () => {
            const text = await fs.readFile(logPath, "utf8");
            return text.includes(`ALTER ROLE "${victim}" PASSWORD 'SCRAM-SHA-256$`) ? text : undefined;
        }, 10_000, "the failed statement in the server log");
        assert.ok(!log.includes(canary));
    });

    describe("TLS modes", () => {
        let role: string;
        let pw: string;
        const sslInUse = async (hook: PostgresHook): Promise<boolean> => {
            const c = await withTimeout(pgConnect(hook, pw), 15_000, `connect (${hook.tls?.mode ?? "default"})`);
            try {
                return (await c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).rows[0].ssl;
            } finally {
                await c.end();
            }
        };
        before(async () => {
            pw = canaryValue();
            role = await newRole(pw);
        });

        it("require (the default) and verify-full with the server's CA connect over TLS; disable does not use TLS", async () => {
            const { caPem } = getEnv().postgres;
            assert.equal(await sslInUse(hookFor(role)), true);
            assert.equal(await sslInUse(hookFor(role, { mode: "require" })), true);
            assert.equal(await sslInUse(hookFor(role, { mode: "verify-full", ca: caPem })), true);
            assert.equal(await sslInUse(hookFor(role, { mode: "disable" })), false);
        });

        it("require behind a TLS-terminating relay to the plaintext server (no SCRAM-PLUS offered) is refused before any proof is sent", async () => {
            const { logPath, host, port } = getEnv().postgres;
            // The server's own certificate (test/env/postgres.ts keeps it in <dir>/tls): the relay looks like it to a client that checks nothing.
            const [cert, key] = await Promise.all(["server.crt", "server.key"].map((f) => fs.readFile(path.join(path.dirname(logPath), "tls", f))));
            const relayed: Buffer[] = [];
            // The relay answers the SSLRequest itself, terminates TLS and forwards the plaintext to the real server
            // (which accepts non-TLS on loopback, so it offers SCRAM-SHA-256 only).
            const relay = net.createServer((sock) => {
                sock.once("data", (first) => {
                    if (first.length !== 8 || first.readInt32BE(4) !== 80877103) {
                        sock.destroy();
                        return;
                    }
                    sock.write("S");
                    const tlsSock = new tls.TLSSocket(sock, { isServer: true, cert, key });
                    const upstream = net.connect(port, host);
                    tlsSock.on("data", (d: Buffer) => (relayed.push(d), upstream.write(d)));
                    upstream.on("data", (d) => tlsSock.write(d));
                    const close = () => (tlsSock.destroy(), upstream.destroy());
                    tlsSock.on("error", close).on("close", close);
                    upstream.on("error", close).on("close", close);
                });
            });
            await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
            try {
                const relayHook = { ...hookFor(role, { mode: "require" }), port: (relay.address() as net.AddressInfo).port };
                // Control: a client that does not insist on channel binding logs in through the relay (the relay works,
                // and it saw the whole SCRAM exchange).
                const plain = new Client({ host: "127.0.0.1", port: relayHook.port, user: role, password: pw, database: "postgres", ssl: { rejectUnauthorized: false } });
                await withTimeout(plain.connect(), 15_000, "control through the relay");
                await plain.end();
                assert.ok(Buffer.concat(relayed).includes(Buffer.from("SCRAM-SHA-256")), "the control's SASL exchange passed the relay");
                relayed.length = 0;
                const e = await expectPgError(withTimeout(pgConnect(relayHook, pw), 15_000, "through the relay"));
                assert.equal(e.code, "channel-binding-refused");
                assert.match(e.message, /offers SCRAM-SHA-256 over TLS without channel binding \(no SCRAM-SHA-256-PLUS\).*no password was sent.*fix: .*hostssl.*verify-full/);
                // What the relay saw: the startup message only, no SASL message ('p') at all.
                const seen = Buffer.concat(relayed);
                assert.ok(seen.length > 0, "the relay saw the startup message");
                assert.ok(!seen.includes(Buffer.from("SCRAM-SHA-256")), "no SASLInitialResponse passed the relay");
                assert.ok(!seen.includes(Buffer.from(pw)));
                // Directly to the server over TLS it offers -PLUS, and the same hook logs in.
                assert.equal(await sslInUse(hookFor(role, { mode: "require" })), true);
            } finally {
                await new Promise<void>((r) => relay.close(() => r()));
            }
        });

        it("verify-full fails with a wrong CA and with a host name the certificate does not name", async () => {
            const wrongCa = Buffer.from(getEnv().kubeConfig().getCurrentCluster()!.caData!, "base64").toString("utf8");
            const e1 = await expectPgError(withTimeout(pgConnect(hookFor(role, { mode: "verify-full", ca: wrongCa }), pw), 15_000, "wrong CA"));
            assert.equal(e1.code, "tls-verify");
            assert.match(e1.message, /TLS verification failed \(verify-full\)/);
            const { port, caPem } = getEnv().postgres;
            // The certificate names IP 127.0.0.1 only; "localhost" reaches the same server but is not in it.
            const e2 = await expectPgError(withTimeout(pgConnect({ ...hookFor(role, { mode: "verify-full", ca: caPem }), host: "localhost" }, pw), 15_000, "wrong host name"));
            assert.equal(e2.code, "tls-verify");
            assert.match(e2.message, new RegExp(`localhost:${port} role ${role}: TLS verification failed \\(verify-full\\): ERR_TLS_CERT_ALTNAME_INVALID`));
            for (const e of [e1, e2]) assert.ok(!e.message.includes(pw));
        });
    });
});

describe("reconciler/postgres against a hostile PostgreSQL stand-in (test/support/pg-standin.ts)", function () {
    const run = async (auth: StandInAuthMode, tls: PostgresHook["tls"], fn: (hook: PostgresHook, server: HostilePgServer, canary: string) => Promise<void>) => {
        const server = new HostilePgServer(auth);
        const { host, port } = await server.start();
        try {
            await fn({ type: "postgres", host, port, user: "app", database: "app", tls }, server, canaryValue());
        } finally {
            await server.stop();
        }
    };

    it("control: plain node-postgres does send the password to this stand-in (so the checks below can see it)", async () => {
        await run("cleartext", { mode: "disable" }, async (hook, server, canary) => {
            const c = new Client({ host: hook.host, port: hook.port, user: "app", database: "app", password: canary, ssl: false });
            c.on("error", () => undefined);
            await assert.rejects(withTimeout(c.connect(), 10_000, "plain connect"));
            assert.equal(server.passwordMessages(), 1);
            assert.ok(server.received().toString("latin1").includes(canary));
        });
    });

    for (const [auth, method] of [["cleartext", "cleartext password"], ["md5", "MD5 password"]] as const) {
        it(`a server asking for ${method} authentication gets a clear refusal and no password message`, async () => {
            await run(auth, { mode: "disable" }, async (hook, server, canary) => {
                const err = await expectPgError(withTimeout(pgConnect(hook, canary), 10_000, "pgConnect"));
                assert.equal(err.code, "auth-method-refused");
                assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${hook.port} role app: the server asked for ${method} authentication; only SCRAM-SHA-256 is accepted`));
                assert.equal(await withTimeout(canLogin(hook, canary), 10_000, "canLogin"), "error", "a refusal is an error, not a wrong password");
                const md5 = createHash("md5").update(canary + "app").digest("hex");
                await new Promise((r) => setTimeout(r, 200)); // anything the client might still send arrives
                assert.equal(server.startups.length, 2, "both attempts reached the authentication request");
                assert.equal(server.passwordMessages(), 0, `password messages received: ${server.messages.map((m) => m.type).join(",")}`);
                const bytes = server.received().toString("latin1");
                assert.ok(!bytes.includes(canary) && !bytes.includes(md5), "the server received the password or its MD5 hash");
                assert.ok(!err.message.includes(canary));
            });
        });
    }

    it("a server that lets the role in without SCRAM (trust) is refused too", async () => {
        await run("trust", { mode: "disable" }, async (hook, server, canary) => {
            const err = await expectPgError(withTimeout(pgConnect(hook, canary), 10_000, "pgConnect"));
            assert.equal(err.code, "auth-method-refused");
            assert.match(err.message, /without SCRAM-SHA-256 authentication \(trust or similar\); only SCRAM-SHA-256 is accepted/);
            assert.equal(server.passwordMessages(), 0);
            assert.ok(!server.received().toString("latin1").includes(canary));
        });
    });

    it("tls require against a server without TLS fails clearly before the startup message", async () => {
        for (const tls of [undefined, { mode: "require" as const }]) {
            await run("cleartext", tls, async (hook, server, canary) => {
                const err = await expectPgError(withTimeout(pgConnect(hook, canary), 10_000, "pgConnect"));
                assert.equal(err.code, "tls-unavailable");
                assert.match(err.message, /role app: the server does not offer TLS but the hook's tls mode is require/);
                assert.deepEqual(server.messages.map((m) => m.type), ["ssl-request"], "nothing but the SSLRequest was sent");
            });
        }
    });
});
