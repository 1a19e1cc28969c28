import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, promises as fs, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { Progress } from "./build";
import { waitUntil } from "./http";
import { ManagedProcess } from "./process";

const execFileP = promisify(execFile);

/**
 * containerd (Debian's, with runc and the CNI plugins) for the test node: its own root, state, socket and runc root
 * inside the environment's temp dir, so several environments (and a system containerd) never share state; the
 * cgroupfs driver; the locally built pause image as the sandbox image. Teardown (`cleanupRuntime`) removes what
 * outlives the daemon: runc containers and their shims, Pod network namespaces, and mounts under the dir.
 */
export const NODE_PACKAGES: { pkg: string; file: string }[] = [
    { pkg: "containerd", file: "/usr/bin/containerd" },
    { pkg: "runc", file: "/usr/sbin/runc" },
    { pkg: "containernetworking-plugins", file: "/usr/lib/cni/bridge" },
];
export const CNI_BIN_DIR = "/usr/lib/cni";
const CNI_CACHE = "/var/lib/cni/results";
const SHIM_SOCKET_DIR = "/run/containerd/s";

/** apt-get installs the packages whose files are missing (root only), as postgres.ts does for PostgreSQL. */
export async function ensureNodePackages(progress: Progress): Promise<void> {
    const missing = NODE_PACKAGES.filter((p) => !existsSync(p.file)).map((p) => p.pkg);
    if (!missing.length) return;
    progress(`test node: apt-get install -y ${missing.join(" ")} (one-time)`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
        await execFileP("apt-get", ["update"], { env, maxBuffer: 64 << 20 });
        await execFileP("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { env, maxBuffer: 64 << 20 });
    } catch (e) {
        throw new Error(`apt-get install ${missing.join(" ")} failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
    }
    const still = NODE_PACKAGES.filter((p) => !existsSync(p.file));
    if (still.length) throw new Error(`after apt-get install, still missing: ${still.map((p) => p.file).join(", ")}`);
}

export interface RuntimePaths {
    dir: string;
    socket: string;
    runcRoot: string;
    config: string;
    cniConfDir: string;
}

export function runtimePaths(dir: string): RuntimePaths {
    return {
        dir,
        socket: path.join(dir, "containerd.sock"),
        runcRoot: path.join(dir, "runc"),
        config: path.join(dir, "containerd.toml"),
        cniConfDir: path.join(dir, "net.d"),
    };
}

export function containerdConfig(p: RuntimePaths, sandboxImage: string): string {
    const cri = `plugins."io.containerd.grpc.v1.cri"`;
    return `version = 2
root = "${p.dir}/root"
state = "${p.dir}/state"
# Only the CRI plugin's sockets; no metrics or debug listeners.
[grpc]
  address = "${p.socket}"
[${cri}]
  sandbox_image = "${sandboxImage}"
  # The streaming server (exec, attach) inside the node's network namespace.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # This VM grants root every capability but CAP_SYS_RESOURCE, so no process may lower its oom_score_adj: without
  # this, runc fails every sandbox ("can't get final child's PID from pipe: EOF") setting the pause's -998.
  restrict_oom_score_adj = true
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        # Not /run/containerd/runc: another containerd on this machine must not see these containers.
        Root = "${p.runcRoot}"
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${p.cniConfDir}"
`;
}

/** The Pod network: a bridge (inside the node namespace) with host-local IPAM on `subnet`. */
export function cniConfig(subnet: string, gateway: string, ipamDir: string): string {
    return JSON.stringify({
        cniVersion: "1.0.0",
        name: "ps-pods",
        plugins: [
            {
                type: "bridge",
                bridge: "ps-br0",
                isGateway: true,
                ipMasq: false,
                hairpinMode: true,
                ipam: { type: "host-local", ranges: [[{ subnet, gateway }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: ipamDir },
            },
            { type: "loopback" },
        ],
    });
}

export async function startContainerd(p: RuntimePaths, nsenterArgs: string[], sandboxImage: string, subnet: string, gateway: string): Promise<ManagedProcess> {
    await fs.mkdir(p.cniConfDir, { recursive: true });
    await fs.writeFile(p.config, containerdConfig(p, sandboxImage));
    await fs.writeFile(path.join(p.cniConfDir, "10-ps-pods.conflist"), cniConfig(subnet, gateway, path.join(p.dir, "ipam")));
    const proc = new ManagedProcess("containerd", "nsenter", [...nsenterArgs, "containerd", "--config", p.config], path.join(p.dir, "containerd.log"));
    await waitUntil("containerd", async () => (await ctr(p, ["version"]).then(() => true)), { timeoutMs: 20_000, everyMs: 100, alive: () => proc.assertRunning() });
    return proc;
}

/** `ctr` against this containerd, namespace k8s.io (the CRI plugin's). */
export async function ctr(p: RuntimePaths, args: string[]): Promise<string> {
    try {
        return (await execFileP("ctr", ["--address", p.socket, "--namespace", "k8s.io", ...args], { maxBuffer: 16 << 20 })).stdout;
    } catch (e) {
        throw new Error(`ctr ${args.join(" ")} failed: ${(e as { stderr?: string }).stderr?.trim() ?? String(e)}`);
    }
}

/** The image names in an OCI archive's index.json (org.opencontainers.image.ref.name / io.containerd.image.name). */
export async function archiveImageNames(archive: string): Promise<string[]> {
    let text = "";
    for (const member of ["index.json", "./index.json"]) {
        text = await execFileP("tar", ["-xOf", archive, member], { maxBuffer: 16 << 20 }).then((r) => r.stdout, () => "");
        if (text) break;
    }
    if (!text) throw new Error(`${archive} is not an OCI image archive: it has no index.json (build it with buildah push <image> oci-archive:${archive}:<name>)`);
    const index = JSON.parse(text) as { manifests?: { annotations?: Record<string, string> }[] };
    const names = (index.manifests ?? []).map((m) => m.annotations?.["io.containerd.image.name"] ?? m.annotations?.["org.opencontainers.image.ref.name"]).filter((n): n is string => !!n);
    return [...new Set(names)];
}

/**
 * Imports an OCI archive into the node (namespace k8s.io, unpacked for the CRI snapshotter). Returns the image
 * names. The archive must name its images by full reference (`repo:tag`), since Pods refer to them that way.
 */
export async function importImage(p: RuntimePaths, archive: string): Promise<string[]> {
    const names = await archiveImageNames(archive);
    const full = names.filter((n) => n.includes("/") || n.includes(":"));
    if (!full.length) {
        throw new Error(`${archive} names no image by full reference (index.json ref names: ${names.join(", ") || "none"}): write it with oci-archive:${archive}:<repo>:<tag>`);
    }
    // --base-name: ctr drops full references that do not start with it, so import once per repository.
    const repos = new Set(full.map((n) => n.replace(/[:@][^/]*$/, "")));
    for (const repo of repos) await ctr(p, ["images", "import", "--base-name", repo, archive]);
    const listed = await ctr(p, ["images", "ls", "-q"]);
    const missing = full.filter((n) => !listed.split("\n").includes(n));
    if (missing.length) throw new Error(`importing ${archive}: containerd does not list ${missing.join(", ")} afterwards`);
    return full;
}

function quiet(cmd: string, args: string[]): string {
    try {
        return execFileSync(cmd, args, { stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).toString();
    } catch {
        return "";
    }
}

/** Pids whose command line contains `text` (this process excluded). */
function pidsNaming(text: string): number[] {
    const out: number[] = [];
    for (const e of readdirSync("/proc")) {
        if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
        try {
            if (readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").some((a) => a.includes(text))) out.push(Number(e));
        } catch {
            /* exited meanwhile */
        }
    }
    return out;
}

function kill(pid: number): void {
    try {
        process.kill(pid, "SIGKILL");
    } catch {
        /* gone */
    }
}

/**
 * Synchronous, idempotent teardown of what containerd leaves behind (also from process-exit hooks): every runc
 * container of this node killed and deleted, the shims killed by their pid files, the Pod network namespaces
 * (matched by inode to the sandboxes' namespaces) deleted, then every mount under `dir` unmounted, deepest first.
 * Call after the kubelet and containerd have stopped.
 */
export function cleanupRuntime(p: RuntimePaths): void {
    const podNetns = new Set<number>();
    const ids = new Set<string>();
    const tasks = path.join(p.dir, "state", "io.containerd.runtime.v2.task", "k8s.io");
    if (existsSync(tasks)) for (const id of readdirSync(tasks)) ids.add(id);
    // The shim runs runc with --root <Root>/<containerd namespace>: k8s.io for every CRI container.
    const roots = existsSync(p.runcRoot) ? readdirSync(p.runcRoot).map((ns) => path.join(p.runcRoot, ns)) : [];
    for (const root of roots) {
        let list: { id: string; pid: number }[];
        try {
            list = JSON.parse(quiet("runc", ["--root", root, "list", "--format", "json"]) || "[]") ?? [];
        } catch {
            list = [];
        }
        for (const c of list) {
            if (c.pid > 0) {
                try {
                    podNetns.add(statSync(`/proc/${c.pid}/ns/net`).ino);
                } catch {
                    /* already gone */
                }
            }
            quiet("runc", ["--root", root, "kill", c.id, "KILL"]);
            quiet("runc", ["--root", root, "delete", "--force", c.id]);
            ids.add(c.id);
        }
    }
    // libcni's cache of a sandbox's results (a Pod torn down without CNI DEL): files named <network>-<id>-<if>.
    if (existsSync(CNI_CACHE)) {
        for (const f of readdirSync(CNI_CACHE)) if ([...ids].some((id) => f.includes(`-${id}-`))) rmSync(path.join(CNI_CACHE, f), { force: true });
    }
    // The shims (one per Pod) outlive containerd; their command line names this node's socket.
    for (const pid of pidsNaming(p.socket)) kill(pid);
    // CRI pins each Pod's network namespace at /var/run/netns/cni-<uuid>: delete ours, never another's.
    if (existsSync("/var/run/netns")) {
        for (const name of readdirSync("/var/run/netns").filter((n) => n.startsWith("cni-"))) {
            const file = path.join("/var/run/netns", name);
            let ino: number;
            try {
                ino = statSync(file).ino;
            } catch {
                continue;
            }
            if (podNetns.has(ino)) quiet("ip", ["netns", "delete", name]);
        }
    }
    // Shim sockets: /run/containerd/s/<sha256 of "<containerd socket>/<namespace>/<id>"> (containerd 1.6).
    for (const id of ids) rmSync(path.join(SHIM_SOCKET_DIR, createHash("sha256").update(`${p.socket}/k8s.io/${id}`).digest("hex")), { force: true });
    unmountUnder(p.dir);
}

/** The kubelet's fixed /var/log/containers symlinks into `podLogsDir`: removed when they point into it. */
export function removeContainerLogLinks(podLogsDir: string): void {
    const dir = "/var/log/containers";
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir)) {
        try {
            if (readlinkSync(path.join(dir, f)).startsWith(`${podLogsDir}/`)) rmSync(path.join(dir, f), { force: true });
        } catch {
            /* not a link, or gone */
        }
    }
}

/** Unmounts (lazily) every mount point at or under `dir`, deepest first. */
export function unmountUnder(dir: string): void {
    const prefix = dir.endsWith("/") ? dir : `${dir}/`;
    let mounts: string[];
    try {
        mounts = readFileSync("/proc/self/mountinfo", "utf8")
            .split("\n")
            .map((l) => l.split(" ")[4] ?? "")
            .map((m) => m.replace(/\\040/g, " "))
            .filter((m) => m === dir || m.startsWith(prefix));
    } catch {
        return;
    }
    for (const m of mounts.sort((a, b) => b.length - a.length)) quiet("umount", ["-l", m]);
}

/** The file naming a node's network namespace (written by node-net.ts), read by the sweep of dead environments. */
export const NETNS_FILE = "netns";

/**
 * Sweep of a dead environment's node (sweep.ts, after its processes were killed): the runtime's leftovers, every
 * mount under the environment dir, and the node's network namespace. No-op for an environment without a node.
 */
export function cleanupStaleNode(envDir: string): void {
    const node = path.join(envDir, "node");
    if (!existsSync(node)) return;
    cleanupRuntime(runtimePaths(path.join(node, "containerd")));
    removeContainerLogLinks(path.join(node, "pod-logs"));
    unmountUnder(envDir);
    let netns: string;
    try {
        netns = readFileSync(path.join(node, NETNS_FILE), "utf8").trim();
    } catch {
        return;
    }
    if (/^psn-[0-9a-f]+$/.test(netns) && existsSync(`/var/run/netns/${netns}`)) quiet("ip", ["netns", "delete", netns]);
}
