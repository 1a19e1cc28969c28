import { LABEL_DERIVED, type SecretLike } from "../derive";
import { isKubeError, KubeApiError, KubeClient, loadKubeconfig } from "../lib/kube";

/**
 * The few apiserver calls the providers make, through lib/kube (the one client and kubeconfig loader of the
 * product, issue 23). Built inside provider methods, so the serialized provider captures no client object (Pulumi
 * serializes providers into state).
 */
export interface SecretsApi {
    get(namespace: string, name: string): Promise<SecretLike | undefined>;
    create(secret: SecretLike): Promise<SecretLike>;
    replace(secret: SecretLike): Promise<SecretLike>;
    /** Deletes with uid/resourceVersion preconditions when given; a 404 is success. */
    remove(namespace: string, name: string, precondition?: { uid?: string; resourceVersion?: string }): Promise<void>;
    listNamespaces(labelSelector?: string): Promise<string[]>;
    /** A namespace's labels; undefined when it is missing or may not be read (a selector grant then does not match). */
    namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
    /** The derived secrets (label platform-secrets.io/derived=true) in one namespace. */
    listDerived(namespace: string): Promise<SecretLike[]>;
    /** The Ready condition of an ESO ExternalSecret ("missing" / "unreadable" when it cannot be had). */
    externalSecretReady?(namespace: string, name: string): Promise<EsoReady>;
}

export type EsoReady = { status: string; reason?: string; message?: string } | "missing" | "unreadable" | "no-condition";

/** An error from the apiserver rephrased: object, HTTP code, reason and a fix. Never a request or response body. */
export class KubeError extends Error {
    constructor(message: string, readonly status?: number) {
        super(message);
        // Pulumi's closure serializer turns `super(...)` into `Error.call(this, ...)`, which sets nothing.
        this.message = message;
        this.name = "KubeError";
    }
}

const FIXES: Record<number, string> = {
    401: "check the credentials in the kubeconfig",
    403: "grant the kubeconfig's identity get/list/create/update/delete on secrets in that namespace (and list on namespaces for selectors); update on the source secret lets the provider add its namespace grant",
    404: "create the namespace or fix its name",
    409: "retry: the object changed concurrently",
    422: "fix the fields named above",
};

export function kubeError(e: unknown, action: string, object: string): KubeError {
    if (!(e instanceof KubeApiError)) {
        // Transport errors (refused, TLS, DNS) carry URLs and OS codes, no object content.
        const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
        return new KubeError(`${action} ${object} failed: cannot reach the apiserver (${msg}). Fix: check the kubeconfig's server address and that the apiserver is up`);
    }
    const code = e.code;
    // 400/422 messages may quote submitted field values; only field names are kept from those.
    const detail = code === 400 || code === 422 ? e.causes.join(", ") : e.statusMessage;
    const fix = FIXES[code] ?? "see the apiserver logs";
    const reason = e.reason && e.reason !== "Unknown" ? ` ${e.reason}` : "";
    return new KubeError(`${action} ${object} failed: HTTP ${code}${reason}${detail ? ` (${detail})` : ""}. Fix: ${fix}`, code);
}

/**
 * A real Error carrying only the message of `e`. Provider entry points throw these: errors built from serialized
 * classes lose their Error prototype, and the dynamic-provider host prints `${e}: ${e.stack}`.
 */
export function plainError(e: unknown): Error {
    const msg = typeof (e as { message?: unknown })?.message === "string" ? (e as { message: string }).message : String(e);
    const err = new Error(msg);
    const name = (e as { name?: unknown })?.name;
    if (typeof name === "string") err.name = name;
    return err;
}

function toWire(s: SecretLike): Record<string, unknown> {
    return { apiVersion: "v1", kind: "Secret", metadata: s.metadata, type: s.type, data: s.data };
}

function fromWire(s: { metadata?: SecretLike["metadata"]; type?: string; data?: Record<string, string> }): SecretLike {
    return { metadata: s.metadata ?? {}, type: s.type, data: s.data ?? {} };
}

/** A Secret as the apiserver returns it (every field optional). */
type Wire = { metadata?: SecretLike["metadata"]; type?: string; data?: Record<string, string> };

/** How errors name a secret: `secret NS/NAME`. */
function secretRef(ns: string | undefined, name: string | undefined): string {
    return `secret ${ns}/${name}`;
}

