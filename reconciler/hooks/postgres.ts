import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import type { Client as PgClient, ClientConfig } from "pg";
import { DEFAULT_PG_TLS_MODE, PgTlsMode, PostgresHook } from "./hookspec";

/**
 * PostgreSQL login and password change for the `postgres` hook, hardened because the password it handles is a
 * secret the hook's owner trusts us with:
 * - Only SCRAM-SHA-256 authentication is accepted. node-postgres answers AuthenticationCleartextPassword with the
 *   password itself and AuthenticationMD5Password with a replayable, offline-guessable hash, so a hostile or
 *   misconfigured server would receive it. Here the server must run a SCRAM exchange to the end (which also proves
 *   the server knows the role's verifier), or the login fails without a password byte on the wire.
 * - The new password is sent as a SCRAM-SHA-256 verifier computed client-side (`ALTER ROLE … PASSWORD
 *   'SCRAM-SHA-256$…'`, stored as is by PostgreSQL >= 10), so `log_statement`, pg_stat_statements and the server's
 *   error reports record the verifier (what pg_authid holds anyway), never the password.
 * - TLS per hook: `disable`, `require` (encrypted, server not verified, so SCRAM's channel binding is REQUIRED:
 *   a server reached over TLS that offers SCRAM-SHA-256 without -PLUS is refused before the first SASL message) or
 *   `verify-full` (the hook's CA and the host name checked; channel binding required too).
 * - Errors name host:port, role, SQLSTATE and what to fix; any password or verifier is scrubbed from them.
 */

/** An error from this module: `code` is the SQLSTATE when the server sent one, else one of ours. */
export class PgHookError extends Error {
    constructor(message: string, readonly code: string) {
        super(message);
        this.name = "PgHookError";
    }
}

/**
 * SASLprep (RFC 4013) as node-postgres applies it before SCRAM (non-ASCII spaces → space, "mapped to nothing"
 * characters removed, NFKC). Mirroring the client that logs in keeps verifier and login consistent; PostgreSQL
 * computes the same for such passwords. ASCII passwords (what the stack generates) are unchanged by it. Like
 * node-postgres it skips the prohibited-output and bidi checks (where PostgreSQL would fall back to raw bytes).
 */
function saslprep(password: string): string {
    // eslint-disable-next-line no-misleading-character-class
    return password.replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, " ").replace(/[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, "").normalize("NFKC");
}

/**
 * The SCRAM-SHA-256 secret exactly as PostgreSQL stores it in pg_authid.rolpassword (RFC 5802 / RFC 7677):
 * `SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>`. Salt: 16 random bytes like
 * PostgreSQL's; 4096 iterations is PostgreSQL's default `scram_iterations`.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
    if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError("SCRAM iterations must be a positive integer");
    if (salt.length === 0) throw new RangeError("SCRAM salt must not be empty");
    const salted = pbkdf2Sync(Buffer.from(saslprep(password), "utf8"), salt, iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** Replaces every occurrence of the given secrets (and their SASLprep forms) in `text`. */
function scrub(text: string, secrets: (string | undefined)[]): string {
    let out = text;
    for (const s of secrets) {
        if (!s) continue;
        for (const v of new Set([s, saslprep(s)])) if (v) out = out.split(v).join("[redacted]");
    }
    return out;
}

function target(hook: PostgresHook): string {
    return `${hook.host}:${hook.port ?? 5432} role ${hook.user}`;
}

