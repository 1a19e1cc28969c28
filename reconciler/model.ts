import { createHash } from "node:crypto";
import {
    ANNOTATION_ALLOW_NAMESPACE_SELECTOR,
    ANNOTATION_ALLOW_NAMESPACES,
    ANNOTATION_FAN_OUT,
    ANNOTATION_HOOKS,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    isOwnedAnnotation,
    isOwnedLabel,
    MANAGED_BY_LABEL,
    PREFIX,
} from "../derive";
import { canonicalJson, isDerived } from "../derive";
import { KubeObject } from "./machinery/informer";
import { ANNOTATION_RESTART_MIN_INTERVAL, ANNOTATION_RESTART_ON, ANNOTATION_RESTART_ON_IGNORE, ANNOTATION_RESTARTED_AT, ANNOTATION_RETAIN, ANNOTATION_SECRETS_HASH } from "./keys";
import { consumedSecrets, parseMinInterval, parseRestartIgnore, parseRestartOn, PodSpec } from "./restarts/workloads";

/** Hash of a secret's content (type + data only): metadata-only changes leave it unchanged. */
export function contentHash(secret: { type?: string; data?: Record<string, string> } | undefined): string {
    if (!secret) return "absent";
    return createHash("sha256").update(canonicalJson({ type: secret.type ?? "Opaque", data: secret.data ?? {} })).digest("hex");
}

/** Object metadata as the apiserver returns it (the fields the reconciler reads or must carry over). */
export interface ObjectMeta {
    namespace?: string;
    name?: string;
    generateName?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Record<string, unknown>[];
    finalizers?: string[];
    deletionTimestamp?: string;
    managedFields?: unknown[];
    creationTimestamp?: string;
}

/** A core/v1 Secret on the wire (data values base64). */
export interface Secret {
    apiVersion?: string;
    kind?: string;
    metadata: ObjectMeta;
    type?: string;
    data?: Record<string, string>;
    immutable?: boolean;
}

/** A Deployment / StatefulSet / DaemonSet as far as restarts care. */
export interface Workload {
    metadata: ObjectMeta;
    spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec?: PodSpec } };
}

export interface Namespace {
    metadata: ObjectMeta;
}

/**
 * What the informer caches of EVERY secret in the cluster: identity, type, a content hash (never the data) and only
 * the metadata routing and derived-secret comparison need. 20k unrelated secrets must stay cheap.
 */
export interface SecretMeta extends KubeObject {
    type: string;
    /** sha256 (hex, 32 chars) of type + data; "compare only", never leaves the process. */
    contentHash: string;
    immutable: boolean;
    deleting: boolean;
    /** Data key names of a derived secret (a merge patch must null the keys the derivation no longer writes). */
    dataKeys?: string[];
    /** `restart-on-ignore: "true"`: no workload restarts for this secret's changes. */
    restartIgnored?: true;
}

function pick(m: Record<string, string> | undefined, keep: (k: string) => boolean): Record<string, string> | undefined {
    if (!m) return undefined;
    let out: Record<string, string> | undefined;
    for (const [k, v] of Object.entries(m)) if (keep(k)) (out ??= {})[k] = v;
    return out;
}

/** Annotations kept verbatim on non-derived secrets: deletion retention and the source's grants (small strings). */
const KEPT_ON_SOURCES = new Set([ANNOTATION_RETAIN, ANNOTATION_ALLOW_NAMESPACES, ANNOTATION_ALLOW_NAMESPACE_SELECTOR]);

const ourLabel = (k: string) => k === MANAGED_BY_LABEL || k.startsWith(PREFIX) || isOwnedLabel(k);


/**
 * What the cache keeps of one Secret's annotations at most (issue 21: the cache must not grow with what tenants
 * write; the apiserver allows 256 KiB of annotations per object, on every forged derived secret). A value past
 * MAX_CACHED_VALUE is kept as "" (fail closed: an empty grant grants nothing, an empty recipe part is refused);
 * keys past MAX_CACHED_ANNOTATIONS total (in key order) are not kept. Real ones are far below both.
 */
