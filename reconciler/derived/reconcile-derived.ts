import { ANNOTATION_SOURCE_HASH, DerivationError, DesiredSecret, deriveSecret, isDerivationError, isDerived, Recipe, recipeFromSecret, recordedSourceHash } from "../../derive";
import { inScope, ReconcileContext } from "../context";
import { ANNOTATION_FAN_OUT_OWNER, ANNOTATION_RETAIN, ANNOTATION_STATUS, ANNOTATION_SYNCED, ANNOTATION_SYNC_HANDLED, ANNOTATION_SYNC_REQUESTED } from "../keys";
import { hasFanOut, Secret, SecretMeta } from "../model";
import { fanOutAllowed } from "../trust/policy";
import { inSyncAnnotations, StatusReport } from "./status";
import { authorizeDerivation, Decision, FanOutPlan, planFanOut } from "../trust/trust";
import { contentHash } from "../model";
import { cachedDiff, deleteExact, getSecret, patchDerived, replaceDerived, writeStatus } from "./writes";

/** The message of an in-sync derived secret: stable (no hash, no time), so an in-sync secret is never rewritten. */
export const inSyncMessage = (srcKey: string) => `in sync with source ${srcKey}`;

/** The fan-out plan of a live source; the DerivationError when its fan-out annotation is malformed. */
export function planOrError(ctx: ReconcileContext, source: Secret): FanOutPlan | DerivationError {
    try {
        return planFanOut(source, ctx.namespaceCache, ctx.policy(), (ns) => inScope(ctx, ns));
    } catch (e) {
        if (isDerivationError(e)) return e;
        throw e;
    }
}

/** The fan-out plan of a live source, or undefined when the declaration is malformed (reported by the source). */
export function fanOutPlanOf(ctx: ReconcileContext, source: Secret): FanOutPlan | undefined {
    const p = planOrError(ctx, source);
    return isDerivationError(p) ? undefined : p;
}

/** Reconciles one derived secret from its own event: reads its source live (the one request it needs to decide). */
export async function reconcileDerivedKey(ctx: ReconcileContext, key: string): Promise<void> {
    const meta = ctx.secrets.get(key);
    if (!meta || meta.deleting || !isDerived(meta)) return;
    const recipe = recipeFromSecret(meta);
    if (!recipe) {
        await writeStatus(ctx, meta, { status: "error", message: `the recipe annotations of ${key} are missing or malformed; re-create it through the stack` });
        return;
    }
    // Cross-namespace: decide on the cached source metadata first, so a refused reader cannot make the reconciler
    // fetch another namespace's Secret on every event. (A fan-out copy needs the live annotation: only then fetch.)
    const srcKey = `${recipe.source.namespace}/${recipe.source.name}`;
    const cached = ctx.secrets.get(srcKey);
    if (recipe.source.namespace !== meta.metadata.namespace && cached && !(meta.metadata.annotations?.[ANNOTATION_FAN_OUT_OWNER] === srcKey && hasFanOut(cached))) {
        const pre = authorizeDerivation(meta, recipe, cached, ctx.namespaceCache, undefined);
        if (!pre.allowed) {
            await refuse(ctx, meta, srcKey, pre);
            return;
        }
    }
    const source = (await getSecret(ctx, recipe.source.namespace, recipe.source.name)) ?? null;
    await reconcileDerived(ctx, meta, recipe, source, source ? fanOutPlanOf(ctx, source) : undefined);
}

/**
 * Brings one cached derived secret in line with its source (idempotent). `source` null: the source is absent now.
 * Order matters: the trust check comes before the source's data is used or anything is written.
 */
export async function reconcileDerived(ctx: ReconcileContext, meta: SecretMeta, recipe: Recipe, source: Secret | null, plan: FanOutPlan | undefined, force = false): Promise<StatusReport | undefined> {
    const srcKey = `${recipe.source.namespace}/${recipe.source.name}`;
    if (meta.deleting) return undefined;
    if (source === null) return sourceAbsent(ctx, meta, recipe);
    const decision = authorizeDerivation(meta, recipe, source, ctx.namespaceCache, plan);
    if (!decision.allowed) return refuse(ctx, meta, srcKey, decision);
    let desired: DesiredSecret;
    try {
        desired = deriveSecret(source, recipe);
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        return writeStatus(ctx, meta, { status: "error", message: `${e.message}; the last derived value is kept` });
    }
    return writeDerived(ctx, meta, desired, srcKey, force, contentHash(source).slice(0, 32));
}

async function refuse(ctx: ReconcileContext, meta: SecretMeta, srcKey: string, decision: Extract<Decision, { allowed: false }>): Promise<StatusReport> {
    ctx.metrics.refusals.inc({ reason: decision.reason });
    ctx.logger.warn({ object: `${meta.metadata.namespace}/${meta.metadata.name}`, source: srcKey, reason: decision.reason }, "derivation refused");
    return writeStatus(ctx, meta, { status: "refused", message: decision.message });
}

