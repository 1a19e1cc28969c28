import { ANNOTATION_ALLOW_NAMESPACE_SELECTOR, ANNOTATION_ALLOW_NAMESPACES } from "./constants";
import { matchesLabelSelector } from "./fanout";
import { SecretLike } from "./types";

/** The namespaces a source grants by name (its allow-namespaces annotation), sorted and de-duplicated (pure). */
export function grantedNamespaces(source: Pick<SecretLike, "metadata">): string[] {
    const raw = source.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACES] ?? "";
    return [...new Set(raw.split(",").map((s) => s.trim()).filter(Boolean))].sort();
}

/**
 * Whether `source` consents to being derived into `targetNamespace` (pure). Same namespace: always. Otherwise the
 * target must be listed in allow-namespaces ("*" is NOT a wildcard: a grant names who it trusts) or match
 * allow-namespace-selector (an invalid selector grants nothing).
 */
export function sourceGrants(source: Pick<SecretLike, "metadata">, targetNamespace: string, targetNamespaceLabels: Record<string, string> | undefined): boolean {
    if (source.metadata.namespace === targetNamespace) return true;
    if (grantedNamespaces(source).includes(targetNamespace)) return true;
    const sel = source.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACE_SELECTOR];
    if (sel === undefined || sel.trim() === "") return false;
    try {
        return matchesLabelSelector(targetNamespaceLabels, sel);
    } catch {
        return false;
    }
}

/** The allow-namespaces value with `namespace` added (pure; for the provider and stacks that set grants). */
export function withGrantedNamespace(current: string | undefined, namespace: string): string {
    const set = new Set((current ?? "").split(",").map((s) => s.trim()).filter(Boolean));
    set.add(namespace);
    return [...set].sort().join(",");
}

/** The allow-namespaces value with `namespace` removed; undefined when nothing is left (pure). */
export function withoutGrantedNamespace(current: string | undefined, namespace: string): string | undefined {
    const list = (current ?? "").split(",").map((s) => s.trim()).filter((s) => s && s !== namespace);
    return list.length ? [...new Set(list)].sort().join(",") : undefined;
}

/** How to fix a missing grant, for status messages and errors (names objects, never values). */
export function grantFix(sourceKey: string, targetNamespace: string): string {
    return `annotate source ${sourceKey} with ${ANNOTATION_ALLOW_NAMESPACES}: "${targetNamespace}" (or a ${ANNOTATION_ALLOW_NAMESPACE_SELECTOR} matching namespace ${targetNamespace}), or derive from a source in ${targetNamespace}`;
}
