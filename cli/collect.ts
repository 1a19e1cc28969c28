import { ANNOTATION_FAN_OUT, ANNOTATION_SOURCE_NAME, ANNOTATION_SOURCE_NAMESPACE, isDerived } from "../derive";
import { KubeClient } from "../lib/kube";
import { ANNOTATION_FAN_OUT_STATUS, ANNOTATION_RESTART_ON, ANNOTATION_RESTART_ON_IGNORE, ANNOTATION_SYNC_REQUESTED, consumedSecrets, parseRestartIgnore, parseRestartOn, PodSpec, WORKLOAD_KINDS, WorkloadKind } from "../reconciler/api";
import { describeError, getSlimSecret, isForbidden, key, listSecrets, SlimSecret } from "./kube";

/**
 * Reads what `status`, `graph` and the dashboard show, with the user's credentials. Every 403 becomes a line in
 * `notPermitted` ("secrets in namespace x"), never an exception: RBAC decides what each person sees.
 */

export type Scope = { kind: "namespace"; namespace: string } | { kind: "all" };

export interface SourceInfo {
    key: string;
    state: "present" | "missing" | "not-permitted";
    secret?: SlimSecret;
}

export interface WorkloadInfo {
    kind: WorkloadKind;
    namespace: string;
    name: string;
    /** Secret names (same namespace) whose changes restart it (restart-on), [] when not opted in. */
    consumes: string[];
    /** A restart-on annotation the reconciler cannot parse (names the workload and the fix). */
    problem?: string;
}

export interface ClusterView {
    scope: Scope;
    /** Derived secrets readable in scope. */
    derived: SlimSecret[];
    /** Sources named by those, and sources in scope that declare a fan-out. */
    sources: Map<string, SourceInfo>;
    workloads: WorkloadInfo[];
    /** What could not be read, e.g. "secrets in namespace team-b". */
    notPermitted: string[];
    /** Other read failures (network, 5xx), as sentences. */
    problems: string[];
}

export interface CollectOptions {
    workloads?: boolean;
    /** Make sure this source ("ns/name") is looked up even when outside the scope. */
    source?: string;
}

const LIMIT = 8;

async function mapLimit<T, R>(items: readonly T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let i = 0;
    await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
        while (i < items.length) {
            const j = i++;
            out[j] = await fn(items[j]);
        }
    }));
    return out;
}

/** Namespaces to read one by one when a cluster-wide list is forbidden; undefined when listing them is too. */
async function visibleNamespaces(client: KubeClient): Promise<string[] | undefined> {
    try {
        const res = await client.request<{ items?: { metadata?: { name?: string } }[] }>("GET", "/api/v1/namespaces");
        return (res.items ?? []).map((n) => n.metadata?.name ?? "").filter(Boolean).sort();
    } catch (e) {
        if (isForbidden(e)) return undefined;
        throw e;
    }
}

export async function collect(client: KubeClient, scope: Scope, opts: CollectOptions = {}): Promise<ClusterView> {
    const view: ClusterView = { scope, derived: [], sources: new Map(), workloads: [], notPermitted: [], problems: [] };
    const listed = new Map<string, SlimSecret>();
    const listedNamespaces = new Set<string>();
    let everything = false;
    const take = (items: SlimSecret[], ns?: string) => {
        if (ns) listedNamespaces.add(ns);
        for (const s of items) {
            listed.set(key(s), s);
            if (isDerived({ metadata: s })) view.derived.push(s);
            const a = s.annotations;
            if (a[ANNOTATION_FAN_OUT] !== undefined || a[ANNOTATION_FAN_OUT_STATUS] !== undefined || (a[ANNOTATION_SYNC_REQUESTED] !== undefined && !isDerived({ metadata: s }))) {
                view.sources.set(key(s), { key: key(s), state: "present", secret: s });
            }
        }
    };
    const readNamespace = async (ns: string) => {
        try {
            take(await listSecrets(client, `/api/v1/namespaces/${ns}/secrets`), ns);
        } catch (e) {
            if (isForbidden(e)) view.notPermitted.push(`secrets in namespace ${ns}`);
            else view.problems.push(describeError(e, `listing secrets in namespace ${ns}`));
        }
    };
    let namespaces: string[] = [];
    if (scope.kind === "namespace") {
        namespaces = [scope.namespace];
        await readNamespace(scope.namespace);
    } else {
        try {
            take(await listSecrets(client, "/api/v1/secrets"));
            everything = true;
        } catch (e) {
            if (!isForbidden(e)) throw e;
            const nss = await visibleNamespaces(client);
            if (nss === undefined) view.notPermitted.push("secrets in all namespaces, and listing namespaces (pass -n NAMESPACE for the ones you may read)");
            else {
                namespaces = nss;
                await mapLimit(nss, LIMIT, readNamespace);
            }
        }
    }
    const inListing = (ns: string) => everything || listedNamespaces.has(ns);

    await collectSources(client, view, listed, inListing, opts.source);

    if (opts.workloads) view.workloads = await collectWorkloads(client, everything ? "all" : namespaces, view);
    view.derived.sort((a, b) => cmp(key(a), key(b)));
    return view;
}

