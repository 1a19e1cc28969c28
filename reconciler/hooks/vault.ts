import { promises as fs } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";

/**
 * How the reconciler authenticates to Vault. There is deliberately no inline token: a token on the command line or
 * in an environment variable leaks through /proc, `ps`, crash dumps and Pod specs.
 * - `token-file`: a file holding a token (e.g. written by Vault Agent); re-read every minute and whenever Vault
 *   rejects the token, so rotating the file needs no restart.
 * - `kubernetes`: Vault's Kubernetes auth method: the ServiceAccount token at `jwtPath` (re-read at every login,
 *   projected tokens rotate) is exchanged at `auth/<mount>/login` for a Vault token limited to the role's policy.
 */
export type VaultAuth =
    | { method: "token-file"; path: string }
    | { method: "kubernetes"; role: string; mount?: string; jwtPath: string };

export interface VaultConfig {
    addr: string;
    auth: VaultAuth;
    /** PEM CA bundle for an https `addr` (default: the system CAs). */
    caPem?: string;
    /** Vault Enterprise / OpenBao namespace (X-Vault-Namespace). */
    namespace?: string;
}

export interface VaultKvOptions {
    /** Clock for token expiry (tests). */
    now?: () => number;
    /** Per-request timeout; default 10 s. */
    timeoutMs?: number;
}

/** A Vault failure naming the request path and HTTP status (or network error code); never a token or value. */
export class VaultError extends Error {
    constructor(message: string, readonly status?: number) {
        super(message);
        this.name = "VaultError";
    }
}

/** Token files are re-read at least this often; a login token is renewed at this fraction of its TTL. */
const TOKEN_FILE_REREAD_MS = 60_000;
const RENEW_AT_FRACTION = 0.8;
const MAX_RESPONSE_BYTES = 1 << 20;

/** `a/b` → URL-encoded segments; refuses empty, `.` and `..` segments so a path cannot climb into another endpoint. */
function segments(what: string, p: string): string {
    const parts = p.replace(/^\/+|\/+$/g, "").split("/");
    for (const s of parts) {
        if (!s || s === "." || s === ".." || /[\u0000-\u001f]/.test(s)) throw new VaultError(`vault ${what} "${p}" is not a valid path (empty, "." or ".." segment, or control character)`);
    }
    return parts.map(encodeURIComponent).join("/");
}

interface CachedToken {
    value: string;
    renewAt: number;
}

/**
 * Minimal Vault/OpenBao KV v2 reader (the previous version of a rotated password) with token-file or Kubernetes
 * authentication. Tokens live in memory only; errors and logs carry the request path and HTTP status, never a
 * token, a JWT or a value.
 */
export class VaultKv {
    /** Counters for metrics and tests: logins performed, token-file reads. */
    readonly stats = { logins: 0, tokenFileReads: 0 };
    private readonly base: URL;
    private readonly agent: http.Agent;
    private readonly now: () => number;
    private readonly timeoutMs: number;
    private cached?: CachedToken;
    private inFlight?: Promise<CachedToken>;

