import * as https from "node:https";
import { JSONParser } from "@streamparser/json";
import * as fs from "node:fs";
import * as http from "node:http";
import { ClientConfig } from "./kubeconfig";
import { ExecCredential, runExecPlugin } from "./exec";

/** An apiserver error: HTTP code plus the Status reason ("Conflict", "NotFound", "Gone", ...). Never a body value. */
export class KubeApiError extends Error {
    constructor(
        readonly code: number,
        readonly reason: string,
        message: string,
        readonly object?: string,
        /** The apiserver's own message, trimmed; and for 400/422 the names of the fields it refused (details.causes). */
        readonly statusMessage = "",
        readonly causes: readonly string[] = [],
    ) {
        super(message);
        this.name = "KubeApiError";
    }
}

export function isKubeError(e: unknown, code?: number): e is KubeApiError {
    return e instanceof KubeApiError && (code === undefined || e.code === code);
}

/** One line of a watch stream: `object` is whatever the apiserver sent, validated by whoever reads it. */
export interface WatchEvent {
    type?: unknown;
    object?: unknown;
}

export interface RequestOptions {
    query?: Record<string, string | number | boolean | undefined>;
    body?: unknown;
    contentType?: string;
    /** Accept header; default application/json (the CLI asks for PartialObjectMetadataList: no Secret data on the wire). */
    accept?: string;
    /** "ns/name" for error messages. */
    object?: string;
}

export interface WatchHandle {
    /** Resolves when the stream ends (server close, abort or error); rejects with KubeApiError on non-200. */
    done: Promise<void>;
    abort(): void;
}

/** A list's own metadata: where the next page starts, and the resourceVersion to watch from. */
export interface ListMeta {
    continue?: string;
    resourceVersion?: string;
}

/** A streaming parser of a list body: each item to `onItem` as it completes, the list's metadata to `onMeta`. */
function listStream(onItem: (item: unknown) => void, onMeta: (m: ListMeta) => void, onError: (e: unknown) => void): JSONParser {
    const p = new JSONParser({ paths: ["$.metadata", "$.items.*"], keepStack: false });
    p.onValue = ({ value, key }) => {
        if (typeof key === "number") onItem(value);
        else onMeta((value ?? {}) as ListMeta);
    };
    p.onError = onError;
    return p;
}

/**
 * A small JSON REST client on node:https with keep-alive. client-node 1.4.0's generated API classes are avoided
 * on the hot path: they re-create TLS agents per call and their Watch cannot be supervised (#364/#958).
 */
export class KubeClient {
    private agent: https.Agent | http.Agent;
    private headers: Record<string, string> = {};
    private headersAt = 0;
    private readonly server: URL;
    private tlsOpts: https.AgentOptions;
    /**
     * Sent as `fieldManager` with every create, update and patch that does not name one: the managedFields of what this
     * client writes then say who wrote it (GitOps tools show it; a workload's rollout annotation names the reconciler).
     */
    fieldManager?: string;

    private constructor(private readonly cfg: ClientConfig) {
        this.server = new URL(cfg.server);
        this.tlsOpts = { ca: cfg.ca, cert: cfg.cert, key: cfg.key, rejectUnauthorized: cfg.insecureSkipTlsVerify ? false : undefined, servername: cfg.servername };
        const common = { keepAlive: true, maxSockets: 64, keepAliveMsecs: 30_000 };
        this.agent = this.server.protocol === "https:" ? new https.Agent({ ...this.tlsOpts, ...common }) : new http.Agent(common);
        this.refreshHeaders();
    }

    /** From our own loader (lib/kube/kubeconfig.ts): what the process uses, without client-node's RSS cost. */
    static fromConfig(cfg: ClientConfig): KubeClient {
        return new KubeClient(cfg);
    }

    /** Token files (in-cluster, projected SA tokens) rotate; re-read them at most once a minute. */
    private refreshHeaders(): void {
        const h: Record<string, string> = {};
        let token = this.cfg.token;
        if (this.cfg.tokenFile) {
            try {
                token = fs.readFileSync(this.cfg.tokenFile, "utf8").trim();
            } catch {
                throw new Error(`cannot read token file ${this.cfg.tokenFile}; check the service-account token mount`);
            }
        }
        if (token) h.Authorization = `Bearer ${token}`;
        else if (this.cfg.basicAuth) h.Authorization = `Basic ${Buffer.from(`${this.cfg.basicAuth.username}:${this.cfg.basicAuth.password}`).toString("base64")}`;
        this.headers = h;
        this.headersAt = Date.now();
    }

    private execCred?: ExecCredential;
    private execRun?: Promise<ExecCredential>;