/** The apiserver path of a namespace's secrets, or of one secret when `name` is given. */
function secretPath(ns: string, name?: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets${name !== undefined ? `/${encodeURIComponent(name)}` : ""}`;
}

/** Loads the kubeconfig for `connect`, rephrasing a failure (above all a missing context) as a KubeError with a fix. */
function loadConfig(kubeconfig?: string, context?: string): ReturnType<typeof loadKubeconfig> {
    try {
        return loadKubeconfig({ ...(kubeconfig ? { content: kubeconfig } : {}), ...(context ? { context } : {}) });
    } catch (e) {
        const msg = (e as Error).message;
        if (context && /context ".*" not found/.test(msg)) {
            throw new KubeError(`kubeconfig context "${context}" not found (${/\(contexts: [^)]*\)/.exec(msg)?.[0].slice(1, -1) ?? "contexts: none"}). Fix: set platform-secrets:kubeContext to one of them, or point KUBECONFIG at the kubeconfig that has it`);
        }
        throw new KubeError(`${msg}. Fix: point KUBECONFIG at a valid kubeconfig`);
    }
}

/** The single-secret calls of a SecretsApi (get, create, replace, remove) on `client`. */
function secretCalls(client: KubeClient): Pick<SecretsApi, "get" | "create" | "replace" | "remove"> {
    return {
        async get(namespace, name) {
            try {
                return fromWire(await client.request<Wire>("GET", secretPath(namespace, name)));
            } catch (e) {
                if (isKubeError(e, 404)) return undefined;
                throw kubeError(e, "reading", secretRef(namespace, name));
            }
        },
        async create(secret) {
            try {
                return fromWire(await client.request<Wire>("POST", secretPath(secret.metadata.namespace!), { body: toWire(secret) }));
            } catch (e) {
                throw kubeError(e, "creating", secretRef(secret.metadata.namespace, secret.metadata.name));
            }
        },
        async replace(secret) {
            try {
                return fromWire(await client.request<Wire>("PUT", secretPath(secret.metadata.namespace!, secret.metadata.name!), { body: toWire(secret) }));
            } catch (e) {
                throw kubeError(e, "updating", secretRef(secret.metadata.namespace, secret.metadata.name));
            }
        },
        async remove(namespace, name, precondition) {
            try {
                await client.request("DELETE", secretPath(namespace, name), precondition ? { body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: precondition } } : {});
            } catch (e) {
                if (isKubeError(e, 404)) return;
                throw kubeError(e, "deleting", secretRef(namespace, name));
            }
        },
    };
}

/** The listing and namespace-wide calls of a SecretsApi (namespaces, their labels, ESO readiness, derived secrets) on `client`. */
function listCalls(client: KubeClient): Pick<SecretsApi, "listNamespaces" | "namespaceLabels" | "externalSecretReady" | "listDerived"> {
    return {
        async listNamespaces(labelSelector) {
            try {
                const list = await client.request<{ items?: { metadata?: { name?: string } }[] }>("GET", "/api/v1/namespaces", { query: { labelSelector } });
                return (list.items ?? []).map((n) => n.metadata?.name ?? "").filter((n) => n !== "").sort();
            } catch (e) {
                throw kubeError(e, "listing", `namespaces${labelSelector ? ` matching "${labelSelector}"` : ""}`);
            }
        },
        async namespaceLabels(name) {
            try {
                return { ...((await client.request<{ metadata?: { labels?: Record<string, string> } }>("GET", `/api/v1/namespaces/${encodeURIComponent(name)}`)).metadata?.labels ?? {}) };
            } catch (e) {
                if (isKubeError(e, 404) || isKubeError(e, 403)) return undefined;
                throw kubeError(e, "reading", `namespace ${name}`);
            }
        },
        async externalSecretReady(namespace, name) {
            try {
                const es = await client.request<{ status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }>(
                    "GET",
                    `/apis/external-secrets.io/v1/namespaces/${encodeURIComponent(namespace)}/externalsecrets/${encodeURIComponent(name)}`,
                );
                const c = (es.status?.conditions ?? []).find((x) => x.type === "Ready");
                return c ? { status: c.status, reason: c.reason, message: c.message } : "no-condition";
            } catch (e) {
                return isKubeError(e, 404) ? "missing" : "unreadable";
            }
        },
        async listDerived(namespace) {
            try {
                return ((await client.request<{ items?: Wire[] }>("GET", secretPath(namespace), { query: { labelSelector: `${LABEL_DERIVED}=true` } })).items ?? []).map(fromWire);
            } catch (e) {
                throw kubeError(e, "listing", `derived secrets in namespace ${namespace}`);
            }
        },
    };
}

/**
 * A SecretsApi for `kubeconfig` (YAML content) or, when absent, the default loading rules, at `context` (a context
 * name of that kubeconfig) or, when absent, its current-context. The stack passes the context NAME, never the
 * content: the kubernetes.Provider and every dynamic resource aim at the same cluster, and a kubeconfig whose
 * credentials rotate is not a changing input.
 */
export function connect(kubeconfig?: string, context?: string): SecretsApi {
    const client = KubeClient.fromConfig(loadConfig(kubeconfig, context).config);
    return { ...secretCalls(client), ...listCalls(client) };
}
