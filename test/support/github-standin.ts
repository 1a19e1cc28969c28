import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicKey, KeyObject, randomBytes } from "node:crypto";
import { decodeJwt, jwtVerify } from "jose";

/**
 * A local stand-in for the GitHub App endpoints tokengen calls. It verifies every app JWT for real (RS256
 * signature against the App's public key, iss, iat/exp window) so a test passes only if tokengen signs what
 * GitHub would accept, and it injects programmable faults (5xx, rate limits, 401, dropped connections).
 */

export interface StandInApp {
    appId: string;
    /** The App's public key (KeyObject or PEM); the private half stays with the test. */
    publicKey: KeyObject | string;
}

export interface StandInInstallation {
    id: number;
    appId: string;
    account: { login: string; type: "Organization" | "User" };
    /** Repositories the installation covers; undefined = all of the account's. */
    repositories?: string[];
}

export interface Fault {
    /** Which requests it hits; default every request. */
    match?: (method: string, path: string) => boolean;
    /** How many matching requests it answers before it is spent. */
    times: number;
    status?: number;
    headers?: Record<string, string>;
    body?: unknown;
    /** Drop the connection instead of answering (a network error for the client). */
    network?: boolean;
}

export interface RecordedRequest {
    method: string;
    /** Path after the prefix, with query. */
    path: string;
    /** Stand-in clock when the request arrived. */
    at: number;
    status: number;
    jwt?: string;
    jwtError?: string;
    body?: unknown;
}

export interface IssuedToken {
    token: string;
    installationId: number;
    expiresAt: string;
    repositories?: string[];
    permissions?: Record<string, string>;
}

export interface StandInOptions {
    apps: StandInApp[];
    installations: StandInInstallation[];
    /** Clock used for JWT checks and token expiry; tests share a fake clock with tokengen. */
    now?: () => number;
    /** e.g. "/api/v3" to play GitHub Enterprise Server; requests outside it get 404. */
    pathPrefix?: string;
    tokenTtlSeconds?: number;
    /** Token values; default `ghs_` + random. Canary tests plant their own. */
    tokenFactory?: () => string;
}

export const STANDIN_JWT_MAX_SECONDS = 600;

export class GitHubStandIn {
    readonly requests: RecordedRequest[] = [];
    readonly issued: IssuedToken[] = [];
    private readonly faults: Fault[] = [];
    private readonly keys = new Map<string, KeyObject>();
    private server?: Server;
    private readonly now: () => number;
    private readonly prefix: string;

    constructor(private readonly opts: StandInOptions) {
        for (const a of opts.apps) this.keys.set(a.appId, typeof a.publicKey === "string" ? createPublicKey(a.publicKey) : a.publicKey);
        this.now = opts.now ?? (() => Date.now());
        this.prefix = (opts.pathPrefix ?? "").replace(/\/+$/, "");
    }

    /** Starts on 127.0.0.1 with a random port; returns the API base URL (with the prefix). */
    async start(): Promise<string> {
        const server = createServer((req, res) => {
            this.handle(req, res).catch((e) => {
                if (!res.headersSent) this.send(res, 500, { message: `stand-in bug: ${String(e)}` });
            });
        });
        this.server = server;
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return `${this.origin()}${this.prefix}`;
    }

    origin(): string {
        const a = this.server?.address() as AddressInfo | null;
        if (!a) throw new Error("stand-in not started");
        return `http://127.0.0.1:${a.port}`;
    }

    async stop(): Promise<void> {
        const s = this.server;
        if (!s) return;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
    }

    addFault(f: Fault): void {
        this.faults.push({ ...f });
    }

    /** Requests to the token endpoint, in order. */
    tokenRequests(): RecordedRequest[] {
        return this.requests.filter((r) => r.method === "POST" && /\/access_tokens$/.test(r.path));
    }

    private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const raw = Buffer.concat(chunks).toString("utf8");
        const method = req.method ?? "GET";
        const full = req.url ?? "/";
        const rec: RecordedRequest = { method, path: full, at: this.now(), status: 0 };
        this.requests.push(rec);
        if (this.prefix && !full.startsWith(`${this.prefix}/`)) return this.reply(res, rec, 404, { message: "Not Found" });
        const pathWithQuery = full.slice(this.prefix.length);
        rec.path = pathWithQuery;
        const [path, query = ""] = pathWithQuery.split("?") as [string, string?];
        try {
            rec.body = raw ? JSON.parse(raw) : undefined;
        } catch {
            return this.reply(res, rec, 400, { message: "Problems parsing JSON" });
        }

        const fault = this.faults.find((f) => f.times > 0 && (!f.match || f.match(method, path)));
        if (fault) {
            fault.times--;
            if (fault.network) {
                rec.status = -1;
                req.socket.destroy();
                return;
            }
            return this.reply(res, rec, fault.status ?? 500, fault.body ?? { message: "Server Error" }, fault.headers);
        }

