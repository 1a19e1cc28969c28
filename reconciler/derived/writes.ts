import { DesiredSecret, isOwnedAnnotation, isOwnedLabel, mergeForUpdate } from "../../derive";
import { ReconcileContext } from "../context";
import { isKubeError } from "../../lib/kube";
import { contentHash, Secret, SecretMeta } from "../model";
import { secretRef } from "../machinery/recorder";
import { ANNOTATION_CLAIM_REFUSED, ANNOTATION_STATUS, ANNOTATION_SYNC_HANDLED, ANNOTATION_SYNC_REQUESTED } from "../keys";
import { StatusReport, statusEvent, statusPatch } from "./status";


/**
 * Every write the reconciler makes to a Secret in a tenant's namespace (derived secrets, fan-out copies, our
 * annotations on sources). Updates are JSON merge patches carrying the resourceVersion read as precondition: one
 * request, a concurrent writer turns it into a 409 (the key is retried from fresh state), and everything other
 * controllers own (ownerReferences, finalizers, foreign labels and annotations) is untouched.
 * The reconciler's own state, in its own namespace where no tenant writes, is written by its owner: hook state
 * (hooks/hooks.ts), tombstones (tombstones.ts), the fingerprint key (fingerprint.ts).
 */

export const secretPath = (ns: string, name?: string) => `/api/v1/namespaces/${ns}/secrets${name ? `/${name}` : ""}`;
const MERGE = "application/merge-patch+json";

export async function getSecret(ctx: Pick<ReconcileContext, "client">, ns: string, name: string): Promise<Secret | undefined> {
    try {
        return await ctx.client.request<Secret>("GET", secretPath(ns, name), { object: `${ns}/${name}` });
    } catch (e) {
        if (isKubeError(e, 404)) return undefined;
        throw e;
    }
}

const keyOf = (m: SecretMeta) => `${m.metadata.namespace}/${m.metadata.name}`;

/**
 * What differs between the cached derived secret and the desired one (names only, safe to log): "type", "data"
 * (content hash), owned "labels.<k>" / "annotations.<k>". Pure.
 */
export function cachedDiff(meta: SecretMeta, desired: DesiredSecret): string[] {
    const out: string[] = [];
    if (meta.type !== desired.type) out.push("type");
    if (meta.contentHash !== contentHash(desired).slice(0, 32)) out.push("data");
    const cmp = (prefix: string, live: Record<string, string> | undefined, want: Record<string, string>, owned: (k: string) => boolean) => {
        const keys = new Set([...Object.keys(live ?? {}).filter(owned), ...Object.keys(want).filter(owned)]);
        for (const k of [...keys].sort()) if ((live ?? {})[k] !== want[k]) out.push(`${prefix}${k}`);
    };
    cmp("labels.", meta.metadata.labels, desired.metadata.labels, isOwnedLabel);
    cmp("annotations.", meta.metadata.annotations, desired.metadata.annotations, isOwnedAnnotation);
    return out;
}

/**
 * Writes the status annotations when they differ from the cached ones (no write otherwise); Event on change. A
 * pending sync request is acknowledged here too, so `platform-secrets sync` on a refused or failing secret gets its
 * answer (the status) instead of waiting for a write that will not come.
 */
