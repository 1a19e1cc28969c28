import { ANNOTATION_FAN_OUT, ANNOTATION_SOURCE_HASH, deriveSecret, DesiredSecret, isDerivationError, isDerived, Recipe, recipeFromSecret } from "../../derive";
import { forEachLimit, ReconcileContext, splitKey } from "../context";
import { HookError } from "../hooks/hooks";
import { ANNOTATION_FAN_OUT_OWNER, ANNOTATION_FAN_OUT_STATUS, ANNOTATION_SYNC_HANDLED, ANNOTATION_SYNC_REQUESTED, RefusalReason } from "../keys";
import { renderFanOutStatus, TargetStatus } from "./status";
import { hasHooksAnnotation, Secret, SecretMeta } from "../model";
import { hooksFor } from "../trust/policy";
import { secretRef } from "../machinery/recorder";
import { fanOutPlanOf, inSyncMessage, planOrError, reconcileDerived } from "./reconcile-derived";
import { inSyncAnnotations, StatusReport } from "./status";
import { authorizeDerivation, FanOutPlan } from "../trust/trust";
import { createSecret, deleteExact, getSecret, markClaimRefused, patchSourceAnnotations, writeStatus } from "./writes";

/** Whether a secret key plays the source role: something derives from it, it fans out, or hooks are declared for it. */
export function isSourceKey(ctx: ReconcileContext, key: string, meta: SecretMeta | undefined): boolean {
    return ctx.index.isSource(key) || (meta !== undefined && (meta.metadata.annotations?.[ANNOTATION_FAN_OUT] !== undefined || hasHooksAnnotation(meta))) || hooksFor(ctx.policy(), key).length > 0 || ctx.tombstones.has(key);
}

/**
 * Reconciles a source: administrator-declared init-time hooks first (consumers restart only after they succeed),
 * then every derived secret naming it and every fan-out target it asks for. One live GET of the source (none at a
 * start-up that prefetched it: prefetch.ts); each dependant is compared against the cache and written only when it
 * differs.
 */
export async function reconcileSourceKey(ctx: ReconcileContext, key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const live = ctx.prefetch?.take(key, ctx.secrets.get(key)?.metadata.resourceVersion) ?? (await getSecret(ctx, namespace, name)) ?? null;
    if (live === null) return sourceGone(ctx, key);
    ctx.tombstones.delete(key);
    warnAboutHooksAnnotation(ctx, key, live);
    const hooksDone = await runHooks(ctx, key, live);
    const { plan, planValid } = fanOutDeclaration(ctx, key, live);
    const ann = live.metadata.annotations ?? {};
    const syncRequested = ann[ANNOTATION_SYNC_REQUESTED] !== undefined && ann[ANNOTATION_SYNC_REQUESTED] !== ann[ANNOTATION_SYNC_HANDLED] ? ann[ANNOTATION_SYNC_REQUESTED] : undefined;
    const targets = new Map<string, TargetStatus>();
    const work = [...dependantWork(ctx, key, live, plan, planValid, syncRequested !== undefined, targets), ...(plan ? fanOutWork(ctx, key, live, plan, targets) : [])];
    const errs = await forEachLimit(work, ctx.fanOutConcurrency, (w) => w());
    // Seed 002: which copies are in sync, pending or refused must be readable later, not only as an Event.
    const sourcePatch: Record<string, string | null> = {};
    if (plan || ann[ANNOTATION_FAN_OUT_STATUS] !== undefined) {
        const text = plan ? renderFanOutStatus(targets) : null;
        if ((text ?? undefined) !== ann[ANNOTATION_FAN_OUT_STATUS]) sourcePatch[ANNOTATION_FAN_OUT_STATUS] = text;
    }
    if (errs.length === 0 && syncRequested !== undefined) sourcePatch[ANNOTATION_SYNC_HANDLED] = syncRequested;
    if (Object.keys(sourcePatch).length > 0) await patchSourceAnnotations(ctx, live, sourcePatch);
    if (errs.length) throw errs[0];
    // Consumers wait for the hooks (a restart deferred while they ran is not re-triggered by any event): let them
    // decide again now. Idempotent: a workload whose secrets hash is unchanged is not written.
    if (hooksDone) for (const w of ctx.index.consumersOf(key)) ctx.queue.add(w);
}

/** The administrator's init-time hooks of this source; true when there were some and they all succeeded. */
async function runHooks(ctx: ReconcileContext, key: string, live: Secret): Promise<boolean> {
    const hooks = hooksFor(ctx.policy(), key);
    if (hooks.length === 0) return false;
    try {
        const r = await ctx.hooks.run(live, hooks, { holdRetire: ctx.policy().pauseRestarts !== undefined });
        // An alternate postgres hook waits for the previous role to drain: nothing else would wake us.
        if (r.recheckMs !== undefined) ctx.queue.addAfter(key, Math.max(r.recheckMs, 100));
        return true;
    } catch (e) {
        if (e instanceof HookError) await markStale(ctx, key, live, `waiting for the init-time hook of ${key}; see the HookFailed Events on ${key}`);
        throw e;
    }
}

