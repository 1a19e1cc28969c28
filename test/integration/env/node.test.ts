import { CoreV1Api, Exec, RbacAuthorizationV1Api, V1Pod, V1Status } from "@kubernetes/client-node";
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startTestEnv, TestEnv } from "../../env";
import { buildTinyBinary, writeOciArchive } from "../../env/node-image";
import { eventually, randomName, withTimeout } from "../../support";

/**
 * The environment's real node (test/env/node.ts): the scheduler places Pods on it, containerd/runc run them, their
 * logs come back through the apiserver (apiserver → kubelet), and an in-cluster client in a Pod reaches the
 * apiserver through the `kubernetes` Service with its ServiceAccount token. Own environment ({ node: true }): the
 * shared one of the other suites has no node.
 */

function cmdline(pid: string): string {
    try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
        return ""; // exited meanwhile
    }
}

function linkTarget(file: string): string {
    try {
        return readlinkSync(file);
    } catch {
        return "";
    }
}

type Started = TestEnv & { timings: Record<string, number> };

function podSpec(name: string, image: string, args: string[], serviceAccountName?: string): V1Pod {
    return {
        metadata: { name },
        spec: {
            restartPolicy: "Never",
            serviceAccountName,
            containers: [{ name: "main", image, imagePullPolicy: "Never", args, securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false } }],
        },
    };
}

