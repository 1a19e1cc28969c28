import {
    DesiredSecret,
    fanOutFromSource,
    isDerivationError,
    isDerived,
    isManaged,
    LABEL_SOURCE,
    matchesLabelSelector,
    mergeForUpdate,
    needsUpdate,
    Recipe,
    recipeFromSecret,
    recipesForFanOut,
    recordedSourceHash,
    requiresReplace,
    ANNOTATION_SOURCE_HASH,
} from "../derive";
import { deriveSecret } from "../derive";
import { forEachLimit, inScope, ReconcileContext } from "./context";
import { HookError } from "./hooks";
import { parseHooks } from "./hookspec";
import { ANNOTATION_FAN_OUT_OWNER, ANNOTATION_RETAIN, ANNOTATION_SYNC_HANDLED, ANNOTATION_SYNC_REQUESTED } from "./keys";
import { isKubeError } from "./kube";
import { fanOutOwnerOf } from "./model";
import { secretRef } from "./recorder";
import { inSyncAnnotations, StatusReport, statusPatch } from "./status";

const secretPath = (ns: string, name?: string) => `/api/v1/namespaces/${ns}/secrets${name ? `/${name}` : ""}`;

export async function getSecret(ctx: ReconcileContext, ns: string, name: string): Promise<any | undefined> {
    try {
        return await ctx.client.request("GET", secretPath(ns, name), { object: `${ns}/${name}` });
    } catch (e) {
        if (isKubeError(e, 404)) return undefined;
        throw e;
    }
}

/** Source known to be absent (`null`) vs not fetched yet (`undefined`). */
type SourceArg = any | null | undefined;

/** Reconciles one secret key in both roles it may have: a derived secret, and a source of others. */
export async function reconcileSecretKey(ctx: ReconcileContext, ns: string, name: string): Promise<void> {
    const key = `${ns}/${name}`;
    const live = await getSecret(ctx, ns, name);
    const isSource = ctx.sources.has(key) || ctx.derivedBySource.has(key) || ctx.tombstones.has(key) || live?.metadata?.labels?.[LABEL_SOURCE] === "true";
    if (live && isDerived(live) && !isSource) return reconcileDerived(ctx, live, undefined);
    if (live && isDerived(live)) await reconcileDerived(ctx, live, undefined);
    if (isSource) await reconcileSource(ctx, key, live ?? null);
}

async function putStatus(ctx: ReconcileContext, live: any, report: StatusReport): Promise<void> {
    const patch = statusPatch(live.metadata.annotations, report, new Date(ctx.clock.now()));
    if (!patch || !isManaged(live)) return;
    const key = `${live.metadata.namespace}/${live.metadata.name}`;
    const body = { ...live, metadata: { ...live.metadata, annotations: { ...(live.metadata.annotations ?? {}), ...patch } } };
    delete body.metadata.managedFields;
    const res = await ctx.client.request("PUT", secretPath(live.metadata.namespace, live.metadata.name), { body, object: key });
    ctx.ownWrites.set(key, res.metadata.resourceVersion);
    ctx.recorder.audit("status", key, `${report.status}: ${report.message}`);
    ctx.recorder.event(secretRef(res), report.status === "error" ? "Warning" : "Normal", statusReason(report.status), report.message);
}

function statusReason(s: StatusReport["status"]): string {
    switch (s) {
        case "in-sync":
            return "InSync";
        case "stale":
            return "Stale";
        case "source-missing":
            return "SourceMissing";
        case "error":
            return "DerivationFailed";
        default: {
            const never: never = s;
            throw new Error(`unknown status ${String(never)}`);
        }
    }
}

/** Brings one live derived secret in line with its source (idempotent; reads the source live unless given). */
export async function reconcileDerived(ctx: ReconcileContext, live: any, sourceArg: SourceArg): Promise<void> {
    const key = `${live.metadata.namespace}/${live.metadata.name}`;
    if (!isDerived(live)) return;
    const recipe = recipeFromSecret(live);
    if (!recipe) return putStatus(ctx, live, { status: "error", message: `the recipe annotations of ${key} are missing or malformed; re-create it through the stack` });
    const srcKey = `${recipe.source.namespace}/${recipe.source.name}`;
    const source = sourceArg === undefined ? ((await getSecret(ctx, recipe.source.namespace, recipe.source.name)) ?? null) : sourceArg;
    if (source === null) {
        const tomb = ctx.tombstones.get(srcKey);
        const retain = live.metadata.annotations?.[ANNOTATION_RETAIN] === "true" || tomb?.retain === true;
        if (tomb && !retain) {
            try {
                await ctx.client.request("DELETE", secretPath(live.metadata.namespace, live.metadata.name), {
                    body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion } },
                    object: key,
                });
            } catch (e) {
                if (!isKubeError(e, 404)) throw e;
            }
            ctx.metrics.writes.inc({ action: "delete", reason: "source-deleted" });
            ctx.recorder.audit("delete", key, `source ${srcKey} was deleted`, { sourceHash: recordedSourceHash(live) });
            return;
        }
        const message = tomb ? `source ${srcKey} was deleted; kept because ${ANNOTATION_RETAIN} is "true"` : `source ${srcKey} not found; the last derived value is kept`;
        return putStatus(ctx, live, { status: "source-missing", message });
    }
    let desired: DesiredSecret;
    try {
        desired = deriveSecret(source, recipe);
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        return putStatus(ctx, live, { status: "error", message: `${e.message}; the last derived value is kept` });
    }
    await writeDerived(ctx, live, desired);
}

