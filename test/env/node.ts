import { KubeConfig, CoreV1Api } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { promises as fs, rmSync } from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { Progress } from "./build";
import { waitUntil } from "./http";
import { renderKubeconfig } from "./kubeconfig";
import { createNodeNetwork, egressSelectorConfig, KUBELET_PORT, NODE_IP, nodeNetPaths, POD_GATEWAY, POD_SUBNET } from "./node-net";
import { buildNodeImages, PAUSE_IMAGE, TINY_IMAGE } from "./node-image";
import { cleanupRuntime, ensureNodePackages, importImage, removeContainerLogLinks, RuntimePaths, runtimePaths, startContainerd, unmountUnder } from "./node-runtime";
import { issue, KUBERNETES_SERVICE_IP, Pki } from "./pki";
import { ManagedProcess, onProcessExit } from "./process";

/**
 * A real node for the test environment: containerd + runc running Pods, a kubelet registered as a Node, and the
 * real kube-scheduler, all torn down by `stop()` (or by the process-exit hook). Networking: node-net.ts.
 */
export interface TestNode {
    nodeName: string;
    /** The node's network namespace (`ip netns`): containerd, the kubelet and the Pod network live there. */
    netns: string;
    /** Imports an OCI image archive (e.g. `buildah push <img> oci-archive:<file>:<repo>:<tag>`); returns its names. */
    loadImage(ociArchivePath: string): Promise<string[]>;
    /** Image names of the locally built ps-tiny test image (node-image/main.go) and the pause image. */
    images: { tiny: string; pause: string };
    /** A host loopback service made reachable from Pods (node-net.ts): returns the address Pods dial. */
    exposeHostPort(port: number): Promise<{ host: string; port: number }>;
    logs: { kubelet: string; containerd: string; scheduler: string };
    /** Seconds: start of startNode → Node Ready (and its parts). */
    timings: Record<string, number>;
    stop(): Promise<void>;
}

export interface NodeContext {
    /** The environment's temp dir; the node lives in `<root>/node`. */
    root: string;
    pki: Pki;
    /** The apiserver's loopback URL (for the scheduler) and its port, read per connection (it may restart). */
    apiServerUrl: string;
    apiServerPort: () => number;
    adminKubeConfig: () => KubeConfig;
    progress: Progress;
}

export function nodeDir(root: string): string {
    return path.join(root, "node");
}

/**
 * The apiserver flags a node needs, written before the apiserver starts: "cluster" egress (the kubelet) through
 * the node namespace's gateway, and a client certificate for the apiserver → kubelet calls (logs, exec).
 */
export async function nodeApiServerArgs(root: string, pki: Pki): Promise<string[]> {
    const dir = nodeDir(root);
    await fs.mkdir(dir, { recursive: true });
    const egress = path.join(dir, "egress-selector.json");
    await fs.writeFile(egress, egressSelectorConfig(nodeNetPaths(dir).connectSocket));
    const client = await issue(pki.dir, { name: "apiserver-kubelet-client", commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], usage: "client" });
    // InternalIP: the node's address inside its namespace, which the gateway dials (the node name resolves nowhere).
    return [`--egress-selector-config-file=${egress}`, "--kubelet-preferred-address-types=InternalIP", `--kubelet-client-certificate=${client.cert}`, `--kubelet-client-key=${client.key}`];
}

async function clientKubeconfig(pki: Pki, server: string, file: string, name: string, commonName: string, organizations: string[] = []): Promise<void> {
    const c = await issue(pki.dir, { name, commonName, organizations, usage: "client" });
    const [ca, cert, key] = await Promise.all([pki.caCert, c.cert, c.key].map((f) => fs.readFile(f, "utf8")));
    await fs.writeFile(file, renderKubeconfig({ name, server, caPem: ca!, credentials: { kind: "clientCert", certPem: cert!, keyPem: key! } }), { mode: 0o600 });
}

/** The KubeletConfiguration for this machine: cgroup v1 nested under another manager's cgroup, no swap rules. */
export function kubeletConfig(o: { socket: string; caFile: string; resolvConf: string; podLogsDir: string }): string {
    return stringify({
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        containerRuntimeEndpoint: `unix://${o.socket}`,
        address: NODE_IP,
        port: KUBELET_PORT,
        readOnlyPort: 0,
        healthzPort: 0,
        authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: o.caFile } },
        authorization: { mode: "Webhook" },
        cgroupDriver: "cgroupfs",
        // This VM's processes sit in a memory cgroup another manager owns: no QoS hierarchy, no allocatable
        // enforcement (both would create and limit cgroups at the root of the hierarchy).
        cgroupsPerQOS: false,
        enforceNodeAllocatable: [],
        failSwapOn: false,
        // Shared disk of a busy machine: never evict test Pods or GC their images for disk pressure.
        evictionHard: { "memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        resolvConf: o.resolvConf,
        // Not /var/log/pods: the node's dir (the /var/log/containers symlinks are fixed; teardown removes ours).
        podLogsDir: o.podLogsDir,
        clusterDomain: "cluster.local",
        // Pods hear of status changes fast (default 10 s sync); the node heartbeat stays default.
        syncFrequency: "5s",
        fileCheckFrequency: "5s",
        serializeImagePulls: false,
        logging: { verbosity: 1 },
    });
}