export async function writeStatus(ctx: ReconcileContext, meta: SecretMeta, report: StatusReport, extra: Record<string, string | null> = {}): Promise<StatusReport> {
    const ann = meta.metadata.annotations ?? {};
    const requested = ann[ANNOTATION_SYNC_REQUESTED];
    const ack: Record<string, string | null> = requested !== undefined && requested !== ann[ANNOTATION_SYNC_HANDLED] ? { [ANNOTATION_SYNC_HANDLED]: requested } : {};
    // Extra annotations (the synced fingerprint) only when they differ from what is there.
    for (const [k, v] of Object.entries(extra)) if ((ann[k] ?? null) !== v) ack[k] = v;
    const patch = statusPatch(ann, report, new Date(ctx.clock.now()));
    if (!patch && Object.keys(ack).length === 0) return report;
    const key = keyOf(meta);
    const res = await ctx.ownWrites.track(key, () =>
        ctx.client.request<Secret>("PATCH", secretPath(meta.metadata.namespace!, meta.metadata.name), {
            body: { metadata: { resourceVersion: meta.metadata.resourceVersion, annotations: { ...patch, ...ack } } },
            contentType: MERGE,
            object: key,
        }),
    );
    if (!patch) return report;
    ctx.recorder.audit("status", key, `${report.status}: ${report.message}`);
    // The first in-sync stamp (a new derived secret, a first start) is not news; a recovery and every problem is.
    const prev = ann[ANNOTATION_STATUS];
    if (report.status !== "in-sync" || (prev !== undefined && prev !== "in-sync")) {
        const ev = statusEvent(report.status);
        ctx.recorder.event(secretRef(res), ev.type, ev.reason, report.message);
    }
    return report;
}

/**
 * Merge patch bringing a cached derived secret to `desired` plus `extraAnnotations` (status): owned keys the
 * derivation no longer writes are set to null (removed), every other key is left alone.
 */
export function derivedPatch(meta: SecretMeta, desired: DesiredSecret, extraAnnotations: Record<string, string>): Record<string, unknown> {
    const labels: Record<string, string | null> = { ...desired.metadata.labels };
    for (const k of Object.keys(meta.metadata.labels ?? {})) if (isOwnedLabel(k) && !(k in labels)) labels[k] = null;
    const annotations: Record<string, string | null> = { ...desired.metadata.annotations, ...extraAnnotations };
    for (const k of Object.keys(meta.metadata.annotations ?? {})) if (isOwnedAnnotation(k) && !(k in annotations)) annotations[k] = null;
    const data: Record<string, string | null> = { ...desired.data };
    for (const k of meta.dataKeys ?? []) if (!(k in data)) data[k] = null;
    return { metadata: { resourceVersion: meta.metadata.resourceVersion, labels, annotations }, data };
}

export async function patchDerived(ctx: ReconcileContext, meta: SecretMeta, desired: DesiredSecret, extraAnnotations: Record<string, string>): Promise<Secret> {
    const key = keyOf(meta);
    return ctx.ownWrites.track(key, () =>
        ctx.client.request<Secret>("PATCH", secretPath(meta.metadata.namespace!, meta.metadata.name), {
            body: derivedPatch(meta, desired, extraAnnotations),
            contentType: MERGE,
            object: key,
        }),
    );
}

/**
 * Delete + create, for what the apiserver refuses to patch: an `immutable` derived secret or a type change. The
 * new object keeps what others put on the old one (ownerReferences, finalizers, foreign labels/annotations,
 * immutability). A finalizer that delays the deletion turns the create into a 409: the key is retried.
 */
export async function replaceDerived(ctx: ReconcileContext, meta: SecretMeta, desired: DesiredSecret, extraAnnotations: Record<string, string>): Promise<Secret> {
    const key = keyOf(meta);
    const live = await getSecret(ctx, meta.metadata.namespace!, meta.metadata.name!);
    if (!live) throw new Error(`${key}: vanished before it could be replaced; retrying`);
    if (live.metadata.deletionTimestamp === undefined) {
        await ctx.client.request("DELETE", secretPath(meta.metadata.namespace!, meta.metadata.name), {
            body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion } },
            object: key,
        });
    }
    const merged = mergeForUpdate(live, desired);
    const body: Secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
            namespace: merged.metadata.namespace,
            name: merged.metadata.name,
            labels: merged.metadata.labels,
            annotations: { ...merged.metadata.annotations, ...extraAnnotations },
            ...(live.metadata.ownerReferences ? { ownerReferences: live.metadata.ownerReferences } : {}),
            ...(live.metadata.finalizers ? { finalizers: live.metadata.finalizers } : {}),
        },
        type: merged.type,
        data: merged.data,
        ...(live.immutable ? { immutable: true } : {}),
    };
    let res: Secret;
    try {
        res = await ctx.ownWrites.track(key, () => ctx.client.request<Secret>("POST", secretPath(meta.metadata.namespace!), { body, object: key }));
    } catch (e) {
        if (isKubeError(e, 409)) throw new Error(`${key}: the old object is still terminating (finalizers ${JSON.stringify(live.metadata.finalizers ?? [])}); the replace is retried`);
        throw e;
    }
    return res;
}

