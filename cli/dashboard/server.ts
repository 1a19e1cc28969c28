import { randomBytes, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeClient } from "../../lib/kube";
import { collect, Scope } from "../collect";
import { AccessError, describeError, parseRef, RefError } from "../kube";
import { buildGraph, buildStatus, StatusReport } from "../model";
import { NotPermittedError, requestSync, SyncResult } from "../sync";
import type { VaultKv } from "../../reconciler/api";
import { collectRotation } from "../rotation-collect";
import { renderPage } from "./page";
import { renderGraphSvg } from "./svg";

/**
 * `platform-secrets dashboard`: node:http on 127.0.0.1 only, acting with the USER's kubeconfig (never the
 * reconciler's identity). What reaches the page is the StatusReport (names, states, reconciler messages, times)
 * and the graph SVG; Secrets are slimmed to our annotations at the kube boundary, so no value can reach it.
 *
 * Browser-side attacks on a local server: the Host header must be our loopback address (DNS rebinding), a sync
 * is a POST with a JSON body and a custom header (a cross-site form or simple request cannot send it; we answer
 * no CORS preflight), and a present Origin must be ours.
 *
 * Other local users (a shared jump host): 127.0.0.1 is open to every account on the machine, and the dashboard
 * acts with THIS user's credentials. So, as notebook servers do, every request needs a per-session secret: the URL
 * the dashboard prints carries it once (`/?token=...`), the page trades it for an HttpOnly SameSite=Strict cookie
 * and drops it from the address bar; scripts may send it as `X-Dashboard-Token`. A sync is limited to the
 * dashboard's namespace scope and to what its status view shows (derived secrets, fan-out targets, their
 * sources), never an arbitrary Secret, and only MAX_CONCURRENT_SYNCS waits run at once.
 */

export interface DashboardOptions {
    client: KubeClient;
    scope: Scope;
    /** 0 = any free port. */
    port: number;
    refreshMs: number;
    context: string;
    syncTimeoutMs?: number;
    /** The rotation panel's Vault access (the user's own token file) or why there is none; see `rotation`. */
    vault?: VaultKv;
    vaultUnavailable?: string;
    vaultMount?: string;
    reconcilerNamespace?: string;
}

export interface Dashboard {
    /** The URL to open: it carries the session token (print it only to the user who started the dashboard). */
    url: string;
    port: number;
    close(): Promise<void>;
}

export interface StatusPayload {
    context: string;
    scope: string;
    report: StatusReport;
    graphSvg: string;
}

const SYNC_HEADER = "x-requested-by";
const TOKEN_HEADER = "x-dashboard-token";
const COOKIE = "ps-dashboard-session";
/** Each sync polls the apiserver until acknowledged (up to syncTimeoutMs): a bound on what one page can start. */
export const MAX_CONCURRENT_SYNCS = 4;
/** A rotation view reads Vault and several lists: at most this many at once. */
export const MAX_CONCURRENT_ROTATIONS = 2;

/** Constant-time comparison of a presented token with the session's (pure). */
export function tokenMatches(presented: string | undefined, token: string): boolean {
    if (!presented) return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
}

/** The session cookie's value from a Cookie header, if any (pure). */
export function sessionCookie(header: string | undefined): string | undefined {
    for (const part of (header ?? "").split(";")) {
        const i = part.indexOf("=");
        if (i > 0 && part.slice(0, i).trim() === COOKIE) return part.slice(i + 1).trim();
    }
    return undefined;
}

/**
 * Whether the dashboard may request a sync of `target` (pure): inside its namespace scope, and one of the objects
 * its status view lists (a derived secret, a fan-out target or their source). Returns the refusal, or undefined.
 */
export function syncRefusal(target: { namespace: string; name: string }, scope: Scope, report: StatusReport | undefined): string | undefined {
    const ref = `${target.namespace}/${target.name}`;
    if (scope.kind !== "all" && target.namespace !== scope.namespace) return `${ref} is outside this dashboard's scope (namespace ${scope.namespace}); start a dashboard for that namespace`;
    const known = report?.groups.some((g) => g.source === ref || g.rows.some((r) => r.target === ref));
    if (!known) return `${ref} is not a derived secret, fan-out target or source shown by this dashboard; only those can be synced`;
    return undefined;
}
const SYNC_HEADER_VALUE = "platform-secrets-dashboard";