/** Fills `view.sources` with the sources that derived secrets (and `source`) name and the listing did not already add. */
async function collectSources(client: KubeClient, view: ClusterView, listed: Map<string, SlimSecret>, inListing: (ns: string) => boolean, source: string | undefined): Promise<void> {
    // Sources named by derived secrets (and --source): from the listing when their namespace was read, else one GET.
    const wanted = new Set<string>();
    for (const d of view.derived) {
        const ns = d.annotations[ANNOTATION_SOURCE_NAMESPACE];
        const name = d.annotations[ANNOTATION_SOURCE_NAME];
        if (ns && name) wanted.add(`${ns}/${name}`);
    }
    if (source) wanted.add(source);
    await mapLimit([...wanted].filter((k) => !view.sources.has(k)), LIMIT, async (k) => {
        const [ns, name] = k.split("/");
        if (inListing(ns)) {
            const s = listed.get(k);
            view.sources.set(k, s ? { key: k, state: "present", secret: s } : { key: k, state: "missing" });
            return;
        }
        try {
            const s = await getSlimSecret(client, ns, name);
            view.sources.set(k, s ? { key: k, state: "present", secret: s } : { key: k, state: "missing" });
        } catch (e) {
            if (isForbidden(e)) view.sources.set(k, { key: k, state: "not-permitted" });
            else view.problems.push(describeError(e, `reading source ${k}`));
        }
    });
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface RawWorkload {
    metadata?: { namespace?: string; name?: string; annotations?: Record<string, string> };
    spec?: { template?: { spec?: PodSpec } };
}

/** Deployments, StatefulSets and DaemonSets with what they consume (reconciler/restarts/workloads.ts decides, not us). */
export function workloadInfo(kind: WorkloadKind, w: RawWorkload): WorkloadInfo {
    const namespace = w.metadata?.namespace ?? "";
    const name = w.metadata?.name ?? "";
    try {
        const r = parseRestartOn(w.metadata?.annotations?.[ANNOTATION_RESTART_ON], `${kind}:${namespace}/${name}`);
        const ignored = parseRestartIgnore(w.metadata?.annotations?.[ANNOTATION_RESTART_ON_IGNORE], `${kind}:${namespace}/${name}`);
        return { kind, namespace, name, consumes: consumedSecrets(r, w.spec?.template?.spec).filter((n) => !ignored.includes(n)) };
    } catch (e) {
        return { kind, namespace, name, consumes: [], problem: (e as Error).message };
    }
}

async function collectWorkloads(client: KubeClient, namespaces: string[] | "all", view: ClusterView): Promise<WorkloadInfo[]> {
    const out: WorkloadInfo[] = [];
    const paths = namespaces === "all" ? [{ ns: undefined as string | undefined, base: "/apis/apps/v1" }] : namespaces.map((ns) => ({ ns, base: `/apis/apps/v1/namespaces/${ns}` }));
    await mapLimit(paths.flatMap((p) => WORKLOAD_KINDS.map((kind) => ({ ...p, kind }))), LIMIT, async ({ ns, base, kind }) => {
        try {
            const res = await client.request<{ items?: RawWorkload[] }>("GET", `${base}/${kind}`);
            for (const w of res.items ?? []) out.push(workloadInfo(kind, w));
        } catch (e) {
            if (isForbidden(e)) view.notPermitted.push(`${kind} in ${ns ? `namespace ${ns}` : "all namespaces"}`);
            else view.problems.push(describeError(e, `listing ${kind}${ns ? ` in namespace ${ns}` : ""}`));
        }
    });
    return out.sort((a, b) => cmp(`${a.namespace}/${a.kind}/${a.name}`, `${b.namespace}/${b.kind}/${b.name}`));
}
