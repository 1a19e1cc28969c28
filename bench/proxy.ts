/**
 * A counting HTTP proxy on 127.0.0.1 between ONE reconciler and the apiserver: the reconciler gets a kubeconfig
 * pointing at plain http://127.0.0.1:<port> with no credentials; the proxy forwards each request over TLS with
 * the admin client certificate and counts it (method + resource, watches apart). Only that reconciler's requests
 * pass through it, so the counts are exactly its apiserver requests. Streams (watches) are piped, not buffered.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { AddressInfo } from "node:net";
import * as path from "node:path";
import { loadKubeconfigFile } from "../lib/kube";

export interface CountingProxy {
    /** A kubeconfig for the reconciler that routes through the proxy. */
    kubeconfigPath: string;
    /** Counts since the last reset, by "VERB resource" (watches as "WATCH resource"). */
    counts(): Map<string, number>;
    reset(): void;
    close(): Promise<void>;
}

/** "GET secrets", "PATCH secrets", "WATCH deployments", "POST events", ... from a request line. */
export function classify(method: string, url: string): string {
    const u = new URL(url, "http://x");
    const parts = u.pathname.split("/").filter(Boolean);
    // /api/v1/namespaces/ns/secrets/name, /apis/apps/v1/namespaces/ns/deployments/name, /api/v1/secrets
    const rest = parts[0] === "api" ? parts.slice(2) : parts.slice(3);
    const resource = rest[0] === "namespaces" && rest.length >= 3 ? rest[2] : rest[0] ?? "?";
    const verb = method === "GET" && u.searchParams.get("watch") === "true" ? "WATCH" : method;
    // The namespace-claims poll (trust/claims.ts, every 15 s whatever happens) is periodic, not caused by a rotation.
    if (verb === "GET" && resource === "namespaces" && (u.searchParams.get("labelSelector") ?? "").includes("reconciler-instance")) return "POLL namespace-claims";
    return `${verb} ${resource}`;
}

export async function startCountingProxy(upstreamKubeconfig: string, dir: string): Promise<CountingProxy> {
    const up = loadKubeconfigFile(upstreamKubeconfig);
    const upstream = new URL(up.server);
    const agent = new https.Agent({ ca: up.ca, cert: up.cert, key: up.key, keepAlive: true, maxSockets: Infinity });
    let counts = new Map<string, number>();
    const server = http.createServer((req, res) => {
        const kind = classify(req.method ?? "GET", req.url ?? "/");
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        const headers: http.OutgoingHttpHeaders = { ...req.headers, host: upstream.host };
        delete headers.connection;
        delete headers["keep-alive"];
        const out = https.request({ protocol: "https:", hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (ures) => {
            res.writeHead(ures.statusCode ?? 502, ures.headers);
            ures.pipe(res);
            ures.on("error", () => res.destroy());
        });
        out.on("error", (e) => {
            if (!res.headersSent) res.writeHead(502, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "Status", code: 502, reason: "BadGateway", message: String(e.message) }));
            else res.destroy();
        });
        // A client that goes away (watch aborted) takes the upstream request with it.
        res.on("close", () => out.destroy());
        req.pipe(out);
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const port = (server.address() as AddressInfo).port;
    const kubeconfigPath = path.join(dir, `proxy-${port}.kubeconfig`);
    fs.writeFileSync(
        kubeconfigPath,
        [
            "apiVersion: v1",
            "kind: Config",
            "clusters:",
            "- name: proxy",
            `  cluster: { server: "http://127.0.0.1:${port}" }`,
            "users:",
            "- name: proxy",
            "  user: {}",
            "contexts:",
            "- name: proxy",
            "  context: { cluster: proxy, user: proxy }",
            "current-context: proxy",
            "",
        ].join("\n"),
        { mode: 0o600 },
    );
    return {
        kubeconfigPath,
        counts: () => new Map(counts),
        reset: () => {
            counts = new Map();
        },
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
                agent.destroy();
                fs.rmSync(kubeconfigPath, { force: true });
            }),
    };
}

/**
 * Total of the counts that a rotation causes: not watches (one re-established on its server timeout) and not the
 * periodic claims poll, which are listed apart in the breakdown.
 */
export function requestTotal(counts: Map<string, number>): number {
    let n = 0;
    for (const [k, v] of counts) if (!k.startsWith("WATCH ") && !k.startsWith("POLL ")) n += v;
    return n;
}

export function describeCounts(counts: Map<string, number>): string {
    return [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
}