describe("test environment: a real node runs Pods", function () {
    this.timeout(240_000);
    let env: Started | undefined;
    let core: CoreV1Api;
    let ns: string;
    const timings: Record<string, number> = {};

    before(async function () {
        const t0 = Date.now();
        env = await withTimeout(startTestEnv({ node: true, eso: false }), 200_000, "startTestEnv({ node: true })");
        timings.envStart = (Date.now() - t0) / 1000;
        core = env.kubeConfig().makeApiClient(CoreV1Api);
        ns = randomName("node");
        await core.createNamespace({ body: { metadata: { name: ns, labels: { "platform-secrets.io/test": "node" } } } });
        // The serviceaccount controller creates `default` asynchronously; Pods are refused until it exists.
        await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }).then(() => true), 30_000, `ServiceAccount ${ns}/default`);
    });

    after(async function () {
        const e = env;
        env = undefined;
        if (!e) return;
        const node = e.node!;
        const nodeDir = path.dirname(node.logs.kubelet);
        // The containers still running (the sleeper Pod's), to prove the teardown kills them.
        const containers = (JSON.parse(execFileSync("runc", ["--root", path.join(nodeDir, "containerd", "runc", "k8s.io"), "list", "--format", "json"]).toString() || "[]") ?? []) as { id: string; pid: number; status: string }[];
        await e.stop();
        process.stderr.write(`[node] timings ${JSON.stringify({ ...timings, node: node.timings })}\n`);
        // Teardown leaves nothing: no mount under the node's dir, the dir and the network namespace gone.
        assert.ok(containers.some((c) => c.status === "running"), `a container was running before stop: ${JSON.stringify(containers)}`);
        for (const c of containers) assert.ok(!existsSync(`/proc/${c.pid}`) || c.pid === 0, `container ${c.id} (pid ${c.pid}) survived the teardown`);
        const leftovers = readdirSync("/proc").filter((p) => /^\d+$/.test(p) && cmdline(p).includes(nodeDir));
        assert.deepEqual(leftovers, [], `processes naming ${nodeDir} survived the teardown`);
        assert.ok(!readFileSync("/proc/self/mountinfo", "utf8").includes(nodeDir), `mounts left under ${nodeDir}`);
        assert.ok(!existsSync(nodeDir), `${nodeDir} left behind`);
        const links = existsSync("/var/log/containers") ? readdirSync("/var/log/containers").filter((f) => linkTarget(`/var/log/containers/${f}`).startsWith(nodeDir)) : [];
        assert.deepEqual(links, [], "the kubelet's /var/log/containers links into the node's dir are removed");
        assert.ok(!existsSync(`/var/run/netns/${node.netns}`), `network namespace ${node.netns} left behind`);
    });

    async function runToCompletion(name: string, body: V1Pod): Promise<{ pod: V1Pod; seconds: number; log: string }> {
        const t0 = Date.now();
        await core.createNamespacedPod({ namespace: ns, body });
        const pod = await eventually(
            async () => {
                const p = await core.readNamespacedPod({ name, namespace: ns });
                const phase = p.status?.phase;
                if (phase === "Succeeded" || phase === "Failed") return p;
                return undefined;
            },
            90_000,
            `Pod ${ns}/${name} completed`,
            200,
        );
        const seconds = (Date.now() - t0) / 1000;
        const log = await core.readNamespacedPodLog({ name, namespace: ns, container: "main" });
        return { pod, seconds, log };
    }

    it("schedules a Pod of a locally built image onto the Node, runs it to completion and serves its log", async function () {
        const node = env!.node!;
        const nodes = await core.listNode();
        assert.deepEqual(nodes.items.map((n) => n.metadata?.name), [node.nodeName]);
        const word = randomName("hello");
        const name = randomName("echo");
        const r = await runToCompletion(name, podSpec(name, node.images.tiny, ["echo", word]));
        timings.echoPodSeconds = r.seconds;
        assert.equal(r.pod.status?.phase, "Succeeded", JSON.stringify(r.pod.status));
        assert.equal(r.pod.spec?.nodeName, node.nodeName, "placed by the scheduler");
        assert.match(r.pod.status?.podIP ?? "", /^10\.244\.0\./, "an address of the node's Pod network");
        assert.equal(r.log.trim(), word);
    });

    it("loadImage imports an OCI archive under its own name and a Pod runs it", async function () {
        const dir = mkdtempSync(path.join(tmpdir(), "ps-node-img-"));
        try {
            const image = `localhost/platform-secrets-test/${randomName("img")}:0.0.1`;
            const archive = path.join(dir, "img.oci.tar");
            await writeOciArchive({ name: image, files: { "bin/tiny": await buildTinyBinary() }, entrypoint: ["/bin/tiny", "echo"], cmd: ["from", "loadImage"] }, archive);
            assert.deepEqual(await env!.node!.loadImage(archive), [image]);
            const name = randomName("loaded");
            const r = await runToCompletion(name, podSpec(name, image, []));
            assert.equal(r.pod.status?.phase, "Succeeded", JSON.stringify(r.pod.status));
            assert.equal(r.log.trim(), "from loadImage");
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("keeps a Pod Running as its image's non-root user, under the memory limit the kubelet set, until the environment stops", async function () {
        const name = randomName("sleeper");
        const t0 = Date.now();
        const body = podSpec(name, env!.node!.images.tiny, ["pause"]);
        body.spec!.containers[0]!.resources = { limits: { memory: "48Mi" } };
        await core.createNamespacedPod({ namespace: ns, body });
        const pod = await eventually(
            async () => {
                const p = await core.readNamespacedPod({ name, namespace: ns });
                return p.status?.containerStatuses?.[0]?.state?.running ? p : undefined;
            },
            60_000,
            `Pod ${ns}/${name} Running`,
            200,
        );
        timings.runningPodSeconds = (Date.now() - t0) / 1000;
        assert.equal(pod.status?.phase, "Running");
        // The container's process, as runc (root <node>/containerd/runc/k8s.io) knows it.
        const id = (pod.status?.containerStatuses?.[0]?.containerID ?? "").replace(/^containerd:\/\//, "");
        const runcRoot = path.join(path.dirname(env!.node!.logs.kubelet), "containerd", "runc", "k8s.io");
        const pid = (JSON.parse(execFileSync("runc", ["--root", runcRoot, "state", id]).toString()) as { pid: number }).pid;
        assert.match(readFileSync(`/proc/${pid}/status`, "utf8"), /^Uid:\s+65532\s/m, "the image's user 65532");
        const memCgroup = /^\d+:memory:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1];
        assert.ok(memCgroup, "the container is in a memory cgroup");
        assert.equal(readFileSync(path.join("/sys/fs/cgroup/memory", memCgroup, "memory.limit_in_bytes"), "utf8").trim(), String(48 * 1024 * 1024));
        // after() checks that stopping the environment kills it.
    });

    it("enforces a container's memory limit: over it, the container is OOM-killed; under it, it completes", async function () {
        const over = randomName("oom");
        const o = podSpec(over, env!.node!.images.tiny, ["alloc", "96"]);
        o.spec!.containers[0]!.resources = { limits: { memory: "32Mi" } };
        const r = await runToCompletion(over, o);
        assert.equal(r.pod.status?.phase, "Failed", JSON.stringify(r.pod.status));
        assert.equal(r.pod.status?.containerStatuses?.[0]?.state?.terminated?.reason, "OOMKilled", JSON.stringify(r.pod.status?.containerStatuses));
        const under = randomName("fits");
        const u = podSpec(under, env!.node!.images.tiny, ["alloc", "8"]);
        u.spec!.containers[0]!.resources = { limits: { memory: "32Mi" } };
        const ok = await runToCompletion(under, u);
        assert.equal(ok.pod.status?.phase, "Succeeded", `${JSON.stringify(ok.pod.status)}\nlog: ${ok.log}`);
        assert.equal(ok.log.trim(), "allocated 8 MiB");
    });

    it("probes a Pod over the Pod network, another Pod reaches it by Pod IP, and exec runs in it through the apiserver", async function () {
        const node = env!.node!;
        const name = randomName("server");
        const text = randomName("served");
        const body = podSpec(name, node.images.tiny, ["serve", "8080", text]);
        body.spec!.containers[0]!.readinessProbe = { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 };
        await core.createNamespacedPod({ namespace: ns, body });
        const ready = await eventually(
            async () => {
                const p = await core.readNamespacedPod({ name, namespace: ns });
                return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? p : undefined;
            },
            60_000,
            `Pod ${ns}/${name} Ready (kubelet's HTTP readiness probe)`,
            200,
        );
        const client = randomName("client");
        const r = await runToCompletion(client, podSpec(client, node.images.tiny, ["http-get", `http://${ready.status!.podIP}:8080/`]));
        assert.equal(r.log, text, `Pod-to-Pod GET: ${JSON.stringify(r.pod.status)}`);

        let out = "";
        const stdout = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
        const status = await withTimeout(
            new Promise<V1Status>((resolve, reject) => {
                new Exec(env!.kubeConfig()).exec(ns, name, "main", ["/ps-tiny", "echo", "exec", "works"], stdout, null, null, false, resolve).catch(reject);
            }),
            30_000,
            "exec in the Pod",
        );
        assert.equal(status.status, "Success", JSON.stringify(status));
        assert.equal(out.trim(), "exec works");
    });

    it("exposeHostPort: a Pod reaches a service on the host's loopback through the node's gateway", async function () {
        const word = randomName("from-host");
        const server = http.createServer((_req, res) => res.end(word));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        try {
            const port = (server.address() as AddressInfo).port;
            const at = await env!.node!.exposeHostPort(port);
            assert.equal(at.port, port);
            const name = randomName("hostsvc");
            const r = await runToCompletion(name, podSpec(name, env!.node!.images.tiny, ["http-get", `http://${at.host}:${at.port}/`]));
            assert.equal(r.pod.status?.phase, "Succeeded", `${JSON.stringify(r.pod.status)}\nlog: ${r.log}`);
            assert.equal(r.log, word);
        } finally {
            server.close();
        }
    });

    it("an in-cluster client lists ConfigMaps through the kubernetes Service with its ServiceAccount token", async function () {
        const node = env!.node!;
        const rbac = env!.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
        const sa = randomName("lister");
        const cm = randomName("cm");
        await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: cm }, data: { k: "v" } } });
        await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: sa }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list"] }] } });
        await rbac.createNamespacedRoleBinding({
            namespace: ns,
            body: { metadata: { name: sa }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: sa }, subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }] },
        });
        const name = randomName("incluster");
        const r = await runToCompletion(name, podSpec(name, node.images.tiny, ["list-configmaps"], sa));
        timings.inClusterPodSeconds = r.seconds;
        assert.equal(r.pod.status?.phase, "Succeeded", `${JSON.stringify(r.pod.status)}\nlog: ${r.log}`);
        assert.match(r.log, new RegExp(`via 10\\.0\\.0\\.1:443 namespace ${ns} configmaps:.* ${cm}`));

        // The same client as `default` (no Role): the apiserver saw the Pod's own token, and refuses it.
        const denied = randomName("denied");
        const d = await runToCompletion(denied, podSpec(denied, node.images.tiny, ["list-configmaps"]));
        assert.equal(d.pod.status?.phase, "Failed");
        assert.match(d.log, new RegExp(`HTTP 403 .*system:serviceaccount:${ns}:default`));
    });
});