    private async authHeaders(): Promise<Record<string, string>> {
        if (this.cfg.exec) return this.execHeaders();
        if (this.cfg.tokenFile && Date.now() - this.headersAt > 60_000) this.refreshHeaders();
        return this.headers;
    }

    /** An exec plugin's credential, run once for concurrent callers and again 30 s before it expires. */
    private async execHeaders(): Promise<Record<string, string>> {
        const fresh = (c: ExecCredential | undefined) => c !== undefined && (c.expiresAt === undefined || c.expiresAt - 30_000 > Date.now());
        if (!fresh(this.execCred)) {
            this.execRun ??= runExecPlugin(this.cfg.exec!).finally(() => (this.execRun = undefined));
            const cred = await this.execRun;
            if (cred.cert && (cred.cert !== this.execCred?.cert || cred.key !== this.execCred?.key) && this.server.protocol === "https:") {
                // A client certificate from the plugin: new connections present it.
                this.tlsOpts = { ...this.tlsOpts, cert: cred.cert, key: cred.key };
                this.agent.destroy();
                this.agent = new https.Agent({ ...this.tlsOpts, keepAlive: true, maxSockets: 64, keepAliveMsecs: 30_000 });
            }
            this.execCred = cred;
        }
        return this.execCred?.token ? { Authorization: `Bearer ${this.execCred.token}` } : {};
    }

    /** A 401 means the plugin's credential was revoked or expired early: the next request runs the plugin again. */
    private rejected(code: number): void {
        if (code === 401) this.execCred = undefined;
    }

    private url(path: string, query?: RequestOptions["query"]): URL {
        const u = new URL(this.server.toString().replace(/\/$/, "") + path);
        for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
        return u;
    }