/** Creates a secret; 409 → undefined (the caller decides what an existing object means). */
export async function createSecret(ctx: ReconcileContext, body: Secret): Promise<Secret | undefined> {
    const key = `${body.metadata.namespace}/${body.metadata.name}`;
    try {
        return await ctx.ownWrites.track(key, () => ctx.client.request<Secret>("POST", secretPath(body.metadata.namespace!), { body: { apiVersion: "v1", kind: "Secret", ...body }, object: key }));
    } catch (e) {
        if (isKubeError(e, 409)) return undefined;
        throw e;
    }
}

/** Deletes exactly the cached version (uid + resourceVersion preconditions): a concurrent change wins. */
export async function deleteExact(ctx: ReconcileContext, meta: SecretMeta): Promise<void> {
    try {
        await ctx.client.request("DELETE", secretPath(meta.metadata.namespace!, meta.metadata.name), {
            body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: meta.metadata.uid, resourceVersion: meta.metadata.resourceVersion } },
            object: keyOf(meta),
        });
    } catch (e) {
        if (!isKubeError(e, 404)) throw e;
    }
}

/**
 * Our annotations on a source the user opted in (a fan-out status, a handled sync request): one merge patch guarded by
 * the resourceVersion this reconcile read, so a source changed meanwhile is reconciled again (409 → retry) instead of
 * getting a status about content it no longer has.
 */
export async function patchSourceAnnotations(ctx: ReconcileContext, live: Secret, annotations: Record<string, string | null>): Promise<void> {
    const key = `${live.metadata.namespace}/${live.metadata.name}`;
    await ctx.ownWrites.track(key, () =>
        ctx.client.request<Secret>("PATCH", secretPath(live.metadata.namespace!, live.metadata.name), {
            body: { metadata: { resourceVersion: live.metadata.resourceVersion, annotations } },
            contentType: MERGE,
            object: key,
        }),
    );
}

/**
 * Marks one secret as refused by this instance (pure decision + one merge patch): the reason in
 * ANNOTATION_CLAIM_REFUSED and a Warning Event, only when the annotation does not already say it. The status
 * annotations are left to the instance that acts there, so two instances never overwrite each other's status.
 */
export async function markClaimRefused(
    ctx: Pick<ReconcileContext, "client" | "recorder" | "ownWrites">,
    meta: { metadata: { namespace?: string; name?: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string> } },
    message: string,
): Promise<boolean> {
    const text = message.slice(0, 1024);
    if (meta.metadata.annotations?.[ANNOTATION_CLAIM_REFUSED] === text) return false;
    const ns = meta.metadata.namespace!;
    const name = meta.metadata.name!;
    const key = `${ns}/${name}`;
    await ctx.ownWrites.track(key, () =>
        ctx.client.request<{ metadata: { resourceVersion?: string } }>("PATCH", `/api/v1/namespaces/${ns}/secrets/${name}`, {
            body: { metadata: { resourceVersion: meta.metadata.resourceVersion, annotations: { [ANNOTATION_CLAIM_REFUSED]: text } } },
            contentType: "application/merge-patch+json",
            object: key,
        }),
    );
    ctx.recorder.event({ apiVersion: "v1", kind: "Secret", namespace: ns, name, uid: meta.metadata.uid }, "Warning", "NamespaceClaimed", text);
    return true;
}
