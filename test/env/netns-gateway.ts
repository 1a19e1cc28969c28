/**
 * The node network namespace's gateway (node-net.ts), run INSIDE that namespace (`nsenter --net=...`). The network
 * rule of this workplace allows loopback and addresses inside namespaces the environment creates, never the host's
 * interfaces, so nothing connects the namespace to the host by IP: the two sides meet on unix sockets (path
 * sockets live in the filesystem, not in a network namespace).
 * - `listen`: TCP listeners inside the namespace (e.g. the `kubernetes` Service's ClusterIP:443), each piped to a
 *   unix socket whose host-side end (node-net.ts) connects to a loopback port of the host (the apiserver).
 * - `connect`: an HTTP CONNECT proxy on a unix socket that dials inside the namespace; the apiserver's egress
 *   selector ("cluster") uses it to reach the kubelet (logs, exec). Only `allow` prefixes are dialled.
 * - `control`: an HTTP server on a unix socket; `POST /listen` with a `listen` entry adds one more listener later
 *   (TestNode.exposeHostPort: a host service started after the node).
 * Prints "ready" on stdout once every socket listens. Argument: one JSON GatewayConfig.
 */
import * as http from "node:http";
import * as net from "node:net";

export interface GatewayConfig {
    listen: { host: string; port: number; unix: string }[];
    connect?: { unix: string; allow: string[] };
    control?: string;
}

type Listen = GatewayConfig["listen"][number];

function pipeBoth(a: net.Socket, b: net.Socket): void {
    a.on("error", () => b.destroy());
    b.on("error", () => a.destroy());
    a.pipe(b);
    b.pipe(a);
}

function listen(server: net.Server, where: net.ListenOptions): Promise<void> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(where, () => resolve());
    });
}

export async function runGateway(cfg: GatewayConfig): Promise<void> {
    const addListener = (l: Listen): Promise<void> => listen(net.createServer((c) => pipeBoth(c, net.connect({ path: l.unix }))), { host: l.host, port: l.port });
    const waits: Promise<void>[] = cfg.listen.map(addListener);
    if (cfg.control) {
        const control = http.createServer((req, res) => {
            let body = "";
            req.on("data", (d: Buffer) => (body += d.toString()));
            req.on("end", () => {
                if (req.method !== "POST" || req.url !== "/listen") return void res.writeHead(404).end();
                let l: Listen;
                try {
                    l = JSON.parse(body) as Listen;
                } catch {
                    return void res.writeHead(400).end("body is not JSON\n");
                }
                addListener(l).then(
                    () => res.writeHead(200).end(),
                    (e: unknown) => res.writeHead(500).end(`listen ${l.host}:${l.port}: ${e instanceof Error ? e.message : String(e)}\n`),
                );
            });
        });
        waits.push(listen(control, { path: cfg.control }));
    }
    if (cfg.connect) {
        const { unix, allow } = cfg.connect;
        const proxy = http.createServer((_req, res) => {
            res.writeHead(405).end("CONNECT only\n");
        });
        proxy.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
            const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? "");
            // An entry ending in "." is a prefix (a /24), any other one an exact address.
            if (!m || !allow.some((p) => (p.endsWith(".") ? m[1]!.startsWith(p) : m[1] === p))) {
                client.end(`HTTP/1.1 403 Forbidden\r\n\r\n${req.url} is not inside the node network namespace\n`);
                return;
            }
            const upstream = net.connect({ host: m[1]!, port: Number(m[2]) }, () => {
                client.write("HTTP/1.1 200 Connection established\r\n\r\n");
                if (head.length) upstream.write(head);
                pipeBoth(client, upstream);
            });
            upstream.once("error", (e) => client.end(`HTTP/1.1 502 Bad Gateway\r\n\r\n${e.message}\n`));
        });
        waits.push(listen(proxy, { path: unix }));
    }
    await Promise.all(waits);
    process.stdout.write("ready\n");
}

if (require.main === module) {
    const cfg = JSON.parse(process.argv[2] ?? "{}") as GatewayConfig;
    runGateway(cfg).catch((e: unknown) => {
        process.stderr.write(`netns-gateway: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    });
    // The parent stops it with SIGTERM; no open handle may keep it alive afterwards.
    process.on("SIGTERM", () => process.exit(0));
}