function send(res: http.ServerResponse, code: number, body: string, type: string, extra: Record<string, string> = {}): void {
    res.writeHead(code, {
        "Content-Type": type,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        ...extra,
    });
    res.end(body);
}

const json = (res: http.ServerResponse, code: number, v: unknown) => send(res, code, JSON.stringify(v), "application/json; charset=utf-8");

function readBody(req: http.IncomingMessage, limit = 4096): Promise<string> {
    return new Promise((resolve, reject) => {
        let size = 0;
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > limit) {
                reject(new Error("request body too large"));
                req.destroy();
            } else chunks.push(c);
        });
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

/** What the API routes share: the options, the cached status read, the allowed Hosts, the in-flight counts. */
interface RouteContext {
    o: DashboardOptions;
    status: () => Promise<StatusPayload>;
    allowedHosts: () => string[];
    running: { syncs: number; rotations: number };
}

/** GET /api/rotation?source=ns/name: the rotation view, limited like a sync (scope, shown sources, concurrency). */
async function rotationRoute(c: RouteContext, url: URL, res: http.ServerResponse): Promise<void> {
    // Read-only, yet limited like a sync: a source this dashboard shows, inside its scope.
    let ref: { namespace: string; name: string };
    try {
        ref = parseRef(url.searchParams.get("source") ?? undefined, "source");
    } catch (e) {
        return json(res, 400, { error: e instanceof RefError ? e.message : "expected ?source=ns/name" });
    }
    try {
        const refused = syncRefusal(ref, c.o.scope, (await c.status()).report);
        if (refused) return json(res, 403, { error: refused.replace("can be synced", "have a rotation view") });
    } catch (e) {
        return json(res, 502, { error: describeError(e, "reading the cluster") });
    }
    if (c.running.rotations >= MAX_CONCURRENT_ROTATIONS) return json(res, 429, { error: `${MAX_CONCURRENT_ROTATIONS} rotation views are already being read; retry when one finishes` });
    c.running.rotations++;
    try {
        const report = await collectRotation(c.o.client, ref, {
            ...(c.o.vault ? { vault: c.o.vault } : {}),
            vaultUnavailable: c.o.vaultUnavailable ?? "no Vault access",
            vaultMount: c.o.vaultMount ?? "secret",
            reconcilerNamespace: c.o.reconcilerNamespace ?? "platform-secrets",
            allNamespaces: c.o.scope.kind === "all",
        });
        return json(res, 200, report);
    } catch (e) {
        if (e instanceof AccessError) return json(res, 404, { error: e.message });
        return json(res, 502, { error: describeError(e, `rotation view of ${ref.namespace}/${ref.name}`) });
    } finally {
        c.running.rotations--;
    }
}

/** POST /api/sync {"target": "ns/name"}: a resync request with the user's credentials, limited to what the page shows. */
async function syncRoute(c: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== "POST") return json(res, 405, { error: "use POST" });
    const origin = req.headers.origin;
    if (origin !== undefined && !c.allowedHosts().some((h) => origin === `http://${h}`)) return json(res, 403, { error: "cross-origin request refused" });
    if (req.headers[SYNC_HEADER] !== SYNC_HEADER_VALUE || !(req.headers["content-type"] ?? "").startsWith("application/json")) return json(res, 403, { error: "missing dashboard request header" });
    let target: { namespace: string; name: string };
    try {
        target = parseRef(JSON.parse(await readBody(req)).target);
    } catch (e) {
        return json(res, 400, { error: e instanceof RefError ? e.message : "expected a JSON body {\"target\":\"ns/name\"}" });
    }
    try {
        const refused = syncRefusal(target, c.o.scope, (await c.status()).report);
        if (refused) return json(res, 403, { error: refused });
    } catch (e) {
        return json(res, 502, { error: describeError(e, "reading the cluster") });
    }
    if (c.running.syncs >= MAX_CONCURRENT_SYNCS) return json(res, 429, { error: `${MAX_CONCURRENT_SYNCS} syncs are already waiting; retry when one finishes` });
    c.running.syncs++;
    try {
        const r: SyncResult = await requestSync(c.o.client, target.namespace, target.name, { timeoutMs: c.o.syncTimeoutMs ?? 20_000 });
        return json(res, 200, r);
    } catch (e) {
        if (e instanceof NotPermittedError) return json(res, 403, { error: e.message });
        if (e instanceof AccessError) return json(res, 404, { error: e.message });
        return json(res, 502, { error: describeError(e, `sync of ${target.namespace}/${target.name}`) });
    } finally {
        c.running.syncs--;
    }
}