export const MAX_CACHED_VALUE = 8 * 1024;
export const MAX_CACHED_ANNOTATIONS = 16 * 1024;
/** Data key names kept for a derived secret (a merge patch nulls keys the derivation no longer writes). */
export const MAX_CACHED_DATA_KEYS = 256;

function capped(m: Record<string, string> | undefined): Record<string, string> | undefined {
    if (!m) return undefined;
    let total = 0;
    let out: Record<string, string> | undefined;
    for (const k of Object.keys(m).sort()) {
        const v = m[k]!.length > MAX_CACHED_VALUE ? "" : m[k]!;
        total += k.length + v.length;
        if (total > MAX_CACHED_ANNOTATIONS) break;
        (out ??= {})[k] = v;
    }
    return out;
}

export function slimSecret(o: Secret): SecretMeta {
    const derived = isDerived(o);
    const ann = o.metadata?.annotations;
    // Derived secrets keep every annotation we own or compare (recipe, status, tekton.dev/*); other secrets keep
    // only our keys, and the fan-out JSON only as a presence marker (it is read live when the source reconciles).
    let annotations = capped(derived ? pick(ann, (k) => k.startsWith(PREFIX) || isOwnedAnnotation(k)) : pick(ann, (k) => KEPT_ON_SOURCES.has(k)));
    if (!derived) for (const k of [ANNOTATION_FAN_OUT, ANNOTATION_HOOKS]) if (ann?.[k] !== undefined) annotations = { ...(annotations ?? {}), [k]: "" };
    return {
        metadata: {
            namespace: o.metadata?.namespace,
            name: o.metadata?.name,
            resourceVersion: o.metadata?.resourceVersion,
            uid: o.metadata?.uid,
            labels: pick(o.metadata?.labels, ourLabel),
            annotations,
        },
        type: o.type ?? "Opaque",
        contentHash: contentHash(o).slice(0, 32),
        immutable: o.immutable === true,
        deleting: o.metadata?.deletionTimestamp !== undefined,
        ...(derived ? { dataKeys: Object.keys(o.data ?? {}).sort().slice(0, MAX_CACHED_DATA_KEYS) } : {}),
        ...(ann?.[ANNOTATION_RESTART_ON_IGNORE]?.trim() === "true" ? { restartIgnored: true as const } : {}),
    };
}

/** "ns/name" of the source a derived secret names, from its recipe annotations. */
export function sourceKeyOf(s: KubeObject): string | undefined {
    if (!isDerived(s)) return undefined;
    const a = s.metadata.annotations;
    const ns = a?.[ANNOTATION_SOURCE_NAMESPACE];
    const name = a?.[ANNOTATION_SOURCE_NAME];
    return ns && name ? `${ns}/${name}` : undefined;
}

export function hasFanOut(s: KubeObject): boolean {
    return s.metadata.annotations?.[ANNOTATION_FAN_OUT] !== undefined;
}

/** A hooks annotation on a Secret: no longer honoured (hooks are administrator policy), only warned about. */
export function hasHooksAnnotation(s: KubeObject): boolean {
    return s.metadata.annotations?.[ANNOTATION_HOOKS] !== undefined;
}

export type SlimNamespace = KubeObject;

export function slimNamespace(o: Namespace): SlimNamespace {
    return { metadata: { name: o.metadata?.name, resourceVersion: o.metadata?.resourceVersion, uid: o.metadata?.uid, labels: o.metadata?.labels ?? {} } };
}

/** A workload as cached: identity and the secrets it follows (computed once, so the pod spec is not kept). */
export interface SlimWorkload extends KubeObject {
    consumes: string[];
    templateHash?: string;
    /** The workload's own baseline secrets-hash (recorded without a rollout when it opted in). */
    baselineHash?: string;
    /** Shortest time between two restarts (restart-min-interval), and when the reconciler last restarted it. */
    minIntervalMs?: number;
    restartedAt?: number;
    invalid?: string;
}