/** The source's fan-out plan; planValid false when its declaration is malformed (then nothing is pruned). */
function fanOutDeclaration(ctx: ReconcileContext, key: string, live: Secret): { plan: FanOutPlan | undefined; planValid: boolean } {
    if (live.metadata.annotations?.[ANNOTATION_FAN_OUT] === undefined) return { plan: undefined, planValid: true };
    const p = planOrError(ctx, live);
    if (!isDerivationError(p)) return { plan: p, planValid: true };
    // A malformed declaration prunes nothing: the copies stay as they are until it is fixed.
    ctx.recorder.event(secretRef(live), "Warning", "InvalidFanOut", p.message);
    ctx.logger.warn({ object: key, err: p.message }, "invalid fan-out annotation");
    return { plan: undefined, planValid: false };
}

type Work = () => Promise<void>;

/** Records a fan-out target's outcome in `targets` (the source's fan-out status) around one piece of work. */
function tracked(plan: FanOutPlan | undefined, targets: Map<string, TargetStatus>, t: string, run: () => Promise<StatusReport | undefined>): Work {
    return async () => {
        try {
            const r = await run();
            if (plan?.allowed.has(t)) targets.set(t, r ? { state: r.status === "in-sync" ? "in-sync" : r.status === "refused" ? "refused" : "error", reason: r.status === "in-sync" ? undefined : r.message } : { state: "pending" });
        } catch (e) {
            if (plan?.allowed.has(t)) targets.set(t, { state: "pending", reason: `retrying: ${String((e as Error).message ?? e).slice(0, 200)}` });
            throw e;
        }
    };
}

/** One piece of work per cached derived secret naming this source: claimed elsewhere, refused, pruned or reconciled. */
function dependantWork(ctx: ReconcileContext, key: string, live: Secret, plan: FanOutPlan | undefined, planValid: boolean, force: boolean, targets: Map<string, TargetStatus>): Work[] {
    const work: Work[] = [];
    for (const d of ctx.index.derivedOf(key)) {
        const meta = ctx.secrets.get(d);
        if (!meta || !isDerived(meta)) continue;
        // Another reconciler instance acts in that namespace: no write there; the secret says why (writes.ts).
        const claimed = ctx.claimRefusal?.(meta.metadata.namespace ?? "");
        if (claimed) {
            work.push(async () => void (await markClaimRefused(ctx, meta, claimed)));
            continue;
        }
        const recipe = recipeFromSecret(meta);
        if (!recipe) continue; // reported by its own reconcile
        const ownCopy = meta.metadata.annotations?.[ANNOTATION_FAN_OUT_OWNER] === key;
        if (ownCopy && planValid && !plan?.allowed.has(d)) {
            const refusedWhy = plan?.refused.get(d);
            // Consent withdrawn by the administrator: keep the copy as it is and say so; no longer selected: prune.
            if (refusedWhy) work.push(async () => void (await refuse(ctx, meta, refusedWhy)));
            else work.push(() => prune(ctx, key, meta));
            continue;
        }
        work.push(tracked(plan, targets, d, () => reconcileDerived(ctx, meta, recipe, live, plan, force)));
    }
    return work;
}

/** The fan-out targets not cached yet (created), and the ones that are refused or foreign (reported on the source). */
function fanOutWork(ctx: ReconcileContext, key: string, live: Secret, plan: FanOutPlan, targets: Map<string, TargetStatus>): Work[] {
    const work: Work[] = [];
    const mine = new Set(ctx.index.derivedOf(key));
    for (const [t, recipe] of plan.allowed) {
        const claimed = ctx.claimRefusal?.(splitKey(t).namespace);
        if (claimed) targets.set(t, { state: "refused", reason: claimed.slice(0, 200) });
        else if (!ctx.secrets.has(t)) work.push(tracked(plan, targets, t, () => createTarget(ctx, key, live, recipe)));
        else if (!mine.has(t)) {
            targets.set(t, { state: "refused", reason: "a secret not created by platform-secrets for this source exists there" });
            reportOnce(ctx, key, live, `foreign:${t}`, "target-not-managed", "TargetNotManaged", `fan-out target ${t} exists and was not created by platform-secrets for ${key}; left alone. Fix: delete or rename it, or change targetName`);
        }
    }
    for (const [t, why] of plan.refused) {
        targets.set(t, { state: "refused", reason: why });
        reportOnce(ctx, key, live, `refused:${t}`, "fan-out-not-allowed", "FanOutRefused", why);
    }
    return work;
}

function warnAboutHooksAnnotation(ctx: ReconcileContext, key: string, live: Secret): void {
    const seen = ctx.memos.warnedHooks;
    if (!hasHooksAnnotation({ metadata: live.metadata })) {
        seen.delete(key);
        return;
    }
    if (seen.get(key) === live.metadata.resourceVersion) return;
    seen.set(key, live.metadata.resourceVersion ?? "");
    ctx.metrics.refusals.inc({ reason: "hooks-annotation" });
    const msg = `the platform-secrets.io/hooks annotation on ${key} is ignored: init-time hooks are administrator policy. Fix: declare the hook in the stack config (passwords[].consumers[].hooks), which renders the reconciler's policy ConfigMap`;
    ctx.logger.warn({ object: key }, "hooks annotation ignored");
    ctx.recorder.event(secretRef(live), "Warning", "HooksAnnotationIgnored", msg);
}