    constructor(private readonly cfg: VaultConfig, opts: VaultKvOptions = {}) {
        if (!/^https?:\/\//.test(cfg.addr)) throw new VaultError(`vault address "${cfg.addr}" must start with http:// or https://; fix --vault-addr / VAULT_ADDR`);
        this.base = new URL(cfg.addr.replace(/\/+$/, ""));
        // The login posts the reconciler's ServiceAccount JWT and every reply carries a token or a password: in clear
        // text they are readable by anything on the path. Plain http is only for a Vault on this host (a dev server,
        // or an agent/proxy sidecar listening on the Pod's loopback).
        if (this.base.protocol === "http:" && !isLoopbackHost(this.base.hostname)) {
            throw new VaultError(`vault address ${this.base.origin} is plain http to a host that is not loopback: the login JWT and the passwords would cross the network in clear text. Fix: use https:// (with --vault-ca-file / VAULT_CACERT for a private CA), or a Vault Agent/proxy on 127.0.0.1`);
        }
        if (cfg.caPem && this.base.protocol !== "https:") throw new VaultError(`a Vault CA is configured but the address ${this.base.origin} is not https; use https:// or drop the CA`);
        const a = cfg.auth as Partial<VaultAuth> | undefined;
        if (a?.method === "token-file") {
            if (!a.path) throw new VaultError("vault token-file auth needs a token file path");
        } else if (a?.method === "kubernetes") {
            if (!a.role) throw new VaultError("vault kubernetes auth needs a role");
            if (!a.jwtPath) throw new VaultError("vault kubernetes auth needs the ServiceAccount token file (jwtPath)");
            segments("kubernetes auth mount", a.mount ?? "kubernetes");
        } else {
            throw new VaultError(`vault auth method must be "token-file" or "kubernetes" (no inline tokens)`);
        }
        this.now = opts.now ?? Date.now;
        this.timeoutMs = opts.timeoutMs ?? 10_000;
        this.agent = this.base.protocol === "https:" ? new https.Agent({ keepAlive: true, ...(cfg.caPem ? { ca: cfg.caPem } : {}) }) : new http.Agent({ keepAlive: true });
    }

    /** Releases pooled connections. */
    close(): void {
        this.agent.destroy();
    }

    async currentVersion(mount: string, path: string): Promise<number | undefined> {
        const r = await this.get(`/v1/${segments("mount", mount)}/metadata/${segments("path", path)}`);
        const v = r?.data?.current_version;
        return typeof v === "number" ? v : undefined;
    }

    /**
     * KV v2 metadata of a path: the current version, when it was written, and whether the version before it is still
     * readable (neither deleted nor destroyed); undefined when the path does not exist.
     */
    async versions(mount: string, path: string): Promise<{ current: number; createdAt?: number; previousReadable: boolean } | undefined> {
        const r = await this.get(`/v1/${segments("mount", mount)}/metadata/${segments("path", path)}`);
        const cur = r?.data?.current_version;
        if (typeof cur !== "number") return undefined;
        const vs = (r?.data?.versions ?? {}) as Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }>;
        const prev = vs[String(cur - 1)];
        const createdAt = Date.parse(vs[String(cur)]?.created_time ?? "");
        return { current: cur, ...(Number.isFinite(createdAt) ? { createdAt } : {}), previousReadable: prev !== undefined && !prev.destroyed && !prev.deletion_time };
    }

    /** The value of `key` at `version` (undefined when the version or key does not exist, or was deleted). */
    async readVersion(mount: string, path: string, version: number, key: string): Promise<string | undefined> {
        if (!Number.isInteger(version) || version < 1) return undefined;
        const r = await this.get(`/v1/${segments("mount", mount)}/data/${segments("path", path)}?version=${version}`);
        const v = r?.data?.data?.[key];
        return typeof v === "string" ? v : undefined;
    }

    /** GET with the current token; on 403 the token is refreshed (file re-read / new login) and the request retried once. */
    private async get(path: string): Promise<VaultBody | undefined> {
        const what = `vault GET ${path.split("?")[0]}`;
        let token = await this.token(false);
        let r = await this.send("GET", path, what, token.value);
        if (r.status === 403) {
            const fresh = await this.token(true, token);
            if (fresh.value !== token.value) {
                token = fresh;
                r = await this.send("GET", path, what, token.value);
            }
        }
        if (r.status === 404) return undefined;
        if (r.status !== 200) {
            const hint = r.status === 403 ? " (permission denied: the policy of the reconciler's Vault identity does not allow this path, or its token was revoked)" : "";
            throw new VaultError(`${what}: HTTP ${r.status}${hint}`, r.status);
        }
        return parse(r.body, what);
    }

    /** The cached token, or a new one when missing, due for renewal, or (`force`) the one that just failed. */
    private async token(force: boolean, failed?: CachedToken): Promise<CachedToken> {
        if (this.cached && !(force && this.cached === failed) && this.now() < this.cached.renewAt) return this.cached;
        this.inFlight ??= this.acquire().finally(() => (this.inFlight = undefined));
        const t = await this.inFlight;
        this.cached = t;
        return t;
    }