async function sourceAbsent(ctx: ReconcileContext, meta: SecretMeta, recipe: Recipe): Promise<StatusReport | undefined> {
    const key = `${meta.metadata.namespace}/${meta.metadata.name}`;
    const srcKey = `${recipe.source.namespace}/${recipe.source.name}`;
    const tomb = ctx.tombstones.get(srcKey);
    // Cross-namespace: consent is judged on the deleted source's last known grants; without a witnessed deletion
    // the answer must not reveal whether a secret exists in a namespace the reader cannot see.
    const decision = authorizeDerivation(meta, recipe, tomb?.meta ?? null, ctx.namespaceCache, undefined);
    // A fan-out copy was consented to by the source's own fan-out declaration and the administrator's policy; a
    // forged copy in a namespace the policy never allowed is refused like any other cross-namespace reader.
    const copyConsented =
        tomb !== undefined &&
        meta.metadata.annotations?.[ANNOTATION_FAN_OUT_OWNER] === srcKey &&
        hasFanOut(tomb.meta) &&
        fanOutAllowed(ctx.policy(), recipe.source.namespace, meta.metadata.namespace!, ctx.namespaceCache.get(meta.metadata.namespace!)?.metadata.labels);
    if (!decision.allowed && !copyConsented) return refuse(ctx, meta, srcKey, decision);
    if (!tomb) return writeStatus(ctx, meta, { status: "source-missing", message: `source ${srcKey} not found; the last derived value is kept` });
    const wait = tomb.at + ctx.deleteGraceMs - ctx.clock.now();
    if (wait > 0) return undefined; // re-queued by the source; a re-creation within the grace period keeps everything
    const retain = meta.metadata.annotations?.[ANNOTATION_RETAIN] === "true" || tomb.retain;
    if (retain) return writeStatus(ctx, meta, { status: "source-missing", message: `source ${srcKey} was deleted; kept because ${ANNOTATION_RETAIN} is "true"` });
    await deleteExact(ctx, meta);
    ctx.metrics.writes.inc({ action: "delete", reason: "source-deleted" });
    ctx.recorder.audit("delete", key, `source ${srcKey} was deleted`);
    return undefined;
}

/** The synced fingerprint of a (source content hash, derived content hash) pair: keyed, so it tells nothing else. */
export function syncedFingerprint(ctx: Pick<ReconcileContext, "fingerprint">, sourceContent: string, derivedContent: string): string {
    return `${ctx.fingerprint.keyId}.${ctx.fingerprint.of({ src: sourceContent, self: derivedContent })}`;
}

/** Whether the cache alone shows `meta` in sync with `source` as last verified (start-up and resync skip it). */
export function freshInCache(ctx: Pick<ReconcileContext, "fingerprint">, meta: SecretMeta, source: SecretMeta | undefined): boolean {
    const a = meta.metadata.annotations ?? {};
    return source !== undefined && a[ANNOTATION_STATUS] === "in-sync" && a[ANNOTATION_SYNCED] === syncedFingerprint(ctx, source.contentHash, meta.contentHash) && a[ANNOTATION_SYNC_REQUESTED] === a[ANNOTATION_SYNC_HANDLED];
}

async function writeDerived(ctx: ReconcileContext, meta: SecretMeta, desired: DesiredSecret, srcKey: string, forceSource: boolean, sourceContent: string): Promise<StatusReport> {
    const key = `${meta.metadata.namespace}/${meta.metadata.name}`;
    const ann = meta.metadata.annotations ?? {};
    const requested = ann[ANNOTATION_SYNC_REQUESTED];
    const forceOwn = requested !== undefined && requested !== ann[ANNOTATION_SYNC_HANDLED];
    const force = forceOwn || forceSource;
    const diff = cachedDiff(meta, desired);
    const message = inSyncMessage(srcKey);
    const synced = syncedFingerprint(ctx, sourceContent, contentHash(desired).slice(0, 32));
    if (diff.length === 0 && !force) {
        // Only refresh a fingerprint of our own key: two reconcilers with different keys (a misconfiguration) must
        // not rewrite each other's value forever.
        // A value of another key (a new key after a loss) is taken over at most once an hour per secret.
        const had = ann[ANNOTATION_SYNCED];
        let take = had === undefined || had.startsWith(`${ctx.fingerprint.keyId}.`);
        if (!take && had !== synced) {
            const last = ctx.memos.foreignTakeovers.get(key) ?? -Infinity;
            take = ctx.clock.now() - last > 3_600_000;
            if (take) ctx.memos.foreignTakeovers.set(key, ctx.clock.now());
        }
        return writeStatus(ctx, meta, { status: "in-sync", message }, take ? { [ANNOTATION_SYNCED]: synced } : {});
    }
    const hash = desired.metadata.annotations[ANNOTATION_SOURCE_HASH];
    const reason = diff.length === 0 ? "sync requested" : recordedSourceHash(meta) === hash && diff.includes("data") ? "derived secret edited by hand; restored" : "source changed";
    const extra = { ...inSyncAnnotations(message, new Date(ctx.clock.now())), [ANNOTATION_SYNCED]: synced, ...(forceOwn ? { [ANNOTATION_SYNC_HANDLED]: requested! } : {}) };
    const replace = meta.immutable || meta.type !== desired.type;
    const res = replace ? await replaceDerived(ctx, meta, desired, extra) : await patchDerived(ctx, meta, desired, extra);
    ctx.metrics.writes.inc({ action: replace ? "replace" : "update", reason: reason === "source changed" ? "source-changed" : reason === "sync requested" ? "sync-requested" : "restored" });
    // The fingerprint is keyed: an audit reader can correlate writes, not test guesses of the value.
    ctx.recorder.audit("write", key, replace ? `${reason} (${meta.immutable ? "immutable" : "type changed"}: replaced)` : reason, { fingerprint: ctx.fingerprint.of(hash), changed: diff.join(",") });
    if (reason.startsWith("derived secret edited")) ctx.recorder.event({ apiVersion: "v1", kind: "Secret", namespace: meta.metadata.namespace!, name: meta.metadata.name!, uid: res.metadata.uid }, "Normal", "Restored", "hand edit reverted to the derivation of the source");
    return { status: "in-sync", message };
}
