import * as fs from "node:fs";
import * as os from "node:os";
import * as nodePath from "node:path";
import * as YAML from "yaml";
import type { ExecConfig } from "./exec";

/**
 * Connection settings for KubeClient: the ONE kubeconfig loader of the reconciler, the CLI and the providers
 * (issue 23). Not @kubernetes/client-node's KubeConfig: importing client-node costs ~67 MiB of RSS (all generated
 * APIs). Supported: certificate/key/CA data or files, bearer token or token file, basic auth,
 * insecure-skip-tls-verify, tls-server-name, exec credential plugins (exec.ts), the in-cluster service account,
 * and kubectl's loading order (an explicit file or content, else KUBECONFIG's list merged, else ~/.kube/config,
 * else in-cluster). Legacy auth-provider plugins are refused with the fix (their exec replacements).
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
    /** An exec credential plugin: run on first use and whenever its credential expires or is rejected. */
    exec?: ExecConfig;
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

/** A kubeconfig file's settings at `context` (default its current-context): loadKubeconfig for one file. */
export function loadKubeconfigFile(path: string, context?: string): ClientConfig {
    return loadKubeconfig({ path, ...(context ? { context } : {}) }).config;
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
    if (user["auth-provider"]) {
        throw new Error(`${where}: user "${String(ctx.user)}" uses the legacy auth-provider plugin "${String((user["auth-provider"] as Fields).name ?? "")}", removed from Kubernetes; switch it to its exec plugin (gke-gcloud-auth-plugin, kubelogin) as kubectl asks`);
    }
    const exec = user.exec === undefined ? undefined : execConfig(user.exec, cluster, baseDir, `${where}: user "${String(ctx.user)}"`);
    return {
        ...(exec ? { exec } : {}),
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

function execConfig(raw: unknown, cluster: Fields, baseDir: string, where: string): ExecConfig {
    const e = isFields(raw) ? raw : {};
    if (typeof e.command !== "string" || !e.command) throw new Error(`${where}: exec needs a command`);
    if (typeof e.apiVersion !== "string") throw new Error(`${where}: exec needs an apiVersion (client.authentication.k8s.io/v1)`);
    const args = Array.isArray(e.args) ? e.args.map(String) : [];
    const env = Array.isArray(e.env) ? e.env.filter(isFields).map((x) => ({ name: String(x.name), value: String(x.value ?? "") })) : [];
    // kubectl: a command with a path separator is relative to the kubeconfig's directory; a bare name is looked up on PATH.
    const command = e.command.includes("/") && !nodePath.isAbsolute(e.command) ? nodePath.resolve(baseDir, e.command) : e.command;
    return {
        apiVersion: e.apiVersion,
        command,
        args,
        env,
        cwd: baseDir,
        ...(e.provideClusterInfo === true ? { cluster: { server: String(cluster.server), ...(typeof cluster["certificate-authority-data"] === "string" ? { "certificate-authority-data": cluster["certificate-authority-data"] } : {}) } } : {}),
    };
}

/** A kubeconfig as loaded: the client settings, the context's name and namespace, and every context's name. */
export interface LoadedKubeconfig {
    config: ClientConfig;
    context: string;
    /** The context's namespace, else "default" (what kubectl uses without -n). */
    namespace: string;
    contexts: string[];
}

export interface LoadOptions {
    /** A kubeconfig file. */
    path?: string;
    /** kubeconfig YAML content (relative file references resolve against the working directory). */
    content?: string;
    /** A context name; default the current-context. */
    context?: string;
    env?: Record<string, string | undefined>;
}

/** Reads and parses one kubeconfig file, its relative references made absolute (so merged files keep their own base). */
function readDoc(path: string): Fields {
    let doc: unknown;
    try {
        doc = YAML.parse(fs.readFileSync(path, "utf8"));
    } catch (e) {
        throw new Error(`kubeconfig ${path}: cannot read or parse (${(e as Error).message.split("\n")[0]}); pass --kubeconfig with a valid file`);
    }
    const d: Fields = isFields(doc) ? doc : {};
    const base = nodePath.dirname(nodePath.resolve(path));
    const abs = (m: Fields | undefined, keys: string[]) => {
        for (const k of keys) if (m && typeof m[k] === "string" && m[k] && !nodePath.isAbsolute(m[k] as string)) m[k] = nodePath.resolve(base, m[k] as string);
    };
    for (const c of Array.isArray(d.clusters) ? d.clusters : []) if (isFields(c) && isFields(c.cluster)) abs(c.cluster, ["certificate-authority"]);
    for (const u of Array.isArray(d.users) ? d.users : []) {
        if (!isFields(u) || !isFields(u.user)) continue;
        abs(u.user, ["client-certificate", "client-key", "tokenFile"]);
        const ex = u.user.exec;
        if (isFields(ex) && typeof ex.command === "string" && ex.command.includes("/")) abs(ex, ["command"]);
    }
    return d;
}

/** kubectl's merge of a KUBECONFIG list: the first file to name an entry (or set current-context) wins. */
export function mergeKubeconfigs(docs: readonly Fields[]): Fields {
    const out: Fields = { clusters: [], users: [], contexts: [] };
    for (const d of docs) {
        if (out["current-context"] === undefined && typeof d["current-context"] === "string" && d["current-context"]) out["current-context"] = d["current-context"];
        for (const list of ["clusters", "users", "contexts"] as const) {
            const have = out[list] as Fields[];
            for (const e of Array.isArray(d[list]) ? d[list] : []) if (isFields(e) && !have.some((x) => x.name === e.name)) have.push(e);
        }
    }
    return out;
}

/** Loads a kubeconfig in kubectl's order (see ClientConfig); throws naming what is missing and the fix. */
export function loadKubeconfig(o: LoadOptions = {}): LoadedKubeconfig {
    const env = o.env ?? process.env;
    let doc: Fields;
    let where: string;
    if (o.content !== undefined && o.content.trim() !== "") {
        const parsed: unknown = YAML.parse(o.content);
        doc = isFields(parsed) ? parsed : {};
        where = "kubeconfig (content)";
    } else if (o.path) {
        doc = readDoc(o.path);
        where = `kubeconfig ${o.path}`;
    } else {
        const listed = (env.KUBECONFIG ?? "").split(nodePath.delimiter).filter((p) => p && fs.existsSync(p));
        const home = nodePath.join(env.HOME ?? os.homedir(), ".kube", "config");
        const files = listed.length ? listed : fs.existsSync(home) ? [home] : [];
        if (files.length === 0) {
            if (env.KUBERNETES_SERVICE_HOST) return { config: inClusterConfig(env), context: "in-cluster", namespace: inClusterNamespace(), contexts: ["in-cluster"] };
            throw new Error("no kubeconfig: KUBECONFIG names no existing file and ~/.kube/config does not exist (and this is not a Pod); pass --kubeconfig or set KUBECONFIG");
        }
        doc = files.length === 1 ? readDoc(files[0]) : mergeKubeconfigs(files.map(readDoc));
        where = `kubeconfig ${files.join(nodePath.delimiter)}`;
    }
    const contexts = (Array.isArray(doc.contexts) ? doc.contexts : []).filter(isFields).map((c) => String(c.name));
    const context = o.context || (typeof doc["current-context"] === "string" ? doc["current-context"] : "");
    if (!contexts.includes(context)) {
        throw new Error(`${where}: context "${context}" not found (contexts: ${contexts.join(", ") || "none"}); ${o.context ? "pass one of them" : "set current-context or pass --context"}`);
    }
    const ns = named(doc.contexts, context, "context")?.namespace;
    return { config: parseKubeconfig(doc, ".", context, where), context, namespace: typeof ns === "string" && ns ? ns : "default", contexts };
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

function inClusterNamespace(): string {
    try {
        return fs.readFileSync(`${SA_DIR}/namespace`, "utf8").trim() || "default";
    } catch {
        return "default";
    }
}

/** The pod's service-account config (KUBERNETES_SERVICE_HOST/PORT, token and CA files). */
export function inClusterConfig(env: Record<string, string | undefined> = process.env): ClientConfig {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    if (!host || !port) throw new Error("not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset); pass --kubeconfig");
    const h = host.includes(":") ? `[${host}]` : host;
    return { server: `https://${h}:${port}`, ca: fs.readFileSync(`${SA_DIR}/ca.crt`), tokenFile: `${SA_DIR}/token` };
}
