import { ANNOTATION_FAN_OUT, ANNOTATION_HOOKS, ANNOTATION_SOURCE_NAME, ANNOTATION_SOURCE_NAMESPACE, MANAGED_BY_LABEL, PREFIX } from "../derive";
import { KubeObject } from "./informer";
import { ANNOTATION_FAN_OUT_OWNER, ANNOTATION_RESTART_ON, ANNOTATION_RETAIN, ANNOTATION_SECRETS_HASH } from "./keys";
import { consumedSecrets, contentHash, parseRestartOn } from "./workloads";

/** What the informer caches of a secret: our metadata and a content hash, never the data (RSS and safety). */
export interface SlimSecret extends KubeObject {
    type: string;
    contentHash: string;
}

function pick(m: Record<string, string> | undefined, keep: (k: string) => boolean): Record<string, string> | undefined {
    if (!m) return undefined;
    const out: Record<string, string> = {};
    let any = false;
    for (const [k, v] of Object.entries(m)) {
        if (keep(k)) {
            out[k] = v;
            any = true;
        }
    }
    return any ? out : undefined;
}

const ours = (k: string) => k.startsWith(PREFIX) || k === MANAGED_BY_LABEL;
/** Only the annotations event routing reads: the cache must stay small at 20k secrets. */
const ROUTING_ANNOTATIONS = new Set([ANNOTATION_SOURCE_NAMESPACE, ANNOTATION_SOURCE_NAME, ANNOTATION_FAN_OUT_OWNER, ANNOTATION_RETAIN]);
const routing = (k: string) => ROUTING_ANNOTATIONS.has(k);

export function slimSecret(o: any): SlimSecret {
    return {
        metadata: {
            namespace: o.metadata?.namespace,
            name: o.metadata?.name,
            resourceVersion: o.metadata?.resourceVersion,
            uid: o.metadata?.uid,
            labels: pick(o.metadata?.labels, ours),
            annotations: slimAnnotations(o.metadata?.annotations),
        },
        type: o.type ?? "Opaque",
        contentHash: contentHash(o).slice(0, 32),
    };
}

/** Routing annotations kept verbatim; fan-out and hooks only as presence markers (their JSON is read live). */
function slimAnnotations(a: Record<string, string> | undefined): Record<string, string> | undefined {
    const out = pick(a, routing) ?? {};
    if (a?.[ANNOTATION_FAN_OUT] !== undefined) out[ANNOTATION_FAN_OUT] = "";
    if ((a?.[ANNOTATION_HOOKS] ?? "").trim() !== "") out[ANNOTATION_HOOKS] = "1";
    return Object.keys(out).length > 0 ? out : undefined;
}

export function sourceKeyOf(s: KubeObject): string | undefined {
    const a = s.metadata.annotations;
    const ns = a?.[ANNOTATION_SOURCE_NAMESPACE];
    const name = a?.[ANNOTATION_SOURCE_NAME];
    return ns && name ? `${ns}/${name}` : undefined;
}

export function fanOutOwnerOf(s: KubeObject): string | undefined {
    return s.metadata.annotations?.[ANNOTATION_FAN_OUT_OWNER];
}

export function hasFanOut(s: KubeObject): boolean {
    return s.metadata.annotations?.[ANNOTATION_FAN_OUT] !== undefined;
}

export function hasHooks(s: KubeObject): boolean {
    return (s.metadata.annotations?.[ANNOTATION_HOOKS] ?? "").trim() !== "";
}

export interface SlimNamespace extends KubeObject {}

export function slimNamespace(o: any): SlimNamespace {
    return { metadata: { name: o.metadata?.name, resourceVersion: o.metadata?.resourceVersion, uid: o.metadata?.uid, labels: o.metadata?.labels ?? {} } };
}

/** A workload as cached: identity, the secrets it follows (computed once, so the pod spec is not kept). */
export interface SlimWorkload extends KubeObject {
    consumes: string[];
    templateHash?: string;
    invalid?: string;
}

export function slimWorkload(o: any): SlimWorkload {
    const object = `${o.metadata?.namespace}/${o.metadata?.name}`;
    let consumes: string[] = [];
    let invalid: string | undefined;
    try {
        consumes = consumedSecrets(parseRestartOn(o.metadata?.annotations?.[ANNOTATION_RESTART_ON], object), o.spec?.template?.spec);
    } catch (e) {
        invalid = (e as Error).message;
    }
    return {
        metadata: { namespace: o.metadata?.namespace, name: o.metadata?.name, resourceVersion: o.metadata?.resourceVersion, uid: o.metadata?.uid, annotations: pick(o.metadata?.annotations, ours) },
        consumes,
        templateHash: o.spec?.template?.metadata?.annotations?.[ANNOTATION_SECRETS_HASH],
        invalid,
    };
}

/** A reverse index key → set of keys (e.g. source → derived secrets). */
export class MultiIndex {
    private readonly m = new Map<string, Set<string>>();
    add(from: string, to: string): void {
        let s = this.m.get(from);
        if (!s) this.m.set(from, (s = new Set()));
        s.add(to);
    }
    remove(from: string, to: string): void {
        const s = this.m.get(from);
        if (!s) return;
        s.delete(to);
        if (s.size === 0) this.m.delete(from);
    }
    get(from: string): string[] {
        return [...(this.m.get(from) ?? [])];
    }
    has(from: string): boolean {
        return this.m.has(from);
    }
}