    async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
        const headers = { ...(await this.authHeaders()), Accept: opts.accept ?? "application/json" } as Record<string, string>;
        let payload: Buffer | undefined;
        if (opts.body !== undefined) {
            payload = Buffer.from(JSON.stringify(opts.body));
            headers["Content-Type"] = opts.contentType ?? "application/json";
            headers["Content-Length"] = String(payload.length);
        }
        const mutating = method === "POST" || method === "PUT" || method === "PATCH";
        const u = this.url(path, mutating && this.fieldManager && opts.query?.fieldManager === undefined ? { ...opts.query, fieldManager: this.fieldManager } : opts.query);
        const mod = u.protocol === "https:" ? https : http;
        return new Promise<T>((resolve, reject) => {
            const req = mod.request(u, { method, headers, agent: this.agent, timeout: 60_000 }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("error", reject);
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    const code = res.statusCode ?? 0;
                    if (code >= 200 && code < 300) {
                        try {
                            resolve((text ? JSON.parse(text) : {}) as T);
                        } catch (e) {
                            reject(new KubeApiError(code, "BadResponse", `${method} ${path}: unparsable response`, opts.object));
                        }
                        return;
                    }
                    this.rejected(code);
                    reject(statusError(code, text, method, path, opts.object));
                });
            });
            req.on("timeout", () => req.destroy(new Error(`${method} ${path}: request timed out`)));
            req.on("error", reject);
            if (payload) req.write(payload);
            req.end();
        });
    }

    /**
     * One page of a list, each item handed to `onItem` as it is parsed. Why not `request`: a page is `limit` items of
     * whatever size tenants gave them (500 Secrets of ~1 MiB is 500 MB), and holding it whole, as raw chunks, joined
     * text and parsed objects, OOM-kills the reconciler on every relist (issue 21). A page up to `bufferBytes` (default
     * 4 MiB, nearly every page) is parsed at once with JSON.parse (fast); past that the rest is parsed as it arrives,
     * item by item (@streamparser/json, ~5x slower per byte), so memory is one item plus what `onItem` keeps.
     */
    async list(path: string, query: RequestOptions["query"], onItem: (item: unknown) => void, o: { bufferBytes?: number } = {}): Promise<ListMeta> {
        const headers = { ...(await this.authHeaders()), Accept: "application/json" };
        const u = this.url(path, query);
        const mod = u.protocol === "https:" ? https : http;
        const limit = o.bufferBytes ?? 4 * 1024 * 1024;
        return new Promise((resolve, reject) => {
            const req = mod.request(u, { method: "GET", headers, agent: this.agent, timeout: 60_000 }, (res) => {
                const code = res.statusCode ?? 0;
                let chunks: Buffer[] = [];
                let bytes = 0;
                let parser: JSONParser | undefined;
                let meta: ListMeta = {};
                let failed: Error | undefined;
                // Not the parser's message: JSON.parse quotes a stretch of the body, which is Secret data.
                const bad = (_e: unknown): KubeApiError => new KubeApiError(code, "BadResponse", `LIST ${path}: unparsable response`);
                const stream = (): JSONParser => listStream(onItem, (m) => (meta = m), (e) => (failed ??= bad(e)));
                res.on("data", (c: Buffer) => {
                    if (failed) return;
                    if (parser) return void parser.write(c);
                    chunks.push(c);
                    bytes += c.length;
                    if (code >= 200 && code < 300 && bytes > limit) {
                        parser = stream();
                        for (const b of chunks) parser.write(b);
                        chunks = [];
                    }
                });
                res.on("error", reject);
                res.on("end", () => {
                    if (code < 200 || code >= 300) {
                        this.rejected(code);
                        return reject(statusError(code, Buffer.concat(chunks).toString("utf8"), "LIST", path));
                    }
                    if (failed) return reject(failed);
                    if (parser) {
                        if (!parser.isEnded) parser.end();
                        return failed ? reject(failed) : resolve(meta);
                    }
                    let page: { metadata?: typeof meta; items?: unknown[] };
                    try {
                        page = JSON.parse(Buffer.concat(chunks).toString("utf8"));
                    } catch (e) {
                        return reject(bad(e));
                    }
                    chunks = [];
                    for (const it of page.items ?? []) onItem(it);
                    resolve(page.metadata ?? {});
                });
            });
            req.on("timeout", () => req.destroy(new Error(`LIST ${path}: request timed out`)));
            req.on("error", reject);
            req.end();
        });
    }

    /** Opens a watch stream and calls `onEvent` per JSON line; `onActivity` fires on every chunk (stall detection). */
    async watch(path: string, query: RequestOptions["query"], onEvent: (ev: WatchEvent) => void, onActivity: () => void): Promise<WatchHandle> {
        const headers = { ...(await this.authHeaders()), Accept: "application/json" };
        const u = this.url(path, { ...query, watch: "true" });
        const mod = u.protocol === "https:" ? https : http;
        let req: http.ClientRequest | undefined;
        let aborted = false;
        const done = new Promise<void>((resolve, reject) => {
            // No keep-alive agent: a watch holds its socket for minutes, and destroying it must not poison the pool.
            req = mod.request(u, { method: "GET", headers, agent: false, ...(u.protocol === "https:" ? this.tlsOnly() : {}) }, (res) => {
                const code = res.statusCode ?? 0;
                if (code !== 200) {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => {
                        this.rejected(code);
                        reject(statusError(code, Buffer.concat(chunks).toString("utf8"), "WATCH", path));
                    });
                    res.on("error", reject);
                    return;
                }
                let buf = "";
                res.setEncoding("utf8");
                res.on("data", (chunk: string) => {
                    onActivity();
                    buf += chunk;
                    let i: number;
                    while ((i = buf.indexOf("\n")) >= 0) {
                        const line = buf.slice(0, i);
                        buf = buf.slice(i + 1);
                        if (!line.trim()) continue;
                        let ev: unknown;
                        try {
                            ev = JSON.parse(line);
                        } catch {
                            continue;
                        }
                        // A line that is not a JSON object is no event (the type and object are checked by the caller).
                        if (typeof ev === "object" && ev !== null && !Array.isArray(ev)) onEvent(ev as WatchEvent);
                    }
                });
                res.on("end", () => resolve());
                res.on("close", () => resolve());
                res.on("error", (e) => (aborted ? resolve() : reject(e)));
            });
            req.on("error", (e) => (aborted ? resolve() : reject(e)));
            req.end();
        });
        return {
            done,
            abort: () => {
                aborted = true;
                req?.destroy();
            },
        };
    }

    private tlsOnly(): https.RequestOptions {
        return { ca: this.tlsOpts.ca, cert: this.tlsOpts.cert, key: this.tlsOpts.key, rejectUnauthorized: this.tlsOpts.rejectUnauthorized, servername: this.tlsOpts.servername };
    }

    close(): void {
        this.agent.destroy();
    }
}

function statusError(code: number, text: string, method: string, path: string, object?: string): KubeApiError {
    let reason = "Unknown";
    let message = "";
    let causes: string[] = [];
    try {
        const s = JSON.parse(text);
        reason = s.reason ?? reason;
        // Status messages of the apiserver name objects and fields, not secret values.
        message = typeof s.message === "string" ? s.message.slice(0, 300) : "";
        causes = Array.isArray(s.details?.causes) ? s.details.causes.map((c: { field?: unknown }) => (typeof c?.field === "string" ? c.field : "")).filter(Boolean) : [];
    } catch {
        /* non-JSON body: keep only the code */
    }
    return new KubeApiError(code, reason, `${method} ${path}${object ? ` (${object})` : ""}: ${code} ${reason}${message ? `: ${message}` : ""}`, object, message, causes);
}
