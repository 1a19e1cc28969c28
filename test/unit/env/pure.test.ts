import { strict as assert } from "node:assert";
import * as path from "node:path";
import { binCacheRoot, binPath, kubernetesSpec, vaultSpec } from "../../env/binaries";
import { main } from "../../env/cli";
import { etcdArgs } from "../../env/etcd";
import { apiServerArgs, controllerManagerArgs } from "../../env/kube";
import { leafExtensions, Pki, subjectString } from "../../env/pki";
import { freePort, isAddressInUse } from "../../env/ports";
import { postgresArgs, postgresUrl } from "../../env/postgres";
import { processBelongsTo } from "../../env/sweep";
import { isKvV2Mount, vaultArgs } from "../../env/vault";

const PKI: Pki = {
    dir: "/p", caCert: "/p/ca.crt", caKey: "/p/ca.key", serverCert: "/p/s.crt", serverKey: "/p/s.key", adminCert: "/p/a.crt",
    adminKey: "/p/a.key", controllerManagerCert: "/p/c.crt", controllerManagerKey: "/p/c.key", saPublicKey: "/p/sa.pub", saPrivateKey: "/p/sa.key",
};

describe("env pure helpers", () => {
    it("caches binaries under XDG_CACHE_HOME (absolute only) or ~/.cache, by name and version", () => {
        assert.equal(binCacheRoot({ XDG_CACHE_HOME: "/x/cache" }), "/x/cache/platform-secrets/bin");
        assert.match(binCacheRoot({ XDG_CACHE_HOME: "relative" }), /\.cache\/platform-secrets\/bin$/);
        assert.equal(binPath(kubernetesSpec("v1.34.4"), "kube-apiserver", "/r"), path.join("/r", "kubernetes-v1.34.4", "kube-apiserver"));
        assert.throws(() => binPath(vaultSpec(), "etcd", "/r"), /not built by github.com\/hashicorp\/vault@/);
    });

    it("sets the Kubernetes version ldflags and builds without the vault UI tag", () => {
        const k = kubernetesSpec("v1.35.4");
        assert.ok(k.ldflags.includes("-X k8s.io/component-base/version.gitVersion=v1.35.4"));
        assert.ok(k.ldflags.includes("-X k8s.io/component-base/version.gitMinor=35"));
        assert.equal(k.resolveLocal("k8s.io/api", "v0.0.0"), "v0.35.4");
        assert.ok(!vaultSpec().tags.includes("ui"));
    });

    it("builds certificate subjects and extensions", () => {
        assert.equal(subjectString("admin", ["system:masters"]), "/O=system:masters/CN=admin");
        assert.throws(() => subjectString("a/b"), /contains/);
        const ext = leafExtensions({ name: "s", commonName: "s", usage: "server", ipSans: ["127.0.0.1"], dnsSans: ["localhost"] });
        assert.match(ext, /extendedKeyUsage=serverAuth/);
        assert.match(ext, /subjectAltName=IP:127.0.0.1,DNS:localhost/);
        assert.doesNotMatch(leafExtensions({ name: "c", commonName: "c", usage: "client" }), /subjectAltName/);
    });

    it("binds every server to 127.0.0.1 only", () => {
        const all = [
            ...etcdArgs("/d", 1, 2),
            ...apiServerArgs(PKI, "http://127.0.0.1:1", 3, "/c"),
            ...controllerManagerArgs(PKI, "/k", 4, "/c"),
            ...vaultArgs(5, "t"),
            ...postgresArgs("/d", 6, "/s"),
        ].join(" ");
        const hosts = [...all.matchAll(/(?:https?:\/\/|=|address=)(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]);
        assert.ok(hosts.length >= 8, `found ${hosts.length} addresses`);
        for (const h of hosts) if (!h!.startsWith("10.0.0.")) assert.equal(h, "127.0.0.1"); // 10.0.0.0/24 is a config value only
        assert.ok(apiServerArgs(PKI, "e", 3, "/c").includes("--authorization-mode=Node,RBAC"));
        assert.ok(controllerManagerArgs(PKI, "/k", 4, "/c").includes("--controllers=*"));
    });

    it("recognises the KV v2 mount and encodes postgres URLs", () => {
        assert.ok(isKvV2Mount({ data: { "secret/": { type: "kv", options: { version: "2" } } } }));
        assert.ok(!isKvV2Mount({ data: { "secret/": { type: "kv", options: { version: "1" } } } }));
        assert.ok(!isKvV2Mount({ data: {} }));
        assert.equal(postgresUrl({ user: "u", password: "p@ss/w:rd", host: "127.0.0.1", port: 5, database: "d" }), "postgres://u:p%40ss%2Fw%3Ard@127.0.0.1:5/d");
    });

    it("finds a free loopback port and recognises address-in-use errors", async () => {
        const p = await freePort();
        assert.ok(p > 0 && p < 65536);
        assert.ok(isAddressInUse("listen tcp 127.0.0.1:5: bind: address already in use"));
        assert.ok(!isAddressInUse("permission denied"));
    });

    it("sweeps only processes whose argv or cwd names the dead environment's dir", () => {
        const dir = "/tmp/ps-env-ab";
        assert.ok(processBelongsTo(dir, "etcd\0--data-dir=/tmp/ps-env-ab/etcd-data\0", "/"));
        assert.ok(processBelongsTo(dir, "vault\0server\0-dev\0", "/tmp/ps-env-ab"));
        assert.ok(!processBelongsTo(dir, "etcd\0--data-dir=/tmp/ps-env-abc/etcd-data\0", "/tmp/ps-env-abc"), "a sibling dir is not ours");
        assert.ok(!processBelongsTo(dir, "bash\0", "/root"));
    });

    it("CLI: usage errors exit 2, help exits 0", async () => {
        const out: string[] = [];
        const saved = process.stderr.write;
        process.stderr.write = (() => true) as typeof process.stderr.write;
        try {
            assert.equal(await main([], (l) => out.push(l)), 2);
            assert.equal(await main(["nope"], (l) => out.push(l)), 2);
            assert.equal(await main(["build", "extra"], (l) => out.push(l)), 2);
            assert.equal(await main(["env", "--nodes"], (l) => out.push(l)), 2);
        } finally {
            process.stderr.write = saved;
        }
        assert.equal(await main(["help"], (l) => out.push(l)), 0);
        assert.match(out.join("\n"), /sandbox/);
        assert.match(out.join("\n"), /env \[--node\]/);
    });
});
