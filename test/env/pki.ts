import { execFile } from "node:child_process";
import { generateKeyPair } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/**
 * A throwaway PKI for one environment: a CA, the apiserver's serving certificate, client certificates for the
 * admin (group system:masters) and the controller-manager, and the service-account signing key pair. Node's
 * crypto cannot issue X.509 certificates, so the openssl CLI does (present on Debian; named in the error if not).
 */
export interface Pki {
    dir: string;
    caCert: string;
    caKey: string;
    serverCert: string;
    serverKey: string;
    adminCert: string;
    adminKey: string;
    controllerManagerCert: string;
    controllerManagerKey: string;
    saPublicKey: string;
    saPrivateKey: string;
}

export interface CertRequest {
    /** File stem inside the PKI directory. */
    name: string;
    commonName: string;
    organizations?: string[];
    usage: "server" | "client";
    ipSans?: string[];
    dnsSans?: string[];
}

/** The openssl -subj string; CN and O values may not contain '/' (they never do here; validated anyway). */
export function subjectString(commonName: string, organizations: string[] = []): string {
    for (const v of [commonName, ...organizations]) {
        if (!v || /[/\\=]/.test(v)) throw new Error(`certificate subject part "${v}" is empty or contains / \\ =`);
    }
    return [...organizations.map((o) => `/O=${o}`), `/CN=${commonName}`].join("");
}

/** The x509 v3 extension file content for a leaf certificate. */
export function leafExtensions(req: CertRequest): string {
    const lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"];
    lines.push(`extendedKeyUsage=${req.usage === "server" ? "serverAuth" : "clientAuth"}`);
    const sans = [...(req.ipSans ?? []).map((ip) => `IP:${ip}`), ...(req.dnsSans ?? []).map((d) => `DNS:${d}`)];
    if (sans.length) lines.push(`subjectAltName=${sans.join(",")}`);
    return lines.join("\n") + "\n";
}

/** Runs the openssl CLI in `cwd`; errors name the subcommand and carry openssl's stderr (no key material). */
export async function openssl(args: string[], cwd: string): Promise<void> {
    try {
        await execFileP("openssl", args, { cwd });
    } catch (e) {
        const err = e as NodeJS.ErrnoException & { stderr?: string };
        if (err.code === "ENOENT") throw new Error("openssl CLI not found: install it (apt-get install -y openssl)");
        throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
    }
}

/** The ClusterIP of the `kubernetes` Service: the first address of the apiserver's --service-cluster-ip-range. */
export const KUBERNETES_SERVICE_IP = "10.0.0.1";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Issues a leaf certificate signed by the CA in `dir` (the node's kubelet and scheduler identities use it too). */
export async function issue(dir: string, req: CertRequest): Promise<{ cert: string; key: string }> {
    const key = path.join(dir, `${req.name}.key`);
    const csr = path.join(dir, `${req.name}.csr`);
    const cert = path.join(dir, `${req.name}.crt`);
    const ext = path.join(dir, `${req.name}.ext`);
    await fs.writeFile(ext, leafExtensions(req));
    await openssl(["req", "-new", ...EC, "-keyout", key, "-out", csr, "-subj", subjectString(req.commonName, req.organizations)], dir);
    await openssl(["x509", "-req", "-in", csr, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3", "-out", cert, "-extfile", ext], dir);
    await fs.rm(csr);
    await fs.rm(ext);
    return { cert, key };
}

/** Creates the whole PKI in `dir` (which must exist). */
export async function createPki(dir: string): Promise<Pki> {
    await openssl(
        ["req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3", "-subj", "/CN=platform-secrets-test-ca",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
        dir,
    );
    const server = await issue(dir, {
        name: "apiserver",
        commonName: "kube-apiserver",
        usage: "server",
        // 10.0.0.1: the `kubernetes` Service's ClusterIP (first address of --service-cluster-ip-range), which
        // in-cluster clients on the test node dial (node-net.ts).
        ipSans: ["127.0.0.1", KUBERNETES_SERVICE_IP],
        dnsSans: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
    });
    const admin = await issue(dir, { name: "admin", commonName: "admin", organizations: ["system:masters"], usage: "client" });
    const kcm = await issue(dir, { name: "controller-manager", commonName: "system:kube-controller-manager", usage: "client" });
    const { publicKey, privateKey } = await promisify(generateKeyPair)("rsa", {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
    });
    const saPublicKey = path.join(dir, "sa.pub");
    const saPrivateKey = path.join(dir, "sa.key");
    await fs.writeFile(saPublicKey, publicKey);
    await fs.writeFile(saPrivateKey, privateKey, { mode: 0o600 });
    return {
        dir,
        caCert: path.join(dir, "ca.crt"),
        caKey: path.join(dir, "ca.key"),
        serverCert: server.cert,
        serverKey: server.key,
        adminCert: admin.cert,
        adminKey: admin.key,
        controllerManagerCert: kcm.cert,
        controllerManagerKey: kcm.key,
        saPublicKey,
        saPrivateKey,
    };
}
