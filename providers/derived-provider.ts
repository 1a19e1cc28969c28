import type * as dynamic from "@pulumi/pulumi/dynamic";
import { deriveSecret, diffSecret, ownedAnnotations, ownedLabels, recordedSourceHash, SecretLike } from "../derive";
import { checkDerivedInputs, diffDerived } from "./checks";
import { connect } from "./kube";
import { guarded, applyDerived, deleteIfOwned, fetchSource, ownedFor, recipeOf, refKey } from "./ops";
import { DerivedSecretInputs, DerivedSecretOutputs } from "./types";

function outputs(inputs: DerivedSecretInputs, live: SecretLike, liveSourceHash: string, drift: string[]): DerivedSecretOutputs {
    return {
        ...inputs,
        type: live.type ?? "Opaque",
        data: { ...(live.data ?? {}) },
        labels: ownedLabels(live),
        annotations: ownedAnnotations(live),
        sourceHash: recordedSourceHash(live) ?? "",
        liveSourceHash,
        drift,
    };
}

async function converge(inputs: DerivedSecretInputs, owners: DerivedSecretInputs["source"][]): Promise<DerivedSecretOutputs> {
    const api = connect(inputs.kubeconfig);
    const recipe = recipeOf(inputs);
    const source = await fetchSource(api, inputs.source, refKey(inputs.target));
    const desired = deriveSecret(source, recipe);
    const live = await applyDerived(api, desired, owners, inputs.adopt === true);
    return outputs(inputs, live, recordedSourceHash(desired) ?? "", []);
}

async function check(_olds: DerivedSecretInputs, news: DerivedSecretInputs): Promise<dynamic.CheckResult<DerivedSecretInputs>> {
    return { inputs: news, failures: checkDerivedInputs(news as unknown as Record<string, unknown>) };
}

async function diff(_id: string, olds: DerivedSecretOutputs, news: DerivedSecretInputs): Promise<dynamic.DiffResult> {
    const d = diffDerived(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>);
    return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
}

async function create(inputs: DerivedSecretInputs): Promise<dynamic.CreateResult<DerivedSecretOutputs>> {
    const outs = await converge(inputs, [inputs.source]);
    return { id: refKey(inputs.target), outs };
}

/**
 * Reports the live derived secret, and as `drift` what differs from what the live source implies now (an edited
 * derived secret, a rotated source, a missing source, a secret no longer ours). A deleted target drops the resource.
 */
async function read(id: string, props?: DerivedSecretOutputs): Promise<dynamic.ReadResult<DerivedSecretOutputs>> {
    if (props === undefined) throw new Error(`reading ${id}: no recorded inputs. Fix: import is not supported; create the resource instead`);
    const api = connect(props.kubeconfig);
    const live = await api.get(props.target.namespace, props.target.name);
    if (live === undefined) return {};
    const drift: string[] = [];
    let liveSourceHash = "";
    if (!ownedFor(live, [props.source])) drift.push("not-managed");
    const source = await api.get(props.source.namespace, props.source.name);
    if (source === undefined) drift.push("source-missing");
    else {
        try {
            const desired = deriveSecret(source, recipeOf(props));
            liveSourceHash = recordedSourceHash(desired) ?? "";
            drift.push(...diffSecret(live, desired));
        } catch (e) {
            // A source gone bad is drift to report, not a refresh failure; update will raise the full error.
            drift.push(`source-invalid:${(e as { code?: string }).code ?? "error"}`);
        }
    }
    return { id, props: outputs(props, live, liveSourceHash, drift) };
}

async function update(_id: string, olds: DerivedSecretOutputs, news: DerivedSecretInputs): Promise<dynamic.UpdateResult<DerivedSecretOutputs>> {
    // The old source still owns the target until this update rewrites its annotations.
    return { outs: await converge(news, [news.source, olds.source]) };
}

async function remove(_id: string, props: DerivedSecretOutputs): Promise<void> {
    await deleteIfOwned(connect(props.kubeconfig), props.target, [props.source]);
}

/** The DerivedSecret provider. A plain object of module functions: Pulumi serializes it into the state. */
export const derivedSecretProvider: dynamic.ResourceProvider<DerivedSecretInputs, DerivedSecretOutputs> = {
    check: guarded(check),
    diff: guarded(diff),
    create: guarded(create),
    read: guarded(read),
    update: guarded(update),
    delete: guarded(remove),
};
