import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import type { Client as PgClient } from "pg";
import { alterRolePassword, canLogin, pgConnect, PgHookError, scramSha256Verifier } from "../../../reconciler/hooks/postgres";
import { canaryValue } from "../../support";

/** Parses `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`. */
function parse(v: string): { iterations: number; salt: Buffer; storedKey: Buffer; serverKey: Buffer } {
    const m = v.match(/^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/);
    assert.ok(m, "not a SCRAM-SHA-256 verifier");
    return { iterations: Number(m[1]), salt: Buffer.from(m[2]!, "base64"), storedKey: Buffer.from(m[3]!, "base64"), serverKey: Buffer.from(m[4]!, "base64") };
}

/**
 * Fixed vectors: pg_authid.rolpassword as PostgreSQL 15.18 stored it for `CREATE ROLE … PASSWORD '<password>'`
 * (captured from the test environment's server; the integration test checks the same against the live server).
 */
const PG_VECTORS = [
    { password: "pencil", stored: "SCRAM-SHA-256$4096:m4XJyxjcaRoYcf1OwYSWbA==$FjOO9pQJpW5YO8g5iD/Cx/JAn7lNDKxLbo1j0svY1ug=:40aQgtZJ3sIt3q9DS7edDtsv1LpPiZ8h0nK27gdlEZQ=" },
    // Non-ASCII: NO-BREAK SPACE maps to a space and ROMAN NUMERAL FOUR to "IV" under SASLprep, as the server does.
    { password: "p\u00e4ss w\u00f6rd\u00a0\u2163", stored: "SCRAM-SHA-256$4096:l659YjT0YJEEBFncd+Qz5Q==$dy9YMfrMi5QV8a+77uFk47XAgiMOINDlwHVqJS/u7Cc=:1O4XP965aFbuGtnXhOL/fcf+NmyiFqcqv2USAJ1MDs8=" },
];

describe("reconciler/postgres: SCRAM-SHA-256 verifier", () => {
    for (const v of PG_VECTORS) {
        it(`equals what PostgreSQL stored for ${JSON.stringify(v.password)}`, () => {
            const p = parse(v.stored);
            assert.equal(scramSha256Verifier(v.password, p.salt, p.iterations), v.stored);
        });
    }

    it("passes the server-side proof check of the RFC 7677 exchange (user/pencil)", () => {
        // RFC 7677 section 3: the server keeps only StoredKey and ServerKey; it recovers ClientKey from the proof.
        const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
        const { storedKey, serverKey } = parse(scramSha256Verifier("pencil", salt, 4096));
        const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
        const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
        const sig = createHmac("sha256", storedKey).update(authMessage).digest();
        const clientKey = Buffer.from(proof.map((b, i) => b ^ sig[i]!));
        assert.deepEqual(createHash("sha256").update(clientKey).digest(), storedKey);
        assert.equal(createHmac("sha256", serverKey).update(authMessage).digest("base64"), "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    });

    it("uses a fresh 16-byte salt and 4096 iterations by default, and honours iterations", () => {
        const a = parse(scramSha256Verifier("x"));
        const b = parse(scramSha256Verifier("x"));
        assert.equal(a.salt.length, 16);
        assert.equal(a.iterations, 4096);
        assert.notDeepEqual(a.salt, b.salt);
        assert.equal(parse(scramSha256Verifier("x", Buffer.from("salt"), 10)).iterations, 10);
        assert.throws(() => scramSha256Verifier("x", Buffer.alloc(0)), RangeError);
        assert.throws(() => scramSha256Verifier("x", undefined, 0), RangeError);
    });

    it("never contains the password", () => {
        const pw = canaryValue();
        assert.ok(!scramSha256Verifier(pw).includes(pw));
    });
});

/** A stand-in for pg.Client that records the SQL it is asked to run. */
function fakeClient(fail?: (sql: string) => Error): { client: PgClient; sql: string[] } {
    const sql: string[] = [];
    const client = {
        escapeIdentifier: (s: string) => `"${s.replace(/"/g, '""')}"`,
        escapeLiteral: (s: string) => `'${s.replace(/'/g, "''")}'`,
        query: async (q: string) => {
            sql.push(q);
            if (fail) throw fail(q);
            return { rows: [] };
        },
    } as unknown as PgClient;
    return { client, sql };
}

describe("reconciler/postgres: alterRolePassword", () => {
    it("sends the verifier, never the plaintext, with the role name escaped", async () => {
        const pw = canaryValue();
        const { client, sql } = fakeClient();
        await alterRolePassword(client, 'app"; DROP ROLE x; --', pw);
        assert.equal(sql.length, 1);
        assert.match(sql[0]!, /^ALTER ROLE "app""; DROP ROLE x; --" PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+'$/);
        assert.ok(!sql[0]!.includes(pw));
        const verifier = sql[0]!.match(/'(.*)'$/)![1]!;
        const p = parse(verifier);
        assert.equal(scramSha256Verifier(pw, p.salt, p.iterations), verifier, "the verifier is the new password's");
    });

    it("errors carry SQLSTATE and role, scrubbed of password and verifier", async () => {
        const pw = canaryValue();
        const { client } = fakeClient((q) => Object.assign(new Error(`syntax error at or near "${q}" (${pw})`), { code: "42601" }));
        const err = await alterRolePassword(client, "app", pw).then(
            () => assert.fail("expected an error"),
            (e: unknown) => e as PgHookError,
        );
        assert.ok(err instanceof PgHookError);
        assert.equal(err.code, "42601");
        assert.match(err.message, /ALTER ROLE app failed: SQLSTATE 42601/);
        assert.ok(!err.message.includes(pw));
        assert.ok(!err.message.includes("SCRAM-SHA-256$"), "verifier scrubbed");
    });

    it("refuses an empty password without running SQL", async () => {
        const { client, sql } = fakeClient();
        await assert.rejects(alterRolePassword(client, "app", ""), /empty/);
        assert.equal(sql.length, 0);
    });
});

describe("reconciler/postgres: connection set-up", () => {
    it("verify-full without a CA is a configuration error naming the fix", async () => {
        await assert.rejects(pgConnect({ type: "postgres", host: "db", user: "app", tls: { mode: "verify-full" } }, "x"), (e: any) => {
            assert.equal(e.code, "tls-config");
            assert.match(e.message, /db:5432 role app: tls mode verify-full needs a CA/);
            return true;
        });
    });

    it("canLogin says error (not false) when nothing listens, and the reason names host:port and role", async () => {
        const srv = createServer();
        await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
        const port = (srv.address() as AddressInfo).port;
        await new Promise<void>((r) => srv.close(() => r()));
        const pw = canaryValue();
        let reason: PgHookError | undefined;
        const r = await canLogin({ type: "postgres", host: "127.0.0.1", port, user: "app", tls: { mode: "disable" } }, pw, { timeoutMs: 2000, onError: (e) => (reason = e) });
        assert.equal(r, "error");
        assert.ok(reason);
        assert.match(reason.message, new RegExp(`127\\.0\\.0\\.1:${port} role app: cannot connect`));
        assert.ok(!reason.message.includes(pw));
    });
});
