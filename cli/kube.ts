import { LABEL_DERIVED, MANAGED_BY_LABEL, PREFIX, ANNOTATION_SOURCE_HASH } from "../derive";
import { isKubeError, KubeApiError, KubeClient, loadKubeconfig, LoadedKubeconfig, RequestOptions } from "../lib/kube";

/**
 * The CLI's access to the cluster: the USER's kubeconfig and context (so Kubernetes RBAC decides what each person
 * sees and may do), the reconciler's KubeClient as transport, and one boundary where Secrets are reduced to the
 * metadata the CLI shows. Nothing past `slimSecret` ever holds a Secret value.
 */

export interface ConnectOptions {
    kubeconfig?: string;
    context?: string;
}

export interface Connection {
    client: KubeClient;
    /** The context's namespace, else "default" (what kubectl would use without -n). */
    namespace: string;
    context: string;
    server: string;
}

/**
 * Loads the user's kubeconfig (--kubeconfig, else KUBECONFIG, else ~/.kube/config, else in-cluster) and context with
 * lib/kube's loader (tokens, certificates, exec plugins such as `aws eks get-token`).
 */
export async function connect(o: ConnectOptions): Promise<Connection> {
    let loaded: LoadedKubeconfig;
    try {
        loaded = loadKubeconfig({ ...(o.kubeconfig ? { path: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}) });
    } catch (e) {
        throw new AccessError(`cannot load the kubeconfig${o.kubeconfig ? ` ${o.kubeconfig}` : ""}: ${firstLine(e)}`);
    }
    let client: KubeClient;
    try {
        client = KubeClient.fromConfig(loaded.config);
    } catch (e) {
        throw new AccessError(`cannot use the credentials of context "${loaded.context}": ${firstLine(e)}`);
    }
    return { client, namespace: loaded.namespace, context: loaded.context, server: loaded.config.server };
}

/** A problem reaching or using the cluster (exit code 3): unreachable, bad kubeconfig, not permitted, not found. */
export class AccessError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "AccessError";
    }
}

function firstLine(e: unknown): string {
    return String((e as Error)?.message ?? e).split("\n")[0];
}

export const isForbidden = (e: unknown): boolean => isKubeError(e, 403) || isKubeError(e, 401);
export const isNotFound = (e: unknown): boolean => isKubeError(e, 404);

/** A human sentence for an apiserver or network error (names the verb and object, never a body value). */
export function describeError(e: unknown, what: string): string {
    if (isKubeError(e, 401)) return `${what}: not authenticated (401); your kubeconfig credentials were rejected or expired`;
    if (isKubeError(e, 403)) return `${what}: not permitted (403) for your credentials`;
    if (isKubeError(e, 404)) return `${what}: not found`;
    if (e instanceof KubeApiError) return `${what}: ${e.code} ${e.reason}`;
    const code = (e as { code?: string })?.code;
    if (typeof code === "string" && /^E[A-Z]+/.test(code)) return `${what}: cannot reach the apiserver (${code})`;
    return `${what}: ${firstLine(e)}`;
}

/** Metadata of a Secret the CLI may show: our labels and annotations only, never data nor the source hash. */
export interface SlimSecret {
    namespace: string;
    name: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    /** Only app.kubernetes.io/managed-by and platform-secrets.io/* labels. */
    labels: Record<string, string>;
    /**
     * Only platform-secrets.io/* annotations, without source-hash (a plain sha256 of the data). Foreign annotations
     * are dropped: `kubectl.kubernetes.io/last-applied-configuration` holds the whole Secret, values included.
     */
    annotations: Record<string, string>;
}

export const key = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;

/** The one boundary: a Secret (or PartialObjectMetadata) from the apiserver → what the CLI keeps. Pure. */
/**
 * What a tenant wrote, made safe to print on a terminal (pure): C0/C1 control characters (ESC starts colour, cursor
 * and OSC 52 clipboard sequences), DEL and the Unicode bidi overrides (which reorder what is shown) become visible
 * `\u{..}` escapes. Applied at the kube boundary to every label and annotation value and Event text the CLI keeps.
 */
export function printable(s: string): string {
    return s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

export function slimSecret(raw: { metadata?: { namespace?: string; name?: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }): SlimSecret {
    const m = raw.metadata ?? {};
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.labels ?? {})) if (k === MANAGED_BY_LABEL || k.startsWith(PREFIX)) labels[k] = printable(v);
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.annotations ?? {})) if (k.startsWith(PREFIX) && k !== ANNOTATION_SOURCE_HASH) annotations[k] = printable(v);
    return { namespace: m.namespace ?? "", name: m.name ?? "", uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp, labels, annotations };
}

/** Asks for metadata only (no data crosses the wire) where the client supports an Accept override; harmless otherwise. */
const METADATA_ONLY = { accept: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json" };
const METADATA_ONLY_ONE = { accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json" };

export const DERIVED_SELECTOR = `${LABEL_DERIVED}=true`;

/** Lists Secrets under `path` (a namespace or cluster-wide), paginated, slimmed page by page. */
export async function listSecrets(client: KubeClient, path: string, labelSelector?: string): Promise<SlimSecret[]> {
    const out: SlimSecret[] = [];
    let cont: string | undefined;
    do {
        const opts = { query: { limit: 500, continue: cont, labelSelector }, ...METADATA_ONLY } as RequestOptions;
        const page = await client.request<{ items?: unknown[]; metadata?: { continue?: string } }>("GET", path, opts);
        for (const item of page.items ?? []) out.push(slimSecret(item as Parameters<typeof slimSecret>[0]));
        cont = page.metadata?.continue || undefined;
    } while (cont);
    return out;
}

/** One Secret's metadata; undefined when absent. Throws on 403 (callers decide how to show it). */
export async function getSlimSecret(client: KubeClient, namespace: string, name: string): Promise<SlimSecret | undefined> {
    try {
        return slimSecret(await client.request("GET", `/api/v1/namespaces/${namespace}/secrets/${name}`, { object: `${namespace}/${name}`, ...METADATA_ONLY_ONE } as RequestOptions));
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
}

/** "ns/name" → parts; throws a usage-style Error naming the argument. */
export function parseRef(ref: string | undefined, what = "NS/NAME"): { namespace: string; name: string } {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(ref ?? "");
    if (!m) throw new RefError(`expected ${what} (namespace/name of a Secret), got ${JSON.stringify(ref ?? "")}`);
    return { namespace: m[1], name: m[3] };
}

export class RefError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RefError";
    }
}
