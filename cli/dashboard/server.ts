import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeClient } from "../../reconciler/kube";
import { collect, Scope } from "../collect";
import { AccessError, describeError, parseRef, RefError } from "../kube";
import { buildGraph, buildStatus, StatusReport } from "../model";
import { NotPermittedError, requestSync, SyncResult } from "../sync";
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
 */

export interface DashboardOptions {
    client: KubeClient;
    scope: Scope;
    /** 0 = any free port. */
    port: number;
    refreshMs: number;
    context: string;
    syncTimeoutMs?: number;
}

export interface Dashboard {
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

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
    let port = o.port;
    const allowedHosts = () => [`127.0.0.1:${port}`, `localhost:${port}`];
    const scopeText = o.scope.kind === "all" ? "all namespaces" : `namespace ${o.scope.namespace}`;
    // Concurrent refreshes (several tabs) share one read of the cluster.
    let inflight: Promise<StatusPayload> | undefined;
    const status = (): Promise<StatusPayload> =>
        (inflight ??= (async () => {
            try {
                const view = await collect(o.client, o.scope, { workloads: true });
                const report = buildStatus(view, Date.now());
                return { context: o.context, scope: scopeText, report, graphSvg: renderGraphSvg(buildGraph(report, view.workloads)) };
            } finally {
                inflight = undefined;
            }
        })());

    const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (!allowedHosts().includes(req.headers.host ?? "")) return send(res, 421, "wrong Host: open the dashboard at http://127.0.0.1:" + port + "/", "text/plain; charset=utf-8");
        const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
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
        if (url.pathname === "/api/sync") {
            if (req.method !== "POST") return json(res, 405, { error: "use POST" });
            const origin = req.headers.origin;
            if (origin !== undefined && !allowedHosts().some((h) => origin === `http://${h}`)) return json(res, 403, { error: "cross-origin request refused" });
            if (req.headers[SYNC_HEADER] !== SYNC_HEADER_VALUE || !(req.headers["content-type"] ?? "").startsWith("application/json")) return json(res, 403, { error: "missing dashboard request header" });
            let target: { namespace: string; name: string };
            try {
                target = parseRef(JSON.parse(await readBody(req)).target);
            } catch (e) {
                return json(res, 400, { error: e instanceof RefError ? e.message : "expected a JSON body {\"target\":\"ns/name\"}" });
            }
            try {
                const r: SyncResult = await requestSync(o.client, target.namespace, target.name, { timeoutMs: o.syncTimeoutMs ?? 20_000 });
                return json(res, 200, r);
            } catch (e) {
                if (e instanceof NotPermittedError) return json(res, 403, { error: e.message });
                if (e instanceof AccessError) return json(res, 404, { error: e.message });
                return json(res, 502, { error: describeError(e, `sync of ${target.namespace}/${target.name}`) });
            }
        }
        return send(res, 404, "not found", "text/plain; charset=utf-8");
    };

    const server = http.createServer((req, res) => {
        handle(req, res).catch((e) => {
            if (!res.headersSent) json(res, 500, { error: `dashboard error: ${String((e as Error)?.message ?? e)}` });
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", (e: NodeJS.ErrnoException) => reject(e.code === "EADDRINUSE" ? new AccessError(`port ${o.port} on 127.0.0.1 is in use; pass --port`) : e));
        server.listen(o.port, "127.0.0.1", () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}/`,
        port,
        close: () =>
            new Promise<void>((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            }),
    };
}
