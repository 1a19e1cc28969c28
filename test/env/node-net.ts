import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs, rmSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { GatewayConfig } from "./netns-gateway";
import { NETNS_FILE } from "./node-runtime";
import { KUBERNETES_SERVICE_IP } from "./pki";
import { ManagedProcess } from "./process";
import { Relays } from "./relay";

/**
 * The test node's network: one network namespace the environment creates and removes, holding everything with an
 * IP address (the workplace rule forbids any address of the host's interfaces):
 * - the node's own address NODE_IP and the `kubernetes` Service's ClusterIP, both on the namespace's loopback;
 * - the Pod bridge and Pod subnet POD_SUBNET (CNI bridge plugin, run by containerd inside the namespace);
 * - containerd and the kubelet themselves (started with `nsenter --net`, which, unlike `ip netns exec`, keeps the
 *   host's /sys and so the cgroup mounts runc needs).
 * The apiserver stays on the host's loopback. The gateway (netns-gateway.ts) joins the two sides over unix sockets:
 * ClusterIP:443 inside → the apiserver's loopback port, and a CONNECT proxy the apiserver's egress selector uses to
 * reach the kubelet at NODE_IP. No kube-proxy: the `kubernetes` Service is the only Service Pods can reach.
 */
export const NODE_IP = "10.244.255.1";
export const POD_SUBNET = "10.244.0.0/24";
export const POD_GATEWAY = "10.244.0.1";

export interface NodeNetwork {
    netns: string;
    /** Prefix that runs a command inside the namespace: [...nsenterArgs, cmd, ...args] with cmd "nsenter". */
    nsenterArgs: string[];
    gateway: ManagedProcess;
    /**
     * Makes a service on the host's loopback (127.0.0.1:`port`) reachable from Pods at NODE_IP:`port`, through
     * the gateway (nothing on the host's interfaces). For Vault, PostgreSQL or a stand-in that Pods must call.
     */
    exposeHostPort(port: number): Promise<{ host: string; port: number }>;
    /** Removes the namespace (the Pod bridge and veths go with it) and stops the gateway and the forwarders. */
    stop(): Promise<void>;
    /** Synchronous last resort for process-exit hooks. */
    removeNow(): void;
}

/** Paths fixed before the apiserver starts: its egress selector names the CONNECT socket. */
export function nodeNetPaths(dir: string): { connectSocket: string; apiSocket: string; controlSocket: string } {
    return { connectSocket: path.join(dir, "kubelet-connect.sock"), apiSocket: path.join(dir, "apiserver.sock"), controlSocket: path.join(dir, "gateway-control.sock") };
}

/** The apiserver's EgressSelectorConfiguration: "cluster" traffic (kubelet, Pod proxy) through the gateway. */
export function egressSelectorConfig(connectSocket: string): string {
    return JSON.stringify({
        apiVersion: "apiserver.k8s.io/v1beta1",
        kind: "EgressSelectorConfiguration",
        egressSelections: [{ name: "cluster", connection: { proxyProtocol: "HTTPConnect", transport: { uds: { udsName: connectSocket } } } }],
    });
}

function ip(args: string[]): void {
    try {
        execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
        const err = e as { stderr?: Buffer; message: string };
        throw new Error(`ip ${args.join(" ")} failed: ${err.stderr?.toString().trim() || err.message}`);
    }
}

/** Forwards each connection on a unix socket to a host loopback port (`port()` read per connection: restarts). */
function unixToLoopback(socketPath: string, port: () => number): Promise<net.Server> {
    const relays = new Relays();
    const server = net.createServer((c) => relays.join(c, net.connect({ host: "127.0.0.1", port: port() })));
    // Stopping ends the open connections first (see Relays): a half-closed one would hold close() forever.
    const close = server.close.bind(server);
    server.close = ((cb?: (err?: Error) => void) => {
        relays.destroyAll();
        return close(cb);
    }) as typeof server.close;
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(socketPath, () => resolve(server));
    });
}

/** The kubelet's port on NODE_IP (node.ts), never taken by an exposed host port. */
export const KUBELET_PORT = 10250;