function tlsOptions(hook: PostgresHook, mode: PgTlsMode): ClientConfig["ssl"] {
    switch (mode) {
        case "disable":
            return false;
        case "require":
            return { rejectUnauthorized: false };
        case "verify-full":
            if (!hook.tls?.ca) throw new PgHookError(`PostgreSQL ${target(hook)}: tls mode verify-full needs a CA; set the hook's tls.ca (PEM)`, "tls-config");
            // Node checks the host name (DNS or IP SAN) against hook.host when rejectUnauthorized is on.
            return { ca: hook.tls.ca, rejectUnauthorized: true };
        default:
            throw new PgHookError(`PostgreSQL ${target(hook)}: unknown tls mode ${JSON.stringify(mode)}; use disable, require or verify-full`, "tls-config");
    }
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The message and code of whatever a driver threw (pg errors carry a SQLSTATE `code`, node errors an errno code). */
function errorParts(e: unknown): { msg: string; code: string } {
    const o = typeof e === "object" && e !== null ? (e as { message?: unknown; code?: unknown }) : {};
    return { msg: String(o.message ?? e), code: typeof o.code === "string" ? o.code : "" };
}

/** A connect/login failure as a PgHookError naming host:port, role and the fix; never a value. */
function connectError(hook: PostgresHook, mode: PgTlsMode, e: unknown, secrets: string[]): PgHookError {
    const where = `PostgreSQL ${target(hook)}`;
    const { msg, code } = errorParts(e);
    if (SQLSTATE.test(code)) return new PgHookError(scrub(`${where}: login failed: SQLSTATE ${code}: ${msg}`, secrets), code);
    if (/does not support SSL/i.test(msg)) {
        return new PgHookError(`${where}: the server does not offer TLS but the hook's tls mode is ${mode}; enable ssl on the server (or, on loopback only, set tls.mode disable)`, "tls-unavailable");
    }
    if (/^(ERR_TLS_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY))/.test(code)) {
        return new PgHookError(scrub(`${where}: TLS verification failed (${mode}): ${code}: ${msg}; check tls.ca and that the certificate names ${hook.host}`, secrets), "tls-verify");
    }
    if (/SASL/.test(msg)) return new PgHookError(scrub(`${where}: SCRAM-SHA-256 authentication failed: ${msg}`, secrets), "scram");
    return new PgHookError(scrub(`${where}: cannot connect${code ? ` (${code})` : ""}: ${msg}`, secrets), code || "connect");
}

const CHANNEL_BINDING_MISSING = "scram-without-channel-binding";

/** Why a login was refused before any password was sent: the server's method, or TLS without channel binding. */
function refusalError(hook: PostgresHook, method: string): PgHookError {
    if (method === CHANNEL_BINDING_MISSING) {
        return new PgHookError(
            `PostgreSQL ${target(hook)}: the server offers SCRAM-SHA-256 over TLS without channel binding (no SCRAM-SHA-256-PLUS), as a TLS-terminating relay in front of it would; no password was sent ` +
                "(fix: connect to PostgreSQL itself with ssl on and a hostssl line in pg_hba.conf, or set the hook's tls.mode verify-full with tls.ca, which also checks whom you talk to)",
            "channel-binding-refused",
        );
    }
    return new PgHookError(
        `PostgreSQL ${target(hook)}: the server asked for ${method} authentication; only SCRAM-SHA-256 is accepted, so no password was sent ` +
            `(fix on the server: password_encryption = scram-sha-256, set the role's password again, scram-sha-256 in pg_hba.conf)`,
        "auth-method-refused",
    );
}

/** What the guards saw during one login: the refused method (the first one), and whether SCRAM completed. */
interface AuthState {
    refused?: string;
    scramDone: boolean;
}

type PgConnection = NodeJS.EventEmitter & { password: (p: string) => void; stream: { destroy(): void } };

/** Layers 1, 3 and 4 of the refusal (layer 2 is the password callback in pgConnect); each one alone stops the password. */
function guardAuthentication(con: PgConnection, tls: boolean, state: AuthState, refusal: (method: string) => PgHookError): void {
    // Layer 1: our listeners run before the client's own (registered on connect): mark the refusal, fail the connect.
    for (const [event, method] of [["authenticationCleartextPassword", "cleartext password"], ["authenticationMD5Password", "MD5 password"]] as const) {
        con.prependListener(event, () => {
            state.refused ??= method;
            con.emit("error", refusal(method));
        });
    }
    // Layer 3, independent of 1 and 2 (checked by removing them): connection.password() is the only writer of a
    // cleartext/MD5 PasswordMessage (SCRAM uses other senders); it tears the socket down instead of writing.
    con.password = () => {
        state.refused ??= "a non-SCRAM password";
        con.stream.destroy();
    };
    // Layer 4, TLS on: channel binding is required, not merely preferred. A server reached over TLS that offers
    // SCRAM-SHA-256 without -PLUS is what a TLS-terminating relay in front of a plaintext (`host`, not `hostssl`)
    // server looks like: the relay would see the login proof and could stand in for us. With -PLUS the proof binds
    // the certificate WE saw, which a relay cannot present to the real server. Refused before the first SASL message.
    if (tls) {
        con.prependListener("authenticationSASL", (msg: { mechanisms?: string[] }) => {
            if ((msg.mechanisms ?? []).includes("SCRAM-SHA-256-PLUS")) return;
            state.refused ??= CHANNEL_BINDING_MISSING;
            con.emit("error", refusal(state.refused));
        });
    }
    con.on("authenticationSASLFinal", () => (state.scramDone = true));
}