    private async acquire(): Promise<CachedToken> {
        const auth = this.cfg.auth;
        if (auth.method === "token-file") {
            this.stats.tokenFileReads++;
            const value = (await readSecretFile(auth.path, "Vault token file")).trim();
            if (!value) throw new VaultError(`Vault token file ${auth.path} is empty`);
            return { value, renewAt: this.now() + TOKEN_FILE_REREAD_MS };
        }
        const mount = segments("kubernetes auth mount", auth.mount ?? "kubernetes");
        const jwt = (await readSecretFile(auth.jwtPath, "ServiceAccount token file")).trim();
        if (!jwt) throw new VaultError(`ServiceAccount token file ${auth.jwtPath} is empty`);
        const path = `/v1/auth/${mount}/login`;
        const what = `vault login at auth/${mount}/login (role ${auth.role})`;
        const t0 = this.now();
        this.stats.logins++;
        const r = await this.send("POST", path, what, undefined, JSON.stringify({ role: auth.role, jwt }));
        if (r.status !== 200) {
            const hint =
                r.status === 400 || r.status === 403
                    ? " (the ServiceAccount token was refused: check the role's bound_service_account_names/namespaces and the auth method's kubernetes_host, CA and token reviewer)"
                    : "";
            throw new VaultError(`${what}: HTTP ${r.status}${hint}`, r.status);
        }
        const a = parse(r.body, what)?.auth;
        if (typeof a?.client_token !== "string" || !a.client_token) throw new VaultError(`${what}: the response has no client_token`);
        const ttl = typeof a.lease_duration === "number" && a.lease_duration > 0 ? a.lease_duration : undefined;
        return { value: a.client_token, renewAt: ttl === undefined ? Infinity : t0 + ttl * 1000 * RENEW_AT_FRACTION };
    }

    private send(method: string, path: string, what: string, token?: string, body?: string): Promise<{ status: number; body: Buffer }> {
        const u = new URL(this.base.href.replace(/\/+$/, "") + path);
        const mod = u.protocol === "https:" ? https : http;
        const headers: Record<string, string> = { Accept: "application/json", "X-Vault-Request": "true" };
        if (token) headers["X-Vault-Token"] = token;
        if (this.cfg.namespace) headers["X-Vault-Namespace"] = this.cfg.namespace;
        if (body !== undefined) {
            headers["Content-Type"] = "application/json";
            headers["Content-Length"] = String(Buffer.byteLength(body));
        }
        return new Promise((resolve, reject) => {
            const req = mod.request(u, { method, headers, agent: this.agent, timeout: this.timeoutMs }, (res) => {
                const chunks: Buffer[] = [];
                let size = 0;
                res.on("data", (c: Buffer) => {
                    size += c.length;
                    if (size > MAX_RESPONSE_BYTES) req.destroy(Object.assign(new Error("response too large"), { code: "ERESPONSETOOLARGE" }));
                    else chunks.push(c);
                });
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
                res.on("error", (e: NodeJS.ErrnoException) => reject(new VaultError(`${what}: ${e.code ?? "response error"}`)));
            });
            req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
            // Only the error code: messages of TLS/socket errors are safe today, but the code is all anyone needs.
            req.on("error", (e: NodeJS.ErrnoException) => reject(new VaultError(`${what}: ${e.code ?? "network error"}`)));
            req.end(body);
        });
    }
}

async function readSecretFile(path: string, what: string): Promise<string> {
    try {
        return await fs.readFile(path, "utf8");
    } catch (e) {
        throw new VaultError(`cannot read the ${what} ${path} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
    }
}

/**
 * The parts of Vault's JSON answers that are read (KV v2 metadata and data, a login's auth); every field is still
 * type-checked where it is used.
 */
interface VaultBody {
    data?: { current_version?: unknown; versions?: unknown; data?: Record<string, unknown> };
    auth?: { client_token?: unknown; lease_duration?: unknown };
}

function parse(body: Buffer, what: string): VaultBody {
    let v: unknown;
    try {
        v = JSON.parse(body.toString("utf8"));
    } catch {
        throw new VaultError(`${what}: unparsable response`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new VaultError(`${what}: the response is not a JSON object`);
    return v as VaultBody;
}

/** 127.0.0.0/8, ::1 and `localhost`: the only hosts plain http may reach (URL.hostname keeps IPv6 brackets). */
export function isLoopbackHost(hostname: string): boolean {
    const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
    return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
