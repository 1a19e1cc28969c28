import { KubeConfig } from "@kubernetes/client-node";
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { parse } from "yaml";
import { renderKubeconfig } from "../../env/kubeconfig";

const CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

describe("env/kubeconfig", () => {
    it("renders a client-certificate kubeconfig that @kubernetes/client-node loads", () => {
        const text = renderKubeconfig({
            name: "admin",
            server: "https://127.0.0.1:6443",
            caPem: CA,
            credentials: { kind: "clientCert", certPem: "CERT-PEM", keyPem: "KEY-PEM" },
        });
        const kc = new KubeConfig();
        kc.loadFromString(text);
        assert.equal(kc.getCurrentCluster()?.server, "https://127.0.0.1:6443");
        assert.equal(kc.getCurrentCluster()?.caData, Buffer.from(CA).toString("base64"));
        assert.equal(kc.getCurrentUser()?.certData, Buffer.from("CERT-PEM").toString("base64"));
        assert.equal(kc.getCurrentUser()?.keyData, Buffer.from("KEY-PEM").toString("base64"));
    });

    it("renders a token kubeconfig with a default namespace", () => {
        const text = renderKubeconfig({ name: "ns-sa", server: "https://127.0.0.1:1", caPem: CA, credentials: { kind: "token", token: "tok.en" }, namespace: "ns" });
        const kc = new KubeConfig();
        kc.loadFromString(text);
        assert.equal(kc.getCurrentUser()?.token, "tok.en");
        assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, "ns");
    });

    it("validates the server URL, the CA and the token, naming the kubeconfig", () => {
        const base = { name: "x", caPem: CA, credentials: { kind: "token" as const, token: "t" } };
        assert.throws(() => renderKubeconfig({ ...base, server: "http://127.0.0.1:1" }), /kubeconfig "x": server .* must be https/);
        assert.throws(() => renderKubeconfig({ ...base, server: "https://127.0.0.1:1/path" }), /no path/);
        assert.throws(() => renderKubeconfig({ ...base, server: "https://h:1", caPem: "nope" }), /caPem is not a PEM/);
        assert.throws(() => renderKubeconfig({ ...base, server: "https://h:1", credentials: { kind: "token", token: "" } }), /empty token/);
    });

    it("round-trips any token and port through YAML (property)", () => {
        fc.assert(
            fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 65535 }), (token, port) => {
                const text = renderKubeconfig({ name: "p", server: `https://127.0.0.1:${port}`, caPem: CA, credentials: { kind: "token", token } });
                const doc = parse(text) as { users: { user: { token: string } }[]; clusters: { cluster: { server: string } }[] };
                assert.equal(doc.users[0]!.user.token, token);
                assert.equal(doc.clusters[0]!.cluster.server, `https://127.0.0.1:${port}`);
            }),
        );
    });
});
