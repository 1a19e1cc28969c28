import { stringify } from "yaml";

/** How a kubeconfig user authenticates: an embedded client certificate, or a bearer token. */
export type KubeCredentials =
    | { kind: "clientCert"; certPem: string; keyPem: string }
    | { kind: "token"; token: string };

export interface KubeconfigInput {
    /** Used for the cluster, user and context names. */
    name: string;
    server: string;
    caPem: string;
    credentials: KubeCredentials;
    namespace?: string;
}

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

/** A self-contained kubeconfig (certificates embedded as *-data), so it stays valid after files move. */
export function renderKubeconfig(input: KubeconfigInput): string {
    if (!/^https:\/\/[^/]+$/.test(input.server)) {
        throw new Error(`kubeconfig "${input.name}": server "${input.server}" must be https://host:port with no path`);
    }
    if (!input.caPem.includes("BEGIN CERTIFICATE")) throw new Error(`kubeconfig "${input.name}": caPem is not a PEM certificate`);
    const c = input.credentials;
    let user: Record<string, string>;
    switch (c.kind) {
        case "clientCert":
            user = { "client-certificate-data": b64(c.certPem), "client-key-data": b64(c.keyPem) };
            break;
        case "token":
            if (!c.token) throw new Error(`kubeconfig "${input.name}": empty token`);
            user = { token: c.token };
            break;
        default: {
            const never: never = c;
            throw new Error(`kubeconfig "${input.name}": unknown credentials ${JSON.stringify(never)}`);
        }
    }
    const context: Record<string, string> = { cluster: input.name, user: input.name };
    if (input.namespace) context.namespace = input.namespace;
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: input.name, cluster: { server: input.server, "certificate-authority-data": b64(input.caPem) } }],
        users: [{ name: input.name, user }],
        contexts: [{ name: input.name, context }],
        "current-context": input.name,
        preferences: {},
    });
}