/** Starts the node (kubelet, containerd, scheduler) and resolves once the Node is Ready. */
export async function startNode(ctx: NodeContext, bins: { kubelet: string; scheduler: string }): Promise<TestNode> {
    const t0 = Date.now();
    const since = (): number => Math.round((Date.now() - t0) / 100) / 10;
    const timings: Record<string, number> = {};
    await ensureNodePackages(ctx.progress);
    const dir = nodeDir(ctx.root);
    await fs.mkdir(dir, { recursive: true });
    const nodeName = `ps-node-${randomBytes(3).toString("hex")}`;
    const rt: RuntimePaths = runtimePaths(path.join(dir, "containerd"));
    const kubeletRoot = path.join(dir, "kubelet");
    const procs: { kubelet?: ManagedProcess; containerd?: ManagedProcess; scheduler?: ManagedProcess } = {};
    let network: Awaited<ReturnType<typeof createNodeNetwork>> | undefined;
    const cleanupNow = (): void => {
        for (const p of [procs.scheduler, procs.kubelet, procs.containerd]) p?.killNow();
        cleanupRuntime(rt);
        removeContainerLogLinks(path.join(dir, "pod-logs"));
        unmountUnder(dir);
        network?.removeNow();
        rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    };
    // Registered before anything exists, and ahead of the environment's own hook, which removes the root dir (and
    // with it the runc state this teardown reads).
    const unregister = onProcessExit(cleanupNow, { first: true });
    let stopped = false;
    const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        await procs.scheduler?.stop();
        await procs.kubelet?.stop();
        await procs.containerd?.stop();
        cleanupRuntime(rt);
        removeContainerLogLinks(path.join(dir, "pod-logs"));
        // The kubelet bind-mounts its root dir onto itself and mounts each Pod's volumes (tmpfs) under it.
        unmountUnder(dir);
        await network?.stop();
        await fs.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
        unregister();
    };
    try {
        const imagesP = buildNodeImages(dir);
        network = await createNodeNetwork(dir, ctx.apiServerPort);
        timings.netns = since();
        const net = network;
        procs.containerd = await startContainerd(rt, network.nsenterArgs, PAUSE_IMAGE, POD_SUBNET, POD_GATEWAY);
        timings.containerd = since();
        const archives = await imagesP;
        await importImage(rt, archives.pause);
        await importImage(rt, archives.tiny);
        timings.images = since();

        // The kubelet runs inside the namespace, so it reaches the apiserver as Pods do: the `kubernetes` Service.
        const kubeletKubeconfig = path.join(dir, "kubelet.kubeconfig");
        await clientKubeconfig(ctx.pki, `https://${KUBERNETES_SERVICE_IP}:443`, kubeletKubeconfig, `kubelet-${nodeName}`, `system:node:${nodeName}`, ["system:nodes"]);
        const resolvConf = path.join(dir, "resolv.conf");
        // No DNS server is reachable from the namespace; an explicit empty file keeps the host's out of Pods.
        await fs.writeFile(resolvConf, "# test node: no cluster DNS\n");
        const config = path.join(dir, "kubelet.yaml");
        await fs.writeFile(config, kubeletConfig({ socket: rt.socket, caFile: ctx.pki.caCert, resolvConf, podLogsDir: path.join(dir, "pod-logs") }));
        procs.kubelet = new ManagedProcess(
            "kubelet",
            "nsenter",
            [...network.nsenterArgs, bins.kubelet, `--config=${config}`, `--kubeconfig=${kubeletKubeconfig}`, `--root-dir=${kubeletRoot}`, `--cert-dir=${path.join(dir, "kubelet-pki")}`, `--hostname-override=${nodeName}`, `--node-ip=${NODE_IP}`],
            path.join(dir, "kubelet.log"),
        );

        const schedKubeconfig = path.join(dir, "scheduler.kubeconfig");
        await clientKubeconfig(ctx.pki, ctx.apiServerUrl, schedKubeconfig, "kube-scheduler", "system:kube-scheduler");
        // --secure-port=0: no serving port (nothing scrapes it); readiness is the Node and Pods getting scheduled.
        procs.scheduler = new ManagedProcess("kube-scheduler", bins.scheduler, [`--kubeconfig=${schedKubeconfig}`, "--leader-elect=false", "--secure-port=0", "--v=1"], path.join(dir, "kube-scheduler.log"));

        const core = ctx.adminKubeConfig().makeApiClient(CoreV1Api);
        const kubelet = procs.kubelet;
        const scheduler = procs.scheduler;
        await waitUntil(
            `Node ${nodeName} Ready`,
            async () => {
                const n = await core.readNode({ name: nodeName });
                return n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
            },
            { timeoutMs: 90_000, everyMs: 250, alive: () => (kubelet.assertRunning(), scheduler.assertRunning()) },
        );
        timings.ready = since();
        return {
            nodeName,
            netns: network.netns,
            images: { tiny: TINY_IMAGE, pause: PAUSE_IMAGE },
            loadImage: (archive) => importImage(rt, archive),
            exposeHostPort: (port) => net.exposeHostPort(port),
            logs: { kubelet: kubelet.logFile, containerd: procs.containerd.logFile, scheduler: scheduler.logFile },
            timings,
            stop,
        };
    } catch (e) {
        const tail = procs.kubelet ? `\nkubelet log tail:\n${procs.kubelet.logTail(20)}` : "";
        await stop().catch(() => undefined);
        throw new Error(`test node failed to start after ${since()} s: ${e instanceof Error ? e.message : String(e)}${tail}`);
    }
}