async function writeDerived(ctx: ReconcileContext, live: any, desired: DesiredSecret): Promise<void> {
    const key = `${live.metadata.namespace}/${live.metadata.name}`;
    const ann = live.metadata.annotations ?? {};
    const requested = ann[ANNOTATION_SYNC_REQUESTED];
    const force = requested !== undefined && requested !== ann[ANNOTATION_SYNC_HANDLED];
    const changed = needsUpdate(live, desired);
    const now = new Date(ctx.clock.now());
    const hash = desired.metadata.annotations[ANNOTATION_SOURCE_HASH];
    if (!changed && !force) {
        return putStatus(ctx, live, { status: "in-sync", message: `in sync with source hash ${hash.slice(0, 12)}` });
    }
    const reason = !changed ? "sync requested" : recordedSourceHash(live) === hash ? "derived secret edited by hand; restored" : "source changed";
    if (requiresReplace(live, desired)) {
        await ctx.client.request("DELETE", secretPath(live.metadata.namespace, live.metadata.name), {
            body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion } },
            object: key,
        });
        const body = { ...mergeForUpdate({ ...live, metadata: { ...live.metadata, resourceVersion: undefined } }, desired) };
        body.metadata.annotations = { ...body.metadata.annotations, ...inSyncAnnotations(`written for source hash ${hash.slice(0, 12)}`, now) };
        delete body.metadata.resourceVersion;
        const res = await ctx.client.request("POST", secretPath(live.metadata.namespace), { body, object: key });
        ctx.ownWrites.set(key, res.metadata.resourceVersion);
        ctx.metrics.writes.inc({ action: "replace", reason: "type-changed" });
        ctx.recorder.audit("write", key, `${reason} (type changed: replaced)`, { sourceHash: hash });
        return;
    }
    const body: any = mergeForUpdate(live, desired);
    body.metadata.annotations = { ...body.metadata.annotations, ...inSyncAnnotations(`written for source hash ${hash.slice(0, 12)}`, now) };
    if (force) body.metadata.annotations[ANNOTATION_SYNC_HANDLED] = requested;
    // resourceVersion from the live read is the precondition: a concurrent writer makes this a 409 and the key re-queues.
    const res = await ctx.client.request("PUT", secretPath(live.metadata.namespace, live.metadata.name), { body, object: key });
    ctx.ownWrites.set(key, res.metadata.resourceVersion);
    ctx.metrics.writes.inc({ action: "update", reason: changed ? (reason === "source changed" ? "source-changed" : "restored") : "sync-requested" });
    ctx.recorder.audit("write", key, reason, { sourceHash: hash });
    if (reason.startsWith("derived secret edited")) ctx.recorder.event(secretRef(res), "Normal", "Restored", `hand edit reverted to the derivation of the source`);
}

/** The fan-out targets a source declares, given the namespaces known now (pure over the caches). */
export function fanOutTargets(ctx: ReconcileContext, source: any): Map<string, Recipe> {
    const out = new Map<string, Recipe>();
    const allNs = [...ctx.namespaceCache.values()];
    for (const spec of fanOutFromSource(source)) {
        const nss = new Set<string>(spec.namespaces ?? []);
        if (spec.namespaceSelector !== undefined) for (const n of allNs) if (matchesLabelSelector(n.metadata.labels, spec.namespaceSelector)) nss.add(n.metadata.name!);
        // Only existing namespaces: a namespace created later triggers this source again.
        const inScopeNs = [...nss].filter((n) => inScope(ctx, n) && ctx.namespaceCache.has(n));
        for (const r of recipesForFanOut(source, spec, inScopeNs)) out.set(`${r.target.namespace}/${r.target.name}`, r);
    }
    return out;
}