async function sourceGone(ctx: ReconcileContext, key: string): Promise<void> {
    const tomb = ctx.tombstones.get(key);
    if (tomb) {
        const wait = tomb.at + ctx.deleteGraceMs - ctx.clock.now();
        if (wait > 0) {
            ctx.queue.addAfter(key, wait);
            return;
        }
    }
    const dependants = ctx.index.derivedOf(key);
    const errs = await forEachLimit(dependants, ctx.fanOutConcurrency, async (d) => {
        const meta = ctx.secrets.get(d);
        const recipe = meta && recipeFromSecret(meta);
        if (meta && recipe) await reconcileDerived(ctx, meta, recipe, null, undefined);
    });
    if (errs.length) throw errs[0];
    // Every dependant was deleted, retained or reported: the deletion is fully handled.
    if (tomb) ctx.tombstones.delete(key);
}

/** Marks the dependants the source consents to as stale (a refused reader learns nothing about the source's hooks). */
async function markStale(ctx: ReconcileContext, key: string, live: Secret, message: string): Promise<void> {
    await forEachLimit(ctx.index.derivedOf(key), ctx.fanOutConcurrency, async (d) => {
        const meta = ctx.secrets.get(d);
        const recipe = meta && recipeFromSecret(meta);
        if (!meta || !recipe || !authorizeDerivation(meta, recipe, live, ctx.namespaceCache, fanOutPlanOf(ctx, live)).allowed) return;
        await writeStatus(ctx, meta, { status: "stale", message });
    });
}

async function refuse(ctx: ReconcileContext, meta: SecretMeta, message: string): Promise<StatusReport> {
    ctx.metrics.refusals.inc({ reason: "fan-out-not-allowed" });
    return writeStatus(ctx, meta, { status: "refused", message: `${message}; the copy is kept as it is` });
}

/** One Event per source version and target: a refused target has no object of its own to carry a status. */
function reportOnce(ctx: ReconcileContext, srcKey: string, live: Secret, what: string, reason: RefusalReason, eventReason: string, message: string): void {
    const seen = ctx.memos.reportedTargets;
    const id = `${srcKey}>${what}`;
    if (seen.get(id) === live.metadata.resourceVersion) return;
    seen.set(id, live.metadata.resourceVersion ?? "");
    ctx.metrics.refusals.inc({ reason });
    ctx.logger.warn({ object: srcKey, target: what, reason }, "fan-out target refused");
    ctx.recorder.event(secretRef(live), "Warning", eventReason, message);
}

/** Creates a fan-out copy; an existing secret we did not create for this source is never touched. */
async function createTarget(ctx: ReconcileContext, srcKey: string, source: Secret, recipe: Recipe): Promise<StatusReport | undefined> {
    const key = `${recipe.target.namespace}/${recipe.target.name}`;
    let desired: DesiredSecret;
    try {
        desired = deriveSecret(source, recipe);
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        ctx.recorder.event(secretRef(source), "Warning", "DerivationFailed", `${key}: ${e.message}`);
        return { status: "error", message: e.message };
    }
    const body: Secret = {
        ...desired,
        metadata: {
            ...desired.metadata,
            annotations: { ...desired.metadata.annotations, [ANNOTATION_FAN_OUT_OWNER]: srcKey, ...inSyncAnnotations(inSyncMessage(srcKey), new Date(ctx.clock.now())) },
        },
    };
    const res = await createSecret(ctx, body);
    if (!res) {
        const live = await getSecret(ctx, recipe.target.namespace, recipe.target.name);
        if (live && isDerived(live) && live.metadata.annotations?.[ANNOTATION_FAN_OUT_OWNER] === srcKey) return undefined; // ours; its event reconciles it
        reportOnce(ctx, srcKey, source, `foreign:${key}`, "target-not-managed", "TargetNotManaged", `fan-out target ${key} exists and was not created by platform-secrets for ${srcKey}; left alone. Fix: delete or rename it, or change targetName`);
        return { status: "refused", message: "a secret not created by platform-secrets for this source exists there" };
    }
    ctx.metrics.writes.inc({ action: "create", reason: "fan-out" });
    ctx.recorder.audit("create", key, `fan-out of ${srcKey}`, { fingerprint: ctx.fingerprint.of(desired.metadata.annotations[ANNOTATION_SOURCE_HASH] ?? "") });
    return { status: "in-sync", message: inSyncMessage(srcKey) };
}

/** Deletes a fan-out copy whose namespace is no longer selected — only our copy of this very source. */
async function prune(ctx: ReconcileContext, srcKey: string, meta: SecretMeta): Promise<void> {
    await deleteExact(ctx, meta);
    ctx.metrics.writes.inc({ action: "delete", reason: "fan-out-pruned" });
    ctx.recorder.audit("delete", `${meta.metadata.namespace}/${meta.metadata.name}`, `namespace ${meta.metadata.namespace} no longer selected by the fan-out of ${srcKey}`);
}
