import { ANNOTATION_FAN_OUT, canonicalJson, compileLabelSelector, DerivationError, FAN_OUT_LIMITS, fanOutFromSource, grantFix, Recipe, recipesForFanOut, sourceGrants } from "../../derive";
import { RefusalReason } from "../keys";
import { Secret, SecretMeta, SlimNamespace } from "../model";
import { fanOutAllowed, ReconcilerPolicy } from "./policy";

/**
 * The trust model's decisions, as pure functions over the caches (docs/security.md). The reconciler is a deputy
 * with cluster-wide power: each action it takes for someone must be one that someone could authorize.
 */

export type Decision = { allowed: true; via: "same-namespace" | "grant" | "fan-out" } | { allowed: false; reason: RefusalReason; message: string };

/** A fan-out plan: targets the source asks for that the administrator allows, and the ones refused. */
export interface FanOutPlan {
    /** target key "ns/name" → recipe */
    allowed: Map<string, Recipe>;
    /** target key "ns/name" → why it was refused (names objects and the fix). */
    refused: Map<string, string>;
}

/**
 * What the source's fan-out annotation asks for, split by the administrator's fan-out grants (pure). Only existing,
 * in-scope namespaces: a namespace created later triggers the source again. Throws DerivationError when the
 * annotation itself is malformed (the caller reports it on the source and prunes nothing).
 */
export function planFanOut(source: Secret, namespaces: ReadonlyMap<string, SlimNamespace>, policy: ReconcilerPolicy, inScope: (ns: string) => boolean): FanOutPlan {
    const plan: FanOutPlan = { allowed: new Map(), refused: new Map() };
    const srcNs = source.metadata.namespace ?? "";
    const srcKey = `${srcNs}/${source.metadata.name}`;
    let targets = 0;
    for (const spec of fanOutFromSource(source)) {
        const wanted = new Set<string>(spec.namespaces ?? []);
        if (spec.namespaceSelector !== undefined) {
            // Parsed once per entry, not once per namespace (fanOutFromSource has capped its length).
            const matches = compileLabelSelector(spec.namespaceSelector);
            for (const n of namespaces.values()) if (matches(n.metadata.labels)) wanted.add(n.metadata.name!);
        }
        targets += wanted.size;
        if (targets > FAN_OUT_LIMITS.targets) {
            throw new DerivationError({
                object: srcKey,
                key: `annotations.${ANNOTATION_FAN_OUT}`,
                code: "too-large",
                problem: `the fan-out asks for more than ${FAN_OUT_LIMITS.targets} target namespaces`,
                fix: "narrow the namespaceSelector, or split the source; nothing was written or pruned",
            });
        }
        const ok: string[] = [];
        for (const ns of wanted) {
            if (!inScope(ns) || !namespaces.has(ns)) continue;
            if (fanOutAllowed(policy, srcNs, ns, namespaces.get(ns)?.metadata.labels)) ok.push(ns);
            else plan.refused.set(`${ns}/${spec.targetName ?? source.metadata.name}`, `fan-out of ${srcKey} into namespace ${ns} is not allowed by the administrator; fix: add {"sourceNamespace":"${srcNs}","namespaces":["${ns}"]} to the reconciler policy's fanOut (stack config), or remove ${ns} from the fan-out`);
        }
        for (const r of recipesForFanOut(source, spec, ok)) plan.allowed.set(`${r.target.namespace}/${r.target.name}`, r);
    }
    return plan;
}

function sameRecipe(a: Recipe, b: Recipe): boolean {
    return a.format === b.format && canonicalJson(a.options ?? {}) === canonicalJson(b.options ?? {}) && a.source.namespace === b.source.namespace && a.source.name === b.source.name;
}

/**
 * May the derived secret `derived` (recipe `recipe`) receive data from `source`? Same namespace: yes (its writer
 * could read the source anyway). Otherwise the source must grant the namespace (allow-namespaces / selector), or
 * the secret must be exactly a target the source's own fan-out asks for and the administrator allows.
 * `source` null: absent — answered without revealing whether a secret exists in another namespace.
 */
export function authorizeDerivation(derived: SecretMeta, recipe: Recipe, source: Secret | SecretMeta | null, namespaces: ReadonlyMap<string, SlimNamespace>, plan: FanOutPlan | undefined): Decision {
    const ns = derived.metadata.namespace ?? "";
    const srcKey = `${recipe.source.namespace}/${recipe.source.name}`;
    if (recipe.source.namespace === ns) return { allowed: true, via: "same-namespace" };
    if (source !== null && sourceGrants(source, ns, namespaces.get(ns)?.metadata.labels)) return { allowed: true, via: "grant" };
    const key = `${ns}/${derived.metadata.name}`;
    const target = plan?.allowed.get(key);
    if (target && sameRecipe(target, recipe)) return { allowed: true, via: "fan-out" };
    return {
        allowed: false,
        reason: "no-grant",
        message: `source ${srcKey} does not grant namespace ${ns} (or is not readable from it); no data was copied. Fix: ${grantFix(srcKey, ns)}`,
    };
}