async function reconcileSource(ctx: ReconcileContext, key: string, live: any | null): Promise<void> {
    const existing = ctx.derivedBySource.get(key);
    if (live === null) {
        const errs = await forEachLimit(existing, ctx.fanOutConcurrency, async (d) => {
            const [ns, name] = d.split("/");
            const dl = await getSecret(ctx, ns, name);
            if (dl) await reconcileDerived(ctx, dl, null);
        });
        if (errs.length) throw errs[0];
        return;
    }
    const hooks = parseHooksSafe(ctx, live, key);
    if (hooks.length > 0) {
        try {
            const r = await ctx.hooks.run(live, hooks);
            if (r.allApplied) for (const w of consumersOf(ctx, key)) ctx.queue.add(w);
        } catch (e) {
            if (e instanceof HookError) {
                await forEachLimit(existing, ctx.fanOutConcurrency, async (d) => {
                    const [ns, name] = d.split("/");
                    const dl = await getSecret(ctx, ns, name);
                    if (dl && isDerived(dl)) await putStatus(ctx, dl, { status: "stale", message: `waiting for the init-time hook of ${key}: ${e.message}` });
                });
            }
            throw e;
        }
    }
    let targets = new Map<string, Recipe>();
    let fanOutValid = true;
    try {
        targets = fanOutTargets(ctx, live);
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        fanOutValid = false;
        ctx.logger.warn({ object: key, err: e.message }, "invalid fan-out annotation");
        ctx.recorder.event(secretRef(live), "Warning", "InvalidFanOut", e.message);
    }
    const work: (() => Promise<void>)[] = [];
    for (const d of existing) {
        const cached = ctx.derived.get(d);
        if (targets.has(d) || !cached || fanOutOwnerOf(cached) !== key) {
            work.push(async () => {
                const [ns, name] = d.split("/");
                const dl = await getSecret(ctx, ns, name);
                if (dl) await reconcileDerived(ctx, dl, live);
                else if (targets.has(d)) await createTarget(ctx, key, live, targets.get(d)!);
            });
        } else if (fanOutValid) {
            work.push(() => pruneTarget(ctx, key, d));
        }
    }
    for (const [t, recipe] of targets) if (!existing.includes(t)) work.push(() => createTarget(ctx, key, live, recipe));
    const errs = await forEachLimit(work, ctx.fanOutConcurrency, (w) => w());
    if (errs.length) throw errs[0];
}

function parseHooksSafe(ctx: ReconcileContext, live: any, key: string) {
    try {
        return parseHooks(live.metadata.annotations, key);
    } catch (e) {
        ctx.recorder.event(secretRef(live), "Warning", "InvalidHooks", (e as Error).message);
        ctx.logger.warn({ object: key, err: (e as Error).message }, "invalid hooks annotation");
        return [];
    }
}

/** Workloads consuming a secret or any secret derived from it. */
export function consumersOf(ctx: ReconcileContext, key: string): string[] {
    const out = new Set(ctx.workloadsBySecret.get(key));
    for (const d of ctx.derivedBySource.get(key)) for (const w of ctx.workloadsBySecret.get(d)) out.add(w);
    return [...out];
}

async function createTarget(ctx: ReconcileContext, srcKey: string, source: any, recipe: Recipe): Promise<void> {
    const key = `${recipe.target.namespace}/${recipe.target.name}`;
    let desired: DesiredSecret;
    try {
        desired = deriveSecret(source, recipe);
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        ctx.recorder.event(secretRef(source), "Warning", "DerivationFailed", `${key}: ${e.message}`);
        return;
    }
    const hash = desired.metadata.annotations[ANNOTATION_SOURCE_HASH];
    const body = {
        apiVersion: "v1",
        kind: "Secret",
        ...desired,
        metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [ANNOTATION_FAN_OUT_OWNER]: srcKey, ...inSyncAnnotations(`created for source hash ${hash.slice(0, 12)}`, new Date(ctx.clock.now())) } },
    };
    try {
        const res = await ctx.client.request("POST", secretPath(recipe.target.namespace), { body, object: key });
        ctx.ownWrites.set(key, res.metadata.resourceVersion);
    } catch (e) {
        if (!isKubeError(e, 409)) throw e;
        const live = await getSecret(ctx, recipe.target.namespace, recipe.target.name);
        if (live && isDerived(live) && recipeFromSecret(live)?.source.name === recipe.source.name && recipeFromSecret(live)?.source.namespace === recipe.source.namespace) {
            return reconcileDerived(ctx, live, source);
        }
        ctx.recorder.event(secretRef(source), "Warning", "TargetNotManaged", `fan-out target ${key} exists and is not managed by platform-secrets; left alone`);
        return;
    }
    ctx.metrics.writes.inc({ action: "create", reason: "fan-out" });
    ctx.recorder.audit("create", key, `fan-out of ${srcKey}`, { sourceHash: hash });
}

/** Deletes a fan-out copy whose namespace no longer matches — only our copy of this very source. */
async function pruneTarget(ctx: ReconcileContext, srcKey: string, key: string): Promise<void> {
    const [ns, name] = key.split("/");
    const live = await getSecret(ctx, ns, name);
    if (!live || !isDerived(live) || live.metadata.annotations?.[ANNOTATION_FAN_OUT_OWNER] !== srcKey) return;
    try {
        await ctx.client.request("DELETE", secretPath(ns, name), {
            body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion } },
            object: key,
        });
    } catch (e) {
        if (!isKubeError(e, 404)) throw e;
    }
    ctx.metrics.writes.inc({ action: "delete", reason: "fan-out-pruned" });
    ctx.recorder.audit("delete", key, `namespace ${ns} no longer selected by the fan-out of ${srcKey}`, { sourceHash: recordedSourceHash(live) });
}
