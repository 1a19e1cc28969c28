import type * as dynamic from "@pulumi/pulumi/dynamic";
import { ANNOTATION_SOURCE_HASH, SecretLike, deriveSecret, diffSecret, ownedAnnotations, ownedLabels } from "../derive";
import { checkDerivedInputs, diffDerived } from "./checks";
import { ensureGrants, grantStatus, releaseGrants } from "./grants";
import { SecretsApi, connect } from "./kube";
import { guarded, applyDerived, deleteIfOwned, fetchSource, ownedFor, recipeOf, refKey } from "./ops";
import { versioned } from "./schema";
import { DerivedSecretInputs, DerivedSecretOutputs } from "./types";

/** Drift entry of a cross-namespace derived secret whose source does not grant its namespace (the reconciler refuses it). */
export const DRIFT_GRANT_MISSING = "source-grant-missing";

function outputs(inputs: DerivedSecretInputs, live: SecretLike, drift: string[], grantAdded: boolean): DerivedSecretOutputs {
    const annotations = ownedAnnotations(live);
    // A plain sha256 of the consumed values must not reach state (an offline guess-checker); the Secret keeps it.
    delete annotations[ANNOTATION_SOURCE_HASH];
    return {
        ...inputs,
        type: live.type ?? "Opaque",
        data: { ...(live.data ?? {}) },
        labels: ownedLabels(live),
        annotations,
        drift,
        inSync: drift.length === 0,
        grantAdded,
    };
}

/**
 * Source read and validated, then the grant (before the derived secret exists, so the reconciler never sees it
 * ungranted), then the derived secret. A grant added for a write that then fails is withdrawn again.
 */
async function converge(api: SecretsApi, inputs: DerivedSecretInputs, owners: DerivedSecretInputs["source"][]): Promise<{ live: SecretLike; grantAdded: boolean }> {
    const source = await fetchSource(api, inputs.source, refKey(inputs.target), inputs.sourceOrigin);
    const desired = deriveSecret(source, recipeOf(inputs));
    const grant = await ensureGrants(api, inputs.source, [inputs.target.namespace]);
    try {
        return { live: await applyDerived(api, desired, owners, inputs.adopt === true), grantAdded: grant.managed.length > 0 };
    } catch (e) {
        if (grant.added.length) await releaseGrants(api, inputs.source, [inputs.target]).catch(() => undefined);
        throw e;
    }
}

async function check(_olds: DerivedSecretInputs, news: DerivedSecretInputs): Promise<dynamic.CheckResult<DerivedSecretInputs>> {
    return { inputs: news, failures: checkDerivedInputs(news) };
}

async function diff(_id: string, olds: DerivedSecretOutputs, news: DerivedSecretInputs): Promise<dynamic.DiffResult> {
    const d = diffDerived(olds, news);
    return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
}

async function create(inputs: DerivedSecretInputs): Promise<dynamic.CreateResult<DerivedSecretOutputs>> {
    const { live, grantAdded } = await converge(connect(inputs.kubeconfig, inputs.context), inputs, [inputs.source]);
    return { id: refKey(inputs.target), outs: outputs(inputs, live, [], grantAdded) };
}

/**
 * Reports the live derived secret, and as `drift` what differs from what the live source implies now (an edited
 * derived secret, a rotated source, a missing source, a source that no longer grants the target's namespace, a
 * secret no longer ours). A deleted target drops the resource.
 */
async function read(id: string, props?: DerivedSecretOutputs): Promise<dynamic.ReadResult<DerivedSecretOutputs>> {
    if (props === undefined) throw new Error(`reading ${id}: no recorded inputs. Fix: import is not supported; create the resource instead`);
    const api = connect(props.kubeconfig, props.context);
    const live = await api.get(props.target.namespace, props.target.name);
    if (live === undefined) return {};
    const drift: string[] = [];
    if (!ownedFor(live, [props.source])) drift.push("not-managed");
    const source = await api.get(props.source.namespace, props.source.name);
    if (source === undefined) drift.push("source-missing");
    else {
        if (!(await grantStatus(api, source, [props.target.namespace])).get(props.target.namespace)) drift.push(DRIFT_GRANT_MISSING);
        try {
            drift.push(...diffSecret(live, deriveSecret(source, recipeOf(props))));
        } catch (e) {
            // A source gone bad is drift to report, not a refresh failure; update will raise the full error.
            drift.push(`source-invalid:${(e as { code?: string }).code ?? "error"}`);
        }
    }
    return { id, props: outputs(props, live, drift, props.grantAdded === true) };
}

async function update(_id: string, olds: DerivedSecretOutputs, news: DerivedSecretInputs): Promise<dynamic.UpdateResult<DerivedSecretOutputs>> {
    const api = connect(news.kubeconfig, news.context);
    // The old source still owns the target until this update rewrites its annotations.
    const { live, grantAdded } = await converge(api, news, [news.source, olds.source]);
    // A grant a provider added on a source this resource no longer reads is withdrawn (unless someone else needs it).
    const sameGrant = refKey(olds.source) === refKey(news.source) && olds.target.namespace === news.target.namespace;
    if (olds.grantAdded === true && !sameGrant) await releaseGrants(api, olds.source, [olds.target]);
    return { outs: outputs(news, live, [], grantAdded) };
}

async function remove(_id: string, props: DerivedSecretOutputs): Promise<void> {
    const api = connect(props.kubeconfig, props.context);
    await deleteIfOwned(api, props.target, [props.source]);
    // Only a grant a provider added, and only while no other derived secret there still names the source.
    if (props.grantAdded === true) await releaseGrants(api, props.source, [props.target]);
}

/** The DerivedSecret provider, recording and enforcing the provider schema (schema.ts). Loaded by the stub (stub.ts). */
export const derivedSecretProvider: dynamic.ResourceProvider<DerivedSecretInputs, DerivedSecretOutputs> = versioned("DerivedSecret", {
    check: guarded(check),
    diff: guarded(diff),
    create: guarded(create),
    read: guarded(read),
    update: guarded(update),
    delete: guarded(remove),
});