        if (!req.headers["user-agent"]) return this.reply(res, rec, 403, { message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header" });
        const appId = await this.verifyJwt(req, rec);
        if (appId === undefined) return this.reply(res, rec, 401, { message: "A JSON web token could not be decoded" });
        const mine = this.opts.installations.filter((i) => i.appId === appId);

        let m: RegExpMatchArray | null;
        if (method === "GET" && path === "/app/installations") {
            const q = new URLSearchParams(query);
            const per = Math.min(Number(q.get("per_page") ?? 30), 100);
            const page = Number(q.get("page") ?? 1);
            return this.reply(res, rec, 200, mine.slice((page - 1) * per, page * per).map(view));
        }
        if (method === "GET" && (m = path.match(/^\/repos\/([^/]+)\/([^/]+)\/installation$/))) {
            const [, o, r] = m as unknown as [string, string, string];
            const i = mine.find((x) => same(x.account.login, o) && (!x.repositories || x.repositories.some((n) => same(n, r))));
            return i ? this.reply(res, rec, 200, view(i)) : this.reply(res, rec, 404, { message: "Not Found" });
        }
        if (method === "GET" && (m = path.match(/^\/(orgs|users)\/([^/]+)\/installation$/))) {
            const [, kind, o] = m as unknown as [string, string, string];
            const type = kind === "orgs" ? "Organization" : "User";
            const i = mine.find((x) => same(x.account.login, o) && x.account.type === type);
            return i ? this.reply(res, rec, 200, view(i)) : this.reply(res, rec, 404, { message: "Not Found" });
        }
        if (method === "POST" && (m = path.match(/^\/app\/installations\/(\d+)\/access_tokens$/))) {
            const id = Number(m[1]);
            const i = mine.find((x) => x.id === id);
            if (!i) return this.reply(res, rec, 404, { message: "Not Found" });
            const body = (rec.body ?? {}) as { repositories?: unknown; permissions?: unknown };
            const repos = body.repositories as string[] | undefined;
            if (repos !== undefined && (!Array.isArray(repos) || (i.repositories && repos.some((r) => !i.repositories!.some((n) => same(n, r)))))) {
                return this.reply(res, rec, 422, { message: "There is at least one repository that does not exist or is not accessible to the parent installation." });
            }
            const ttl = this.opts.tokenTtlSeconds ?? 3600;
            // GitHub answers with second precision.
            const expiresAt = new Date(Math.floor(this.now() / 1000) * 1000 + ttl * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
            const token = this.opts.tokenFactory ? this.opts.tokenFactory() : `ghs_${randomBytes(18).toString("hex")}`;
            this.issued.push({ token, installationId: id, expiresAt, repositories: repos, permissions: body.permissions as Record<string, string> | undefined });
            return this.reply(res, rec, 201, { token, expires_at: expiresAt, permissions: body.permissions ?? { contents: "read", metadata: "read" }, repository_selection: repos ? "selected" : "all" });
        }
        return this.reply(res, rec, 404, { message: "Not Found" });
    }

    /** The app id when the bearer JWT is one GitHub would accept now; records why not otherwise. */
    private async verifyJwt(req: IncomingMessage, rec: RecordedRequest): Promise<string | undefined> {
        const auth = req.headers.authorization ?? "";
        const mm = auth.match(/^Bearer (\S+)$/);
        if (!mm) {
            rec.jwtError = "no bearer token";
            return undefined;
        }
        const jwt = mm[1] as string;
        rec.jwt = jwt;
        try {
            const iss = decodeJwt(jwt).iss;
            if (typeof iss !== "string") throw new Error("iss is not a string");
            const key = this.keys.get(iss);
            if (!key) throw new Error(`no app ${iss}`);
            const nowS = Math.floor(this.now() / 1000);
            const { payload, protectedHeader } = await jwtVerify(jwt, key, { algorithms: ["RS256"], issuer: iss, currentDate: new Date(this.now()) });
            if (protectedHeader.alg !== "RS256") throw new Error("alg is not RS256");
            const { iat, exp } = payload;
            if (typeof iat !== "number" || typeof exp !== "number") throw new Error("iat/exp missing");
            if (iat > nowS + 1) throw new Error("iat in the future");
            if (exp <= nowS) throw new Error("expired");
            if (exp - iat > STANDIN_JWT_MAX_SECONDS) throw new Error("iat..exp window longer than 10 minutes");
            if (exp - nowS > STANDIN_JWT_MAX_SECONDS) throw new Error("exp more than 10 minutes ahead");
            return iss;
        } catch (e) {
            rec.jwtError = (e as Error).message;
            return undefined;
        }
    }

    private reply(res: ServerResponse, rec: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
        rec.status = status;
        this.send(res, status, body, headers);
    }

    private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
        res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
        res.end(JSON.stringify(body));
    }
}

function view(i: StandInInstallation): unknown {
    return { id: i.id, app_id: Number(i.appId) || i.appId, account: { login: i.account.login, type: i.account.type }, repository_selection: i.repositories ? "selected" : "all" };
}

function same(a: string, b: string): boolean {
    return a.toLowerCase() === b.toLowerCase();
}
