import {
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    DesiredSecret,
    Recipe,
    SecretLike,
    SecretRef,
    isManaged,
    mergeForUpdate,
    needsUpdate,
    requiresReplace,
} from "../derive";
import { EsoReady, KubeError, SecretsApi, plainError } from "./kube";
import type { SourceOrigin } from "./types";

export function refKey(r: { namespace?: string; name?: string }): string {
    return `${r.namespace}/${r.name}`;
}

/**
 * The live source, or a clear error when it is missing (nothing is written then). A source ESO writes in the same
 * run (`origin`) is waited for, polling once a second; the error then names what should have written it.
 */
export async function fetchSource(api: SecretsApi, source: SecretRef, forTarget: string, origin?: SourceOrigin, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<SecretLike> {
    const deadline = Date.now() + (origin?.waitSeconds ?? 120) * 1000;
    for (;;) {
        const s = await api.get(source.namespace, source.name);
        if (s !== undefined) return s;
        if (origin === undefined) {
            throw new KubeError(`source secret ${refKey(source)} of ${forTarget} not found. Fix: create the source secret first, or correct source.namespace/source.name`, 404);
        }
        if (Date.now() >= deadline) {
            const ready = api.externalSecretReady ? await api.externalSecretReady(origin.externalSecret.namespace, origin.externalSecret.name).catch((): EsoReady => "unreadable") : "unreadable";
            throw new KubeError(missingEsoSourceMessage(source, forTarget, origin, ready), 404);
        }
        await sleep(1000);
    }
}

/** Why an ESO-written source is missing, from ESO's own Ready condition, and what to do. Pure; never a value. */
export function missingEsoSourceMessage(source: SecretRef, forTarget: string, origin: SourceOrigin, ready: EsoReady): string {
    const es = `ExternalSecret ${refKey(origin.externalSecret)}`;
    let state: string;
    if (ready === "missing") state = `${es} does not exist`;
    else if (ready === "unreadable") state = `${es} could not be read`;
    else if (ready === "no-condition") state = `${es} has no Ready condition yet: is the External Secrets Operator controller running?`;
    // ESO's condition messages are its own errors (never secret data); bounded so a long one stays readable.
    else state = `${es} is Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ""}${ready.message ? `: ${ready.message.slice(0, 300)}` : ""}`;
    return (
        `source secret ${refKey(source)} of ${forTarget} did not appear within ${origin.waitSeconds ?? 120} s. It is written by ESO from Vault path ` +
        `${origin.vaultPath} through ClusterSecretStore ${origin.store}; ${state}. Fix: check that the ESO controller runs and the store is Ready ` +
        `(kubectl get clustersecretstore ${origin.store}), that ${origin.vaultPath} exists in Vault with the keys the ExternalSecret reads, then run pulumi up again`
    );
}

/** Whether `live` is ours for one of `sources` (a managed secret derived from another source is not ours). */
export function ownedFor(live: SecretLike, sources: readonly SecretRef[]): boolean {
    if (!isManaged(live)) return false;
    const a = live.metadata.annotations ?? {};
    return sources.some((s) => a[ANNOTATION_SOURCE_NAMESPACE] === s.namespace && a[ANNOTATION_SOURCE_NAME] === s.name);
}

export function refusal(live: SecretLike, target: string): KubeError {
    const why = isManaged(live)
        ? `is managed by platform-secrets for another source (${refKey({ namespace: live.metadata.annotations?.[ANNOTATION_SOURCE_NAMESPACE], name: live.metadata.annotations?.[ANNOTATION_SOURCE_NAME] })})`
        : "exists and is not managed by platform-secrets (no label app.kubernetes.io/managed-by=platform-secrets)";
    return new KubeError(`secret ${target} ${why}; refusing to take it over. Fix: delete or rename it, choose another target, or set adopt: true to take it over`);
}

/**
 * Makes the live target equal `desired`: creates it, or rewrites a secret we own (keeping foreign labels and
 * annotations), or deletes and re-creates it when the type changes. Refuses foreign secrets unless `adopt`.
 * Retries once on a concurrent-modification conflict.
 */
export async function applyDerived(api: SecretsApi, desired: DesiredSecret, owners: readonly SecretRef[], adopt: boolean): Promise<SecretLike> {
    const target = refKey(desired.metadata);
    for (let attempt = 0; ; attempt++) {
        const live = await api.get(desired.metadata.namespace, desired.metadata.name);
        try {
            if (live === undefined) return await api.create(desired);
            if (!ownedFor(live, owners) && !adopt) throw refusal(live, target);
            if (requiresReplace(live, desired)) {
                await api.remove(desired.metadata.namespace, desired.metadata.name, { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion });
                return await api.create(desired);
            }
            if (!needsUpdate(live, desired)) return live;
            return await api.replace(mergeForUpdate(live, desired));
        } catch (e) {
            if (e instanceof KubeError && e.status === 409 && attempt < 2) continue;
            throw e;
        }
    }
}

/** Deletes `target` only while it is still ours; gone already is fine; someone else's secret is left alone. */
export async function deleteIfOwned(api: SecretsApi, target: SecretRef, owners: readonly SecretRef[]): Promise<"deleted" | "gone" | "foreign"> {
    const live = await api.get(target.namespace, target.name);
    if (live === undefined) return "gone";
    if (!ownedFor(live, owners)) return "foreign";
    await api.remove(target.namespace, target.name, { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion });
    return "deleted";
}

export function recipeOf(inputs: { format: Recipe["format"]; source: SecretRef; target: SecretRef; options?: Record<string, unknown> }): Recipe {
    return { format: inputs.format, source: inputs.source, target: inputs.target, options: (inputs.options ?? {}) as never } as Recipe;
}

/** Wraps a provider method so whatever it throws reaches the engine as a plain Error with a clean message. */
export function guarded<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
        try {
            return await fn(...args);
        } catch (e) {
            throw plainError(e);
        }
    };
}
