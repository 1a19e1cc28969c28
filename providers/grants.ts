import {
    ANNOTATION_ALLOW_NAMESPACES,
    ANNOTATION_ALLOW_NAMESPACE_SELECTOR,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    PREFIX,
    SecretLike,
    SecretRef,
    grantFix,
    grantedNamespaces,
    sourceGrants,
    withGrantedNamespace,
    withoutGrantedNamespace,
} from "../derive";
import { KubeError, SecretsApi } from "./kube";

/**
 * The source's consent to cross-namespace derivation (issue 10): the reconciler honours a derived secret in X naming a
 * source in Y ≠ X only while the source grants X (`platform-secrets.io/allow-namespaces`, or a namespace selector).
 * A provider that creates such a derived secret makes sure the grant exists and records that a provider added it, so
 * deletes withdraw only grants a provider added — never one a person or an ExternalSecret template wrote. Every write
 * is a read-modify-write of the source guarded by its resourceVersion (a concurrent writer — ESO, kubectl, another
 * provider — yields 409 and we re-read).
 */
const GRANT_ATTEMPTS = 5;

/**
 * On a SOURCE: the allow-namespaces entries the providers added (a subset of allow-namespaces). Kept on the source
 * because two resources may rely on one grant: whichever goes last withdraws it, even if the other added it.
 */
export const ANNOTATION_PROVIDER_GRANTED = `${PREFIX}provider-granted-namespaces`;

function refKey(r: { namespace?: string; name?: string }): string {
    return `${r.namespace}/${r.name}`;
}

function providerGranted(s: SecretLike): string[] {
    const raw = s.metadata.annotations?.[ANNOTATION_PROVIDER_GRANTED] ?? "";
    return [...new Set(raw.split(",").map((x) => x.trim()).filter(Boolean))].sort();
}

/** `live` with both lists set (an empty list removes its annotation). */
function withLists(live: SecretLike, allow: string | undefined, provider: string[]): SecretLike {
    const annotations = { ...(live.metadata.annotations ?? {}) };
    if (allow === undefined) delete annotations[ANNOTATION_ALLOW_NAMESPACES];
    else annotations[ANNOTATION_ALLOW_NAMESPACES] = allow;
    if (provider.length === 0) delete annotations[ANNOTATION_PROVIDER_GRANTED];
    else annotations[ANNOTATION_PROVIDER_GRANTED] = [...provider].sort().join(",");
    return { ...live, metadata: { ...live.metadata, annotations } };
}

/** Whether `source` grants each namespace now; namespace labels are read only when the source grants by selector. */
export async function grantStatus(api: SecretsApi, source: SecretLike, namespaces: readonly string[]): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    const bySelector = (source.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACE_SELECTOR] ?? "").trim() !== "";
    for (const ns of namespaces) {
        const labels = bySelector && !grantedNamespaces(source).includes(ns) ? await api.namespaceLabels(ns) : undefined;
        out.set(ns, sourceGrants(source, ns, labels));
    }
    return out;
}

export interface GrantResult {
    /** Namespaces this call added to allow-namespaces. */
    added: string[];
    /** Of the requested namespaces, those whose grant a provider added (now or before): what a delete may withdraw. */
    managed: string[];
}

/**
 * Makes `source` grant every namespace in `namespaces` (one write for all). A source that already grants a namespace
 * (by name or selector) is not written. Throws naming the source, the annotation and the fix when the grant cannot
 * be written.
 */