function controlRequest(socketPath: string, body: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
        const req = http.request({ socketPath, method: "POST", path: "/listen", timeout: 10_000 }, (res) => {
            let text = "";
            res.on("data", (d: Buffer) => (text += d.toString()));
            res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`netns gateway: HTTP ${res.statusCode} ${text.trim()}`))));
        });
        req.on("timeout", () => req.destroy(new Error("netns gateway: no answer within 10 s")));
        req.on("error", reject);
        req.end(JSON.stringify(body));
    });
}

export async function createNodeNetwork(dir: string, apiServerPort: () => number): Promise<NodeNetwork> {
    if (process.getuid?.() !== 0) throw new Error("the test node needs root (network namespaces, mounts, cgroups): run the tests as root");
    const netns = `psn-${randomBytes(4).toString("hex")}`;
    const nsPath = `/var/run/netns/${netns}`;
    ip(["netns", "add", netns]);
    // For the sweep of a dead environment (node-runtime.ts cleanupStaleNode).
    await fs.writeFile(path.join(dir, NETNS_FILE), netns);
    const removeNow = (): void => {
        if (existsSync(nsPath)) {
            try {
                execFileSync("ip", ["netns", "delete", netns], { stdio: "ignore" });
            } catch {
                rmSync(nsPath, { force: true });
            }
        }
    };
    const servers: net.Server[] = [];
    let gateway: ManagedProcess | undefined;
    try {
        ip(["-n", netns, "link", "set", "lo", "up"]);
        ip(["-n", netns, "addr", "add", `${NODE_IP}/32`, "dev", "lo"]);
        ip(["-n", netns, "addr", "add", `${KUBERNETES_SERVICE_IP}/32`, "dev", "lo"]);
        const { connectSocket, apiSocket, controlSocket } = nodeNetPaths(dir);
        servers.push(await unixToLoopback(apiSocket, apiServerPort));
        const cfg: GatewayConfig = {
            listen: [{ host: KUBERNETES_SERVICE_IP, port: 443, unix: apiSocket }],
            connect: { unix: connectSocket, allow: [`${NODE_IP}`, POD_SUBNET.split(".").slice(0, 3).join(".") + "."] },
            control: controlSocket,
        };
        const nsenterArgs = [`--net=${nsPath}`];
        const tsNode = require.resolve("ts-node/register/transpile-only");
        gateway = new ManagedProcess("netns-gateway", "nsenter", [...nsenterArgs, process.execPath, "-r", tsNode, path.join(__dirname, "netns-gateway.ts"), JSON.stringify(cfg)], path.join(dir, "netns-gateway.log"));
        const gw = gateway;
        await new Promise<void>((resolve, reject) => {
            let out = "";
            gw.child.stdout?.on("data", (d: Buffer) => {
                out += d.toString();
                if (out.includes("ready")) resolve();
            });
            gw.child.once("exit", () => reject(new Error(`netns-gateway exited during start-up:\n${gw.logTail()}`)));
            setTimeout(() => reject(new Error("netns-gateway not ready within 20 s")), 20_000).unref();
        });
        const exposed = new Map<number, Promise<{ host: string; port: number }>>();
        const exposeHostPort = (port: number): Promise<{ host: string; port: number }> => {
            if (!Number.isInteger(port) || port <= 0 || port > 65535 || port === KUBELET_PORT) {
                return Promise.reject(new Error(`exposeHostPort(${port}): not a port, or the kubelet's (${KUBELET_PORT})`));
            }
            let p = exposed.get(port);
            if (!p) {
                p = (async () => {
                    const unix = path.join(dir, `host-${port}.sock`);
                    servers.push(await unixToLoopback(unix, () => port));
                    await controlRequest(controlSocket, { host: NODE_IP, port, unix });
                    return { host: NODE_IP, port };
                })();
                exposed.set(port, p);
            }
            return p;
        };
        return {
            netns,
            nsenterArgs,
            gateway: gw,
            exposeHostPort,
            removeNow,
            async stop(): Promise<void> {
                await gw.stop(2000);
                for (const s of servers) await new Promise((r) => s.close(() => r(undefined)));
                removeNow();
                await fs.rm(apiSocket, { force: true });
                await fs.rm(connectSocket, { force: true });
                await fs.rm(controlSocket, { force: true });
            },
        };
    } catch (e) {
        await gateway?.stop(1000);
        for (const s of servers) s.close();
        removeNow();
        throw e;
    }
}
