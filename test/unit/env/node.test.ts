import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { allSpecs, kubernetesNodeSpec, kubernetesSpec, specDir } from "../../env/binaries";
import { egressSelectorConfig, NODE_IP } from "../../env/node-net";
import { writeOciArchive } from "../../env/node-image";
import { archiveImageNames, cniConfig, containerdConfig, runtimePaths } from "../../env/node-runtime";
import { kubeletConfig } from "../../env/node";

/** The test node's configuration, without starting anything (the real node: test/integration/env/node.test.ts). */
describe("test env: node configuration", () => {
    it("builds kubelet and kube-scheduler as a spec of their own, so the cached apiserver build stays valid", () => {
        const node = kubernetesNodeSpec();
        const control = kubernetesSpec();
        assert.notEqual(specDir(node, "/r"), specDir(control, "/r"));
        assert.deepEqual(node.outputs.map((o) => o.bin), ["kubelet", "kube-scheduler"]);
        assert.equal(node.module, control.module);
        assert.equal(node.version, control.version);
        assert.deepEqual(node.ldflags, control.ldflags);
        assert.deepEqual(control.outputs.map((o) => o.bin), ["kube-apiserver", "kube-controller-manager"]);
        assert.ok(allSpecs().some((s) => s.name === node.name), "part of `build`");
    });

    it("containerd keeps all its state in its own dir and clamps oom_score_adj", () => {
        const p = runtimePaths("/t/node/containerd");
        const toml = containerdConfig(p, "localhost/x/pause:1");
        for (const line of ['root = "/t/node/containerd/root"', 'state = "/t/node/containerd/state"', 'address = "/t/node/containerd/containerd.sock"', 'Root = "/t/node/containerd/runc"']) {
            assert.ok(toml.includes(line), `${line} in\n${toml}`);
        }
        assert.match(toml, /sandbox_image = "localhost\/x\/pause:1"/);
        assert.match(toml, /restrict_oom_score_adj = true/);
        assert.match(toml, /SystemdCgroup = false/);
        // Every table header is well formed (a bad one made containerd refuse the file once).
        for (const h of toml.split("\n").filter((l) => l.trim().startsWith("["))) assert.match(h.trim(), /^\[plugins\."io\.containerd\.grpc\.v1\.cri"(\.[a-z.]+)?\]$|^\[grpc\]$/);
    });

    it("the Pod network is a bridge with its IPAM state in the node's dir", () => {
        const c = JSON.parse(cniConfig("10.244.0.0/24", "10.244.0.1", "/t/ipam")) as { plugins: { type: string; ipMasq?: boolean; ipam?: { dataDir: string } }[] };
        assert.deepEqual(c.plugins.map((x) => x.type), ["bridge", "loopback"]);
        assert.equal(c.plugins[0]!.ipMasq, false, "no NAT to the host's interfaces");
        assert.equal(c.plugins[0]!.ipam!.dataDir, "/t/ipam");
    });

    it("the kubelet config fits this machine: cgroupfs, no QoS cgroups, no swap check, webhook authz, node address", () => {
        const k = parse(kubeletConfig({ socket: "/t/c.sock", caFile: "/t/ca.crt", resolvConf: "/t/resolv.conf", podLogsDir: "/t/pod-logs" })) as Record<string, unknown>;
        assert.equal(k.containerRuntimeEndpoint, "unix:///t/c.sock");
        assert.equal(k.cgroupDriver, "cgroupfs");
        assert.equal(k.podLogsDir, "/t/pod-logs", "not the shared /var/log/pods");
        assert.equal(k.cgroupsPerQOS, false);
        assert.deepEqual(k.enforceNodeAllocatable, []);
        assert.equal(k.failSwapOn, false);
        assert.equal(k.address, NODE_IP);
        assert.equal(k.readOnlyPort, 0);
        assert.deepEqual(k.authorization, { mode: "Webhook" });
        assert.equal((k.authentication as { anonymous: { enabled: boolean } }).anonymous.enabled, false);
    });

    it("the apiserver reaches the kubelet through the gateway's CONNECT socket", () => {
        const e = JSON.parse(egressSelectorConfig("/t/connect.sock")) as { egressSelections: { name: string; connection: { proxyProtocol: string; transport: { uds: { udsName: string } } } }[] };
        assert.deepEqual(e.egressSelections.map((s) => s.name), ["cluster"]);
        assert.equal(e.egressSelections[0]!.connection.proxyProtocol, "HTTPConnect");
        assert.equal(e.egressSelections[0]!.connection.transport.uds.udsName, "/t/connect.sock");
    });

    it("writes an OCI archive whose index names the image, and reads the names back", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "ps-oci-test-"));
        try {
            const archive = path.join(dir, "a.tar");
            await writeOciArchive({ name: "localhost/t/img:1", files: { "bin/x": __filename }, entrypoint: ["/bin/x"] }, archive);
            assert.deepEqual(await archiveImageNames(archive), ["localhost/t/img:1"]);
            await assert.rejects(archiveImageNames(__filename), /is not an OCI image archive: it has no index\.json/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