export async function ensureGrants(api: SecretsApi, source: SecretRef, namespaces: readonly string[]): Promise<GrantResult> {
    const wanted = [...new Set(namespaces.filter((ns) => ns !== source.namespace))].sort();
    if (wanted.length === 0) return { added: [], managed: [] };
    for (let attempt = 1; ; attempt++) {
        const live = await api.get(source.namespace, source.name);
        if (live === undefined) throw new KubeError(`source secret ${refKey(source)} not found while granting namespace(s) ${wanted.join(", ")}. Fix: create the source secret first, or correct source.namespace/source.name`, 404);
        const status = await grantStatus(api, live, wanted);
        const missing = wanted.filter((ns) => !status.get(ns));
        const before = providerGranted(live);
        const managedBefore = wanted.filter((ns) => before.includes(ns) && grantedNamespaces(live).includes(ns));
        if (missing.length === 0) return { added: [], managed: managedBefore };
        const allow = missing.reduce((cur: string | undefined, ns) => withGrantedNamespace(cur, ns), live.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACES]);
        try {
            await api.replace(withLists(live, allow, [...new Set([...before, ...missing])]));
            return { added: missing, managed: [...new Set([...managedBefore, ...missing])].sort() };
        } catch (e) {
            if (e instanceof KubeError && e.status === 409 && attempt < GRANT_ATTEMPTS) continue;
            if (e instanceof KubeError && e.status === 403) {
                throw new KubeError(
                    `source secret ${refKey(source)} does not grant namespace(s) ${missing.join(", ")} (annotation ${ANNOTATION_ALLOW_NAMESPACES}) and this identity may not add the grant (HTTP 403). Fix: ${missing.map((ns) => grantFix(refKey(source), ns)).join("; ")} (for an ESO-written source: in its ExternalSecret's target.template.metadata.annotations), or let the kubeconfig's identity update secrets in namespace ${source.namespace}`,
                    403,
                );
            }
            throw e;
        }
    }
}

/** Whether another derived secret in `target.namespace` (not `target` itself) still names `source`: it relies on the grant too. */
async function stillUsed(api: SecretsApi, source: SecretRef, target: SecretRef): Promise<boolean> {
    let others: SecretLike[];
    try {
        others = await api.listDerived(target.namespace);
    } catch {
        // Listing not allowed: withdraw as recorded; `read` of a sibling resource reports the missing grant as drift.
        return false;
    }
    return others.some((s) => {
        const a = s.metadata.annotations ?? {};
        return s.metadata.name !== target.name && a[ANNOTATION_SOURCE_NAMESPACE] === source.namespace && a[ANNOTATION_SOURCE_NAME] === source.name;
    });
}

/**
 * Withdraws the grants of `targets`' namespaces that a provider added, except where another derived secret still
 * names the source. A gone source is fine. Returns the namespaces actually withdrawn.
 */
export async function releaseGrants(api: SecretsApi, source: SecretRef, targets: readonly SecretRef[]): Promise<string[]> {
    const candidates: string[] = [];
    for (const t of targets) if (t.namespace !== source.namespace && !(await stillUsed(api, source, t))) candidates.push(t.namespace);
    const drop = [...new Set(candidates)];
    if (drop.length === 0) return [];
    for (let attempt = 1; ; attempt++) {
        const live = await api.get(source.namespace, source.name);
        if (live === undefined) return [];
        const provider = providerGranted(live);
        // Only entries a provider added: a grant written by a person or an ExternalSecret template stays.
        const present = drop.filter((ns) => provider.includes(ns) && grantedNamespaces(live).includes(ns)).sort();
        if (present.length === 0) return [];
        const allow = present.reduce((cur: string | undefined, ns) => (cur === undefined ? undefined : withoutGrantedNamespace(cur, ns)), live.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACES]);
        try {
            await api.replace(withLists(live, allow, provider.filter((ns) => !present.includes(ns))));
            return present;
        } catch (e) {
            if (e instanceof KubeError && e.status === 409 && attempt < GRANT_ATTEMPTS) continue;
            if (e instanceof KubeError && e.status === 404) return [];
            if (e instanceof KubeError) {
                throw new KubeError(`withdrawing the grant of namespace(s) ${present.join(", ")} from source secret ${refKey(source)} failed (HTTP ${e.status ?? "?"}). Fix: remove ${present.join(", ")} from its annotations ${ANNOTATION_ALLOW_NAMESPACES} and ${ANNOTATION_PROVIDER_GRANTED} by hand, or let the kubeconfig's identity update secrets in namespace ${source.namespace}, then retry`, e.status);
            }
            throw e;
        }
    }
}
