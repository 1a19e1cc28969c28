import { strict as assert } from "node:assert";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { isKubeError, KubeClient, loadKubeconfig, parseExecCredential } from "../../../lib/kube";

/** lib/kube's one kubeconfig loader (issue 23): kubectl's order, KUBECONFIG merge, exec plugins, refusals with the fix. */
describe("lib/kube: kubeconfig loader and exec credential plugins", () => {
    let dir: string;
    const kc = (server: string, user: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
        YAML.stringify({ apiVersion: "v1", kind: "Config", "current-context": "a", clusters: [{ name: "c", cluster: { server } }], users: [{ name: "u", user }], contexts: [{ name: "a", context: { cluster: "c", user: "u", namespace: "team" } }], ...extra });
    beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "ps-kc-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("a file: its current context, namespace and token; another context named; a missing one lists the known", () => {
        const f = path.join(dir, "config");
        writeFileSync(f, kc("https://a.example:6443", { token: "t" }));
        const l = loadKubeconfig({ path: f });
        assert.deepEqual([l.context, l.namespace, l.config.server, l.config.token, l.contexts], ["a", "team", "https://a.example:6443", "t", ["a"]]);
        assert.throws(() => loadKubeconfig({ path: f, context: "b" }), /context "b" not found \(contexts: a\); pass one of them/);
        assert.throws(() => loadKubeconfig({ path: path.join(dir, "nope") }), /cannot read or parse/);
    });

    it("KUBECONFIG lists files: merged as kubectl does (first wins), each file's relative paths against its own directory", () => {
        const d1 = path.join(dir, "one");
        const d2 = path.join(dir, "two");
        for (const d of [d1, d2]) mkdirSync(d);
        writeFileSync(path.join(d2, "ca.crt"), "CA-TWO");
        writeFileSync(path.join(d1, "config"), YAML.stringify({ "current-context": "b", contexts: [{ name: "b", context: { cluster: "c2", user: "u2" } }] }));
        writeFileSync(path.join(d2, "config"), YAML.stringify({ "current-context": "ignored", clusters: [{ name: "c2", cluster: { server: "https://b.example", "certificate-authority": "ca.crt" } }], users: [{ name: "u2", user: { token: "t2" } }], contexts: [{ name: "b", context: { cluster: "other", user: "x" } }] }));
        const l = loadKubeconfig({ env: { KUBECONFIG: [path.join(d1, "config"), path.join(dir, "missing"), path.join(d2, "config")].join(path.delimiter), HOME: dir } });
        assert.equal(l.context, "b");
        assert.equal(l.config.server, "https://b.example", "the first file's context b wins over the second's");
        assert.equal(l.config.ca?.toString(), "CA-TWO");
        assert.throws(() => loadKubeconfig({ env: { HOME: dir } }), /no kubeconfig: .*pass --kubeconfig or set KUBECONFIG/);
    });

    it("a legacy auth-provider is refused naming its exec replacement; an exec without command is refused", () => {
        assert.throws(() => loadKubeconfig({ content: kc("https://x", { "auth-provider": { name: "gcp" } }) }), /legacy auth-provider plugin "gcp".*switch it to its exec plugin \(gke-gcloud-auth-plugin, kubelogin\)/);
        assert.throws(() => loadKubeconfig({ content: kc("https://x", { exec: { apiVersion: "client.authentication.k8s.io/v1" } }) }), /exec needs a command/);
    });

    it("parseExecCredential: a token or a client certificate, with expiry; anything else refused without echoing the output", () => {
        const cfg = { apiVersion: "client.authentication.k8s.io/v1", command: "plug" };
        const ok = parseExecCredential(JSON.stringify({ apiVersion: cfg.apiVersion, kind: "ExecCredential", status: { token: "tok", expirationTimestamp: "2030-01-01T00:00:00Z" } }), cfg);
        assert.deepEqual(ok, { token: "tok", expiresAt: Date.parse("2030-01-01T00:00:00Z") });
        assert.ok(parseExecCredential(JSON.stringify({ apiVersion: cfg.apiVersion, kind: "ExecCredential", status: { clientCertificateData: "C", clientKeyData: "K" } }), cfg).cert);
        assert.throws(() => parseExecCredential("secret-token-text", cfg), (e: Error) => /not JSON/.test(e.message) && !e.message.includes("secret-token-text"));
        assert.throws(() => parseExecCredential(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1beta1", kind: "ExecCredential", status: { token: "x" } }), cfg), /answered client.authentication.k8s.io\/v1beta1/);
        assert.throws(() => parseExecCredential(JSON.stringify({ apiVersion: cfg.apiVersion, kind: "ExecCredential", status: {} }), cfg), /neither status.token nor clientCertificateData/);
    });

    it("an exec plugin runs once for concurrent requests, gets KUBERNETES_EXEC_INFO, and runs again after a 401", async () => {
        const count = path.join(dir, "count");
        writeFileSync(count, "0");
        const plugin = path.join(dir, "plugin.js");
        // A real executable, as `aws eks get-token` is: counts its runs, answers token-<n>, checks the exec info.
        writeFileSync(plugin, `#!/usr/bin/env node
const fs = require("fs");
const n = Number(fs.readFileSync(${JSON.stringify(count)}, "utf8")) + 1;
fs.writeFileSync(${JSON.stringify(count)}, String(n));
const info = JSON.parse(process.env.KUBERNETES_EXEC_INFO);
if (info.spec.interactive !== false || process.env.EXTRA !== "yes" || process.argv[2] !== "--flag") process.exit(3);
process.stdout.write(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "token-" + n } }));
`);
        chmodSync(plugin, 0o755);
        let reject = false;
        const seen: string[] = [];
        const server = http.createServer((req, res) => {
            seen.push(String(req.headers.authorization));
            if (reject) {
                reject = false;
                res.writeHead(401, { "Content-Type": "application/json" }).end(JSON.stringify({ kind: "Status", reason: "Unauthorized", code: 401 }));
                return;
            }
            res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        try {
            const port = (server.address() as AddressInfo).port;
            // A relative command (with a slash) resolves against the kubeconfig's directory, as kubectl does.
            const f = path.join(dir, "config");
            writeFileSync(f, kc(`http://127.0.0.1:${port}`, { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "./plugin.js", args: ["--flag"], env: [{ name: "EXTRA", value: "yes" }], interactiveMode: "Never" } }));
            const client = KubeClient.fromConfig(loadKubeconfig({ path: f }).config);
            await Promise.all([client.request("GET", "/api"), client.request("GET", "/api"), client.request("GET", "/api")]);
            assert.equal(readFileSync(count, "utf8"), "1", "one run for concurrent requests");
            reject = true;
            await assert.rejects(client.request("GET", "/api"), (e: unknown) => isKubeError(e, 401));
            await client.request("GET", "/api");
            assert.equal(readFileSync(count, "utf8"), "2", "run again after the apiserver rejected the credential");
            assert.deepEqual([...new Set(seen)], ["Bearer token-1", "Bearer token-2"]);
            client.close();
        } finally {
            server.close();
        }
    });
});
