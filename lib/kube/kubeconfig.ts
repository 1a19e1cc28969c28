import * as fs from "node:fs";
import * as YAML from "yaml";

/**
 * Connection settings for KubeClient. The reconciler loads them itself instead of through client-node's
 * KubeConfig because importing @kubernetes/client-node costs ~67 MiB of RSS (all generated APIs), which alone
 * would break the 100 MiB budget. Supported: certificate/key/CA data or files, bearer token or token file,
 * insecure-skip-tls-verify, in-cluster service account. Exec/auth-provider plugins are not (a controller
 * runs in-cluster or with a static kubeconfig).
 */
export interface ClientConfig {
    server: string;
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    token?: string;
    /** Re-read periodically: projected service-account tokens rotate. */
    tokenFile?: string;
    insecureSkipTlsVerify?: boolean;
    servername?: string;
    basicAuth?: { username: string; password: string };
}

function dataOrFile(data: unknown, file: unknown, base: string, what: string): Buffer | undefined {
    if (typeof data === "string" && data) return Buffer.from(data, "base64");
    if (typeof file === "string" && file) {
        const p = file.startsWith("/") ? file : `${base}/${file}`;
        try {
            return fs.readFileSync(p);
        } catch {
            throw new Error(`kubeconfig: cannot read ${what} file ${p}; fix the path in the kubeconfig`);
        }
    }
    return undefined;
}

/** Parses a kubeconfig file's current context (pure apart from reading referenced files). */
export function loadKubeconfigFile(path: string, context?: string): ClientConfig {
    let doc: unknown;
    try {
        doc = YAML.parse(fs.readFileSync(path, "utf8"));
    } catch (e) {
        throw new Error(`kubeconfig ${path}: cannot read or parse (${(e as Error).message.split("\n")[0]}); pass --kubeconfig with a valid file`);
    }
    return parseKubeconfig(doc, path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".", context, path);
}

type Fields = Record<string, unknown>;

const isFields = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);

/** The `field` map of the entry named `name` in the kubeconfig list `list` (contexts, clusters, users). */
function named(list: unknown, name: unknown, field: string): Fields | undefined {
    if (!Array.isArray(list)) return undefined;
    const entry: unknown = list.find((e: unknown) => isFields(e) && e.name === name);
    const value = isFields(entry) ? entry[field] : undefined;
    return isFields(value) ? value : undefined;
}

export function parseKubeconfig(doc: unknown, baseDir: string, context?: string, where = "kubeconfig"): ClientConfig {
    const d: Fields = isFields(doc) ? doc : {};
    const ctxName = context ?? (typeof d["current-context"] === "string" ? d["current-context"] : undefined);
    const ctx = named(d.contexts, ctxName, "context");
    if (!ctx) throw new Error(`${where}: context "${ctxName ?? ""}" not found; set current-context`);
    const cluster = named(d.clusters, ctx.cluster, "cluster");
    if (typeof cluster?.server !== "string" || !cluster.server) throw new Error(`${where}: cluster "${String(ctx.cluster)}" of context "${ctxName}" has no server`);
    const user = named(d.users, ctx.user, "user") ?? {};
    if (user.exec || user["auth-provider"]) throw new Error(`${where}: user "${String(ctx.user)}" uses an exec/auth-provider plugin, which the reconciler does not run; use a token or client certificate`);
    return {
        server: cluster.server,
        ca: dataOrFile(cluster["certificate-authority-data"], cluster["certificate-authority"], baseDir, "certificate-authority"),
        cert: dataOrFile(user["client-certificate-data"], user["client-certificate"], baseDir, "client-certificate"),
        key: dataOrFile(user["client-key-data"], user["client-key"], baseDir, "client-key"),
        token: typeof user.token === "string" ? user.token : undefined,
        tokenFile: typeof user.tokenFile === "string" ? user.tokenFile : undefined,
        insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
        servername: typeof cluster["tls-server-name"] === "string" ? cluster["tls-server-name"] : undefined,
        basicAuth: typeof user.username === "string" ? { username: user.username, password: String(user.password ?? "") } : undefined,
    };
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's service-account config (KUBERNETES_SERVICE_HOST/PORT, token and CA files). */
export function inClusterConfig(env: Record<string, string | undefined> = process.env): ClientConfig {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port) throw new Error("not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset); pass --kubeconfig");
    const h = host.includes(":") ? `[${host}]` : host;
    return { server: `https://${h}:${port}`, ca: fs.readFileSync(`${SA_DIR}/ca.crt`), tokenFile: `${SA_DIR}/token` };
}