export function slimWorkload(o: Workload): SlimWorkload {
    const object = `${o.metadata?.namespace}/${o.metadata?.name}`;
    let consumes: string[] = [];
    let invalid: string | undefined;
    let minIntervalMs: number | undefined;
    try {
        const ignored = parseRestartIgnore(o.metadata?.annotations?.[ANNOTATION_RESTART_ON_IGNORE], object);
        consumes = consumedSecrets(parseRestartOn(o.metadata?.annotations?.[ANNOTATION_RESTART_ON], object), o.spec?.template?.spec).filter((n) => !ignored.includes(n));
        minIntervalMs = parseMinInterval(o.metadata?.annotations?.[ANNOTATION_RESTART_MIN_INTERVAL], object);
    } catch (e) {
        invalid = (e as Error).message;
    }
    const restartedAt = Date.parse(o.metadata?.annotations?.[ANNOTATION_RESTARTED_AT] ?? "");
    return {
        metadata: { namespace: o.metadata?.namespace, name: o.metadata?.name, resourceVersion: o.metadata?.resourceVersion, uid: o.metadata?.uid },
        consumes,
        templateHash: o.spec?.template?.metadata?.annotations?.[ANNOTATION_SECRETS_HASH],
        baselineHash: o.metadata?.annotations?.[ANNOTATION_SECRETS_HASH],
        ...(minIntervalMs !== undefined ? { minIntervalMs } : {}),
        ...(Number.isFinite(restartedAt) ? { restartedAt } : {}),
        invalid,
    };
}

/** A reverse index key → set of keys. */
class MultiIndex {
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
    get size(): number {
        return this.m.size;
    }
}

/**
 * THE index from a secret to what depends on it: derived secrets naming it as their source (fan-out copies are
 * derived secrets too) and workloads that restart when it changes. Fed only by informer events, so it is rebuilt
 * from the cluster after every restart (no database).
 */
export class DependencyIndex {
    private readonly derived = new MultiIndex();
    private readonly workloads = new MultiIndex();
    private readonly sourceOfDerived = new Map<string, string>();
    private readonly consumesOfWorkload = new Map<string, string[]>();

    /** Records (or clears, with undefined) the source a derived secret names. */
    setDerived(derivedKey: string, sourceKey: string | undefined): void {
        const old = this.sourceOfDerived.get(derivedKey);
        if (old === sourceKey) return;
        if (old !== undefined) this.derived.remove(old, derivedKey);
        if (sourceKey === undefined) this.sourceOfDerived.delete(derivedKey);
        else {
            this.sourceOfDerived.set(derivedKey, sourceKey);
            this.derived.add(sourceKey, derivedKey);
        }
    }

    /** Records the secrets (keys "ns/name") a workload key follows; [] clears. */
    setWorkload(workloadKey: string, secretKeys: string[]): void {
        for (const s of this.consumesOfWorkload.get(workloadKey) ?? []) this.workloads.remove(s, workloadKey);
        if (secretKeys.length === 0) this.consumesOfWorkload.delete(workloadKey);
        else this.consumesOfWorkload.set(workloadKey, [...secretKeys]);
        for (const s of secretKeys) this.workloads.add(s, workloadKey);
    }

    derivedOf(sourceKey: string): string[] {
        return this.derived.get(sourceKey);
    }

    sourceOf(derivedKey: string): string | undefined {
        return this.sourceOfDerived.get(derivedKey);
    }

    workloadsOf(secretKey: string): string[] {
        return this.workloads.get(secretKey);
    }

    /** Whether anything derives from `key` (it is a source). */
    isSource(key: string): boolean {
        return this.derived.has(key);
    }

    /** Workloads restarted when `key` changes: its own consumers and those of every secret derived from it. */
    consumersOf(key: string): string[] {
        const out = new Set(this.workloads.get(key));
        for (const d of this.derived.get(key)) for (const w of this.workloads.get(d)) out.add(w);
        return [...out];
    }

    get stats(): { sources: number; derived: number; consumedSecrets: number; workloads: number } {
        return { sources: this.derived.size, derived: this.sourceOfDerived.size, consumedSecrets: this.workloads.size, workloads: this.consumesOfWorkload.size };
    }
}

/** Entries kept at most by the "said once" memos (refusal Events, ignored hooks annotations, fingerprint takeovers). */
export const BOUNDED_MEMO_ENTRIES = 10_000;