/**
 * Connects as `hook.user` with `password`, TLS per `hook.tls?.mode ?? DEFAULT_PG_TLS_MODE`. Refuses (without
 * sending anything derived from the password) a server that asks for cleartext or MD5 authentication, and one that
 * lets the role in without completing SCRAM-SHA-256. The caller must `end()` the client.
 */
export async function pgConnect(hook: PostgresHook, password: string, opts: { timeoutMs?: number } = {}): Promise<PgClient> {
    // Loaded on first use: pg and its protocol parser cost RSS that reconcilers without postgres hooks never need.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Client } = require("pg") as typeof import("pg");
    const mode = hook.tls?.mode ?? DEFAULT_PG_TLS_MODE;
    const ssl = tlsOptions(hook, mode);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const state: AuthState = { scramDone: false };
    const refusal = (method: string) => refusalError(hook, method);
    const client = new Client({
        host: hook.host,
        port: hook.port ?? 5432,
        user: hook.user,
        database: hook.database ?? "postgres",
        ssl,
        sslnegotiation: "postgres",
        // Layer 2: node-postgres asks this function for the password on every auth request; once layer 1 saw a
        // cleartext/MD5 request it throws, so the client's own handler (which runs after ours) gets nothing.
        password: () => {
            if (state.refused) throw refusal(state.refused);
            return password;
        },
        enableChannelBinding: ssl !== false,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        application_name: "platform-secrets-reconciler",
    });
    const con = client.connection as unknown as PgConnection;
    guardAuthentication(con, ssl !== false, state, refusal);
    // After connect, errors (server restart, idle kill) surface on the next query; an unhandled 'error' must not crash us.
    client.on("error", () => undefined);
    // A refused or failed connection is torn down, not ended politely: a hostile server need not cooperate.
    const abandon = () => con.stream.destroy();
    try {
        await client.connect();
    } catch (e) {
        abandon();
        if (state.refused) throw refusal(state.refused);
        throw connectError(hook, mode, e, [password]);
    }
    if (!state.scramDone) {
        abandon();
        throw new PgHookError(
            `PostgreSQL ${target(hook)}: the server let the role in without SCRAM-SHA-256 authentication (trust or similar); only SCRAM-SHA-256 is accepted (fix pg_hba.conf)`,
            "auth-method-refused",
        );
    }
    return client;
}

/**
 * Whether `password` logs in as the hook's role: false only when the server says the credentials are wrong
 * (28P01 invalid_password, 28000 invalid_authorization_specification); "error" for outages, TLS failures and
 * refused authentication methods (`onError` receives the scrubbed reason).
 */
export async function canLogin(hook: PostgresHook, password: string, opts: { timeoutMs?: number; onError?: (e: PgHookError) => void } = {}): Promise<true | false | "error"> {
    let client: PgClient;
    try {
        client = await pgConnect(hook, password, opts);
    } catch (e) {
        const err = e instanceof PgHookError ? e : connectError(hook, hook.tls?.mode ?? DEFAULT_PG_TLS_MODE, e, [password]);
        if (err.code === "28P01" || err.code === "28000") return false;
        opts.onError?.(err);
        return "error";
    }
    await client.end().catch(() => undefined);
    return true;
}

/**
 * `ALTER ROLE <user> PASSWORD '<SCRAM-SHA-256 verifier>'`: the plaintext never appears in SQL, so statement
 * logging records only the verifier. Throws a PgHookError with the SQLSTATE and the role, scrubbed of both values.
 */
export async function alterRolePassword(client: PgClient, user: string, newPassword: string): Promise<void> {
    if (!newPassword) throw new PgHookError(`ALTER ROLE ${user}: the new password is empty; refusing to set it`, "empty-password");
    const verifier = scramSha256Verifier(newPassword);
    try {
        await client.query(`ALTER ROLE ${client.escapeIdentifier(user)} PASSWORD ${client.escapeLiteral(verifier)}`);
    } catch (e) {
        const parts = errorParts(e);
        const code = SQLSTATE.test(parts.code) ? parts.code : "unknown";
        throw new PgHookError(scrub(`ALTER ROLE ${user} failed: SQLSTATE ${code}: ${parts.msg}`, [newPassword, verifier]), code);
    }
}

/** Sessions of `role` the server has open now (pg_stat_activity: the user name column is visible to every role). */
export async function countSessions(client: PgClient, role: string): Promise<number> {
    const r = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1", [role]);
    return r.rows[0]?.n ?? 0;
}
