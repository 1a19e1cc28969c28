import {
    ANNOTATION_DERIVATION_VERSION,
    ANNOTATION_FORMAT,
    ANNOTATION_OPTIONS,
    ANNOTATION_SOURCE_HASH,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    ARGOCD_SECRET_TYPE_LABEL,
    KARGO_CRED_TYPE_LABEL,
    LABEL_DERIVED,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    TEKTON_DOCKER_ANNOTATION_PREFIX,
    TEKTON_GIT_ANNOTATION_PREFIX,
} from "./constants";
import { validateRecipe } from "./recipe";
import { DesiredSecret, Recipe, SecretLike } from "./types";

/** Labels a derived secret's content depends on; all others on the live object are foreign and preserved. */
export const OWNED_LABELS: readonly string[] = [MANAGED_BY_LABEL, LABEL_DERIVED, KARGO_CRED_TYPE_LABEL, ARGOCD_SECRET_TYPE_LABEL];
export const OWNED_ANNOTATIONS: readonly string[] = [
    ANNOTATION_SOURCE_NAMESPACE,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_FORMAT,
    ANNOTATION_OPTIONS,
    ANNOTATION_SOURCE_HASH,
    ANNOTATION_DERIVATION_VERSION,
];
const OWNED_ANNOTATION_PREFIXES: readonly string[] = [TEKTON_GIT_ANNOTATION_PREFIX, TEKTON_DOCKER_ANNOTATION_PREFIX];

export function isOwnedLabel(key: string): boolean {
    return OWNED_LABELS.includes(key);
}

/** Tekton reads every tekton.dev/git-N / docker-N: a stale git-3 left behind would still be used, so we own them all. */
export function isOwnedAnnotation(key: string): boolean {
    return OWNED_ANNOTATIONS.includes(key) || OWNED_ANNOTATION_PREFIXES.some((p) => key.startsWith(p));
}

function owned(m: Record<string, string> | undefined, pred: (k: string) => boolean): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m ?? {})) if (pred(k)) out[k] = v;
    return out;
}

export function ownedLabels(s: SecretLike): Record<string, string> {
    return owned(s.metadata.labels, isOwnedLabel);
}

export function ownedAnnotations(s: SecretLike): Record<string, string> {
    return owned(s.metadata.annotations, isOwnedAnnotation);
}

function mapDiff(prefix: string, a: Record<string, string>, b: Record<string, string>): string[] {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.filter((k) => a[k] !== b[k]).map((k) => `${prefix}${k}`);
}

/**
 * What differs between a live derived secret and the desired one: "type", "data.<key>" (also keys to remove),
 * "labels.<key>", "annotations.<key>" for owned keys only. Names only, never values: safe to log.
 */
export function diffSecret(live: SecretLike, desired: DesiredSecret): string[] {
    const out: string[] = [];
    if ((live.type ?? "Opaque") !== desired.type) out.push("type");
    out.push(...mapDiff("data.", live.data ?? {}, desired.data));
    out.push(...mapDiff("labels.", ownedLabels(live), owned(desired.metadata.labels, isOwnedLabel)));
    out.push(...mapDiff("annotations.", ownedAnnotations(live), owned(desired.metadata.annotations, isOwnedAnnotation)));
    return out;
}

/** True when writing `desired` would change anything the derivation owns on `live`. */
export function needsUpdate(live: SecretLike, desired: DesiredSecret): boolean {
    return diffSecret(live, desired).length > 0;
}

/** The apiserver refuses to change a secret's type: the object has to be deleted and created again. */
export function requiresReplace(live: SecretLike, desired: DesiredSecret): boolean {
    return (live.type ?? "Opaque") !== desired.type;
}

/**
 * The object to PUT over `live`: desired data and owned metadata, foreign labels/annotations (kubectl's, other
 * controllers') kept, resourceVersion kept for optimistic concurrency.
 */
export function mergeForUpdate(live: SecretLike, desired: DesiredSecret): DesiredSecret & { metadata: { resourceVersion?: string } } {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(live.metadata.labels ?? {})) if (!isOwnedLabel(k)) labels[k] = v;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(live.metadata.annotations ?? {})) if (!isOwnedAnnotation(k)) annotations[k] = v;
    return {
        metadata: {
            ...desired.metadata,
            labels: { ...labels, ...desired.metadata.labels },
            annotations: { ...annotations, ...desired.metadata.annotations },
            ...(live.metadata.resourceVersion !== undefined ? { resourceVersion: live.metadata.resourceVersion } : {}),
        },
        type: desired.type,
        data: { ...desired.data },
    };
}

/** Whether we own this secret (created or adopted it); anything else is never modified or deleted. */
export function isManaged(secret: SecretLike): boolean {
    return secret.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** Whether it is a derived secret we own (as opposed to a source we labelled). */
export function isDerived(secret: SecretLike): boolean {
    return isManaged(secret) && secret.metadata.labels?.[LABEL_DERIVED] === "true";
}

/**
 * The recipe recorded on a derived secret, so the reconciler needs no database. Undefined when the secret is not
 * ours or its annotations are missing or malformed (then the reconciler leaves it alone and reports it).
 */
export function recipeFromSecret(derived: SecretLike): Recipe | undefined {
    if (!isDerived(derived)) return undefined;
    const a = derived.metadata.annotations ?? {};
    const format = a[ANNOTATION_FORMAT];
    const ns = a[ANNOTATION_SOURCE_NAMESPACE];
    const name = a[ANNOTATION_SOURCE_NAME];
    if (format === undefined || ns === undefined || name === undefined) return undefined;
    let options: unknown;
    try {
        options = JSON.parse(a[ANNOTATION_OPTIONS] ?? "{}");
    } catch {
        return undefined;
    }
    try {
        return validateRecipe({
            format,
            source: { namespace: ns, name },
            target: { namespace: derived.metadata.namespace, name: derived.metadata.name },
            options,
        });
    } catch {
        return undefined;
    }
}

/** The recorded source hash (sha256 hex) of a derived secret, if any. */
export function recordedSourceHash(derived: SecretLike): string | undefined {
    return derived.metadata.annotations?.[ANNOTATION_SOURCE_HASH];
}
