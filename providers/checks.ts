import { canonicalJson, isDerivationError, parseLabelSelector, validateRecipe } from "../derive";

/** The engine's placeholder for values not known during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface Failure {
    property: string;
    reason: string;
}

export function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
    return false;
}

function commonFailures(news: Record<string, unknown>): Failure[] {
    const out: Failure[] = [];
    if (news.kubeconfig !== undefined && !containsUnknown(news.kubeconfig) && typeof news.kubeconfig !== "string") {
        out.push({ property: "kubeconfig", reason: "kubeconfig must be the YAML content of a kubeconfig file (a string); omit it for default loading" });
    }
    if (news.context !== undefined && !containsUnknown(news.context) && (typeof news.context !== "string" || news.context === "")) {
        out.push({ property: "context", reason: "context must be a non-empty kubeconfig context name; omit it for the kubeconfig's current-context" });
    }
    if (news.adopt !== undefined && !containsUnknown(news.adopt) && typeof news.adopt !== "boolean") {
        out.push({ property: "adopt", reason: "adopt must be true or false (default false)" });
    }
    return out;
}

/** check() of DerivedSecret: the recipe must validate (skipped for values unknown during preview). */
/** A provider's inputs or outputs as a field map (a copy, not a cast: the checks read unknown values). */
export function fields(o: object): Readonly<Record<string, unknown>> {
    return Object.fromEntries(Object.entries(o));
}

export function checkDerivedInputs(input: object): Failure[] {
    const news = fields(input);
    const failures = commonFailures(news);
    const recipe = { format: news.format, source: news.source, target: news.target, options: news.options };
    if (containsUnknown(recipe)) return failures;
    try {
        validateRecipe(recipe);
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        failures.push({ property: e.key ?? "options", reason: e.message });
    }
    return failures;
}

/** check() of MirroredSecret. */
export function checkMirrorInputs(input: object): Failure[] {
    const news = fields(input);
    const failures = commonFailures(news);
    const { namespaces, namespaceSelector, targetName, source } = news;
    if (containsUnknown({ namespaces, namespaceSelector, targetName, source })) return failures;
    if (namespaces === undefined && namespaceSelector === undefined) {
        failures.push({ property: "namespaces", reason: "set namespaces (a list) or namespaceSelector (a label selector such as \"team=a\")" });
    }
    if (namespaces !== undefined && (!Array.isArray(namespaces) || namespaces.some((n) => typeof n !== "string"))) {
        failures.push({ property: "namespaces", reason: "namespaces must be a list of namespace names" });
    }
    if (namespaceSelector !== undefined) {
        let ok = typeof namespaceSelector === "string" && namespaceSelector.trim() !== "";
        if (ok) {
            try {
                parseLabelSelector(namespaceSelector as string);
            } catch {
                ok = false;
            }
        }
        if (!ok) failures.push({ property: "namespaceSelector", reason: "namespaceSelector must be a non-empty label selector such as \"team=a,env in (prod,stage)\"" });
    }
    // Validate the recipe for each explicit namespace and a placeholder one, so bad names fail at preview.
    const probe = Array.isArray(namespaces) && namespaces.length > 0 ? (namespaces as unknown[]) : ["probe-namespace"];
    for (const ns of probe) {
        try {
            const src = (source ?? {}) as { namespace?: unknown; name?: unknown };
            const name = targetName ?? src.name;
            if (ns === src.namespace && name === src.name) continue; // the source's own namespace is skipped, not an error
            validateRecipe({ format: "mirror", source, target: { namespace: ns, name }, options: {} });
        } catch (e) {
            if (!isDerivationError(e)) throw e;
            // Recipe keys map back to this resource's inputs: target.namespace is one of `namespaces`.
            const property = e.key === "target.namespace" ? "namespaces" : e.key === "target.name" || e.key === "target" ? "targetName" : (e.key ?? "source");
            failures.push({ property, reason: e.message });
            break;
        }
    }
    return failures;
}

export interface DiffDecision {
    changes: boolean;
    replaces: string[];
    deleteBeforeReplace: boolean;
    /** Names of the inputs or drift entries that changed (no values): shown in errors and tests. */
    reasons: string[];
}

/** Output type each format always produces, when it does not depend on the source's type. */
const FIXED_TYPE: Record<string, string | undefined> = {
    docker: "kubernetes.io/dockerconfigjson",
    kargo: "Opaque",
    argocd: "Opaque",
};

function same(a: unknown, b: unknown): boolean {
    return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

/**
 * diff() of DerivedSecret. A new target is a new object: replace (create the new one, then delete the old). A format
 * change that changes the secret type on the same target must delete first (the type is immutable and the name is
 * taken). Drift recorded by read() is a change, so `pulumi up` after a refresh repairs it.
 */
export function diffDerived(oldInput: object, newInput: object): DiffDecision {
    const [olds, news] = [fields(oldInput), fields(newInput)];
    const reasons: string[] = [];
    for (const k of ["format", "source", "target", "options", "kubeconfig", "context", "adopt"]) {
        if (!same(olds[k], news[k])) reasons.push(k);
    }
    const drift = Array.isArray(olds.drift) ? (olds.drift as string[]) : [];
    for (const d of drift) reasons.push(`drift:${d}`);
    const replaces: string[] = [];
    let deleteBeforeReplace = false;
    // Another context is another cluster: a new object there (the old one is deleted with the old props' context).
    if (reasons.includes("context")) replaces.push("context");
    if (reasons.includes("target")) replaces.push("target");
    else if (reasons.includes("format")) {
        const oldType = typeof olds.type === "string" ? olds.type : undefined;
        const newType = FIXED_TYPE[String(news.format)];
        if (oldType !== undefined && newType !== undefined && oldType !== newType) {
            replaces.push("format");
            deleteBeforeReplace = true;
        }
    }
    return { changes: reasons.length > 0, replaces, deleteBeforeReplace, reasons };
}

/**
 * diff() of MirroredSecret. A new copy name means new objects: replace (create before delete, names differ).
 * A new source or namespace set is an in-place update (copies are rewritten, dropped namespaces cleaned up).
 */
export function diffMirror(oldInput: object, newInput: object): DiffDecision {
    const [olds, news] = [fields(oldInput), fields(newInput)];
    const reasons: string[] = [];
    for (const k of ["source", "targetName", "namespaces", "namespaceSelector", "kubeconfig", "context", "adopt"]) {
        if (!same(olds[k], news[k])) reasons.push(k);
    }
    const drift = Array.isArray(olds.drift) ? (olds.drift as string[]) : [];
    for (const d of drift) reasons.push(`drift:${d}`);
    const name = (v: Record<string, unknown>) => v.targetName ?? (v.source as { name?: unknown } | undefined)?.name;
    const replaces = [...(same(name(olds), name(news)) ? [] : ["targetName"]), ...(reasons.includes("context") ? ["context"] : [])];
    return { changes: reasons.length > 0, replaces, deleteBeforeReplace: false, reasons };
}