/** The status read (collect, StatusReport, graph SVG) as a function whose concurrent calls share one read. */
function sharedStatusReader(o: DashboardOptions, scopeText: string): () => Promise<StatusPayload> {
    // Concurrent refreshes (several tabs) share one read of the cluster.
    let inflight: Promise<StatusPayload> | undefined;
    return (): Promise<StatusPayload> =>
        (inflight ??= (async () => {
            try {
                const view = await collect(o.client, o.scope, { workloads: true });
                const report = buildStatus(view, Date.now());
                return { context: o.context, scope: scopeText, report, graphSvg: renderGraphSvg(buildGraph(report, view.workloads)) };
            } finally {
                inflight = undefined;
            }
        })());
}

/** Starts `server` on 127.0.0.1:`port` (0 = any free port); a port in use becomes an AccessError naming --port. */
function listenOnLoopback(server: http.Server, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
        server.once("error", (e: NodeJS.ErrnoException) => reject(e.code === "EADDRINUSE" ? new AccessError(`port ${port} on 127.0.0.1 is in use; pass --port`) : e));
        server.listen(port, "127.0.0.1", () => resolve());
    });
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
    let port = o.port;
    const token = randomBytes(32).toString("base64url");
    const allowedHosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];
    const scopeText = o.scope.kind === "all" ? "all namespaces" : `namespace ${o.scope.namespace}`;
    const status = sharedStatusReader(o, scopeText);

    const ctx: RouteContext = { o, status, allowedHosts, running: { syncs: 0, rotations: 0 } };
    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (!allowedHosts().includes(req.headers.host ?? "")) return send(res, 421, "wrong Host: open the dashboard at http://127.0.0.1:" + port + "/", "text/plain; charset=utf-8");
        const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
        if (req.method === "GET" && url.pathname === "/" && url.searchParams.has("token")) {
            if (!tokenMatches(url.searchParams.get("token") ?? undefined, token)) return send(res, 403, "wrong session token: open the URL the dashboard printed", "text/plain; charset=utf-8");
            return send(res, 303, "", "text/plain; charset=utf-8", { Location: "/", "Set-Cookie": `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` });
        }
        const header = req.headers[TOKEN_HEADER];
        if (!tokenMatches(typeof header === "string" ? header : sessionCookie(req.headers.cookie), token)) {
            return send(res, 401, "this dashboard needs its session token: open the URL it printed when it started (…/?token=…)", "text/plain; charset=utf-8");
        }
        if (req.method === "GET" && url.pathname === "/") {
            const nonce = randomBytes(16).toString("base64");
            return send(res, 200, renderPage({ nonce, refreshMs: o.refreshMs, context: o.context, scope: scopeText }), "text/html; charset=utf-8", {
                "Content-Security-Policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
            });
        }
        if (req.method === "GET" && url.pathname === "/api/status") {
            try {
                return json(res, 200, await status());
            } catch (e) {
                return json(res, 502, { error: describeError(e, "reading the cluster") });
            }
        }
        if (req.method === "GET" && url.pathname === "/api/rotation") return rotationRoute(ctx, url, res);
        if (url.pathname === "/api/sync") return syncRoute(ctx, req, res);
        return send(res, 404, "not found", "text/plain; charset=utf-8");
    };

    const server = http.createServer((req, res) => {
        handle(req, res).catch((e) => {
            if (!res.headersSent) json(res, 500, { error: `dashboard error: ${String((e as Error)?.message ?? e)}` });
        });
    });
    await listenOnLoopback(server, o.port);
    port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}/?token=${token}`,
        port,
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}
