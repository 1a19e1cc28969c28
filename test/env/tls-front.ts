import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as tls from "node:tls";
import { issue, openssl } from "./pki";
import { Relays } from "./relay";

/**
 * A TLS listener on the host's loopback in front of a plain-http loopback service (the Vault dev server), with a
 * certificate from a throwaway CA for the addresses clients dial (the node's NODE_IP). Why: Pods reach host services
 * only at NODE_IP (TestNode.exposeHostPort), and the reconciler refuses `http://` Vault anywhere but loopback
 * (issue 19 §3), as production should; a platform team's Vault terminates TLS the same way, often at a proxy.
 * The Vault dev server itself cannot serve TLS for an address other than its listener's.
 */
export interface TlsFront {
    port: number;
    /** PEM of the CA that signed the front's certificate (what `reconcilerVaultCaCert` carries). */
    caPem: string;
    stop(): Promise<void>;
}

export async function startTlsFront(dir: string, upstreamPort: number, ipSans: string[]): Promise<TlsFront> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await openssl(
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=platform-secrets-test-tls-front-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
        dir,
    );
    const leaf = await issue(dir, { name: "front", commonName: "platform-secrets-test-tls-front", usage: "server", ipSans });
    await fs.rm(path.join(dir, "ca.key"));
    const [caPem, cert, key] = await Promise.all([path.join(dir, "ca.crt"), leaf.cert, leaf.key].map((f) => fs.readFile(f, "utf8")));
    const relays = new Relays();
    const server = tls.createServer({ cert, key, minVersion: "TLSv1.2" }, (c) => relays.join(c, net.connect({ host: "127.0.0.1", port: upstreamPort })));
    // A failed handshake (a client that does not trust the CA) is the client's business, not a crash of the test.
    server.on("tlsClientError", () => undefined);
    const port = await new Promise<number>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
    });
    return {
        port,
        caPem: caPem!,
        stop: () =>
            new Promise((resolve) => {
                relays.destroyAll();
                server.close(() => resolve());
            }),
    };
}
