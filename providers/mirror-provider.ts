import type * as dynamic from "@pulumi/pulumi/dynamic";
import { DesiredSecret, Recipe, SecretLike, deriveSecret, diffSecret } from "../derive";
import { checkMirrorInputs, diffMirror } from "./checks";
import { ensureGrants, grantStatus, releaseGrants } from "./grants";
import { SecretsApi, connect } from "./kube";
import { guarded, applyDerived, deleteIfOwned, fetchSource, ownedFor, refKey, refusal } from "./ops";
import { versioned } from "./schema";
import { MirroredSecretInputs, MirroredSecretOutputs } from "./types";

function copyName(inputs: MirroredSecretInputs): string {
    return inputs.targetName ?? inputs.source.name;
}

/** Explicit namespaces ∪ namespaces matching the selector now; the source's own slot is skipped. */
async function resolveNamespaces(api: SecretsApi, inputs: MirroredSecretInputs): Promise<string[]> {
    const set = new Set(inputs.namespaces ?? []);
    if (inputs.namespaceSelector !== undefined) for (const ns of await api.listNamespaces(inputs.namespaceSelector)) set.add(ns);
    const name = copyName(inputs);
    return [...set].filter((ns) => !(ns === inputs.source.namespace && name === inputs.source.name)).sort();
}

function recipeFor(inputs: MirroredSecretInputs, namespace: string): Recipe {
    return { format: "mirror", source: inputs.source, target: { namespace, name: copyName(inputs) }, options: {} };
}

function outputs(inputs: MirroredSecretInputs, source: SecretLike | undefined, namespaces: string[], drift: string[], grantsAdded: string[]): MirroredSecretOutputs {
    return { ...inputs, targetNamespaces: namespaces, type: source?.type ?? "Opaque", data: { ...(source?.data ?? {}) }, drift, inSync: drift.length === 0, grantsAdded: [...grantsAdded].sort() };
}

/**
 * Writes every copy. All targets are derived and checked for foreign secrets first, so a bad source or one
 * foreign secret means nothing is written at all. Then the source is made to grant every target namespace (one
 * write; the reconciler honours a copy only while its source grants its namespace), then the copies are written.
 */
async function converge(inputs: MirroredSecretInputs, previous?: MirroredSecretOutputs): Promise<MirroredSecretOutputs> {
    const api = connect(inputs.kubeconfig, inputs.context);
    const source = await fetchSource(api, inputs.source, `mirror of ${refKey(inputs.source)}`);
    const namespaces = await resolveNamespaces(api, inputs);
    const owners = previous ? [inputs.source, previous.source] : [inputs.source];
    const desired: DesiredSecret[] = namespaces.map((ns) => deriveSecret(source, recipeFor(inputs, ns)));
    if (inputs.adopt !== true) {
        for (const d of desired) {
            const live = await api.get(d.metadata.namespace, d.metadata.name);
            if (live !== undefined && !ownedFor(live, owners)) throw refusal(live, refKey(d.metadata));
        }
    }
    const grant = await ensureGrants(api, inputs.source, namespaces);
    try {
        for (const d of desired) await applyDerived(api, d, owners, inputs.adopt === true);
    } catch (e) {
        if (grant.added.length) await releaseGrants(api, inputs.source, grant.added.map((ns) => ({ namespace: ns, name: copyName(inputs) }))).catch(() => undefined);
        throw e;
    }
    if (previous) {
        // Namespaces that left the list or stopped matching the selector lose their copy (only if still ours).
        const keep = new Set(namespaces.map((ns) => `${ns}/${copyName(inputs)}`));
        for (const ns of previous.targetNamespaces ?? []) {
            const old = { namespace: ns, name: copyName(previous) };
            if (!keep.has(refKey(old))) await deleteIfOwned(api, old, owners);
        }
        // ...and the provider-added grants for copies that are gone (all of them, when the source changed).
        const sameSource = refKey(previous.source) === refKey(inputs.source);
        const release = (previous.grantsAdded ?? []).filter((ns) => !(sameSource && namespaces.includes(ns)));
        if (release.length) await releaseGrants(api, previous.source, release.map((ns) => ({ namespace: ns, name: copyName(previous) })));
    }
    return outputs(inputs, source, namespaces, [], grant.managed);
}

async function check(_olds: MirroredSecretInputs, news: MirroredSecretInputs): Promise<dynamic.CheckResult<MirroredSecretInputs>> {
    return { inputs: news, failures: checkMirrorInputs(news) };
}

async function diff(_id: string, olds: MirroredSecretOutputs, news: MirroredSecretInputs): Promise<dynamic.DiffResult> {
    const d = diffMirror(olds, news);
    return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
}

async function create(inputs: MirroredSecretInputs): Promise<dynamic.CreateResult<MirroredSecretOutputs>> {
    const outs = await converge(inputs);
    return { id: `${refKey(inputs.source)}->${copyName(inputs)}`, outs };
}

/** Re-resolves the selector: a namespace that gained the label shows as "<ns>: missing", one that lost it as "<ns>: not selected". */
async function read(id: string, props?: MirroredSecretOutputs): Promise<dynamic.ReadResult<MirroredSecretOutputs>> {
    if (props === undefined) throw new Error(`reading ${id}: no recorded inputs. Fix: import is not supported; create the resource instead`);
    const api = connect(props.kubeconfig, props.context);
    const wanted = await resolveNamespaces(api, props);
    const source = await api.get(props.source.namespace, props.source.name);
    const drift: string[] = [];
    if (source === undefined) drift.push("source-missing");
    const present: string[] = [];
    const granted = source === undefined ? new Map<string, boolean>() : await grantStatus(api, source, wanted);
    for (const ns of [...new Set([...wanted, ...(props.targetNamespaces ?? [])])].sort()) {
        const live = await api.get(ns, copyName(props));
        const ours = live !== undefined && ownedFor(live, [props.source]);
        if (ours) present.push(ns);
        if (!wanted.includes(ns)) {
            if (ours) drift.push(`${ns}: not selected`);
            continue;
        }
        if (!ours) {
            drift.push(live === undefined ? `${ns}: missing` : `${ns}: not-managed`);
            continue;
        }
        if (source === undefined) continue;
        if (!granted.get(ns)) drift.push(`${ns}: source-grant-missing`);
        try {
            const desired = deriveSecret(source, recipeFor(props, ns));
            drift.push(...diffSecret(live, desired).map((d) => `${ns}: ${d}`));
        } catch (e) {
            drift.push(`source-invalid:${(e as { code?: string }).code ?? "error"}`);
            break;
        }
    }
    return { id, props: outputs(props, source, present, [...new Set(drift)], props.grantsAdded ?? []) };
}

async function update(_id: string, olds: MirroredSecretOutputs, news: MirroredSecretInputs): Promise<dynamic.UpdateResult<MirroredSecretOutputs>> {
    return { outs: await converge(news, olds) };
}

async function remove(_id: string, props: MirroredSecretOutputs): Promise<void> {
    const api = connect(props.kubeconfig, props.context);
    let namespaces = props.targetNamespaces ?? [];
    try {
        namespaces = [...new Set([...namespaces, ...(await resolveNamespaces(api, props))])];
    } catch {
        // Listing may be forbidden or the selector may match nothing any more; the recorded set still gets cleaned.
    }
    for (const ns of namespaces) await deleteIfOwned(api, { namespace: ns, name: copyName(props) }, [props.source]);
    const added = props.grantsAdded ?? [];
    if (added.length) await releaseGrants(api, props.source, added.map((ns) => ({ namespace: ns, name: copyName(props) })));
}

/** The MirroredSecret provider, recording and enforcing the provider schema (schema.ts). Loaded by the stub (stub.ts). */
export const mirroredSecretProvider: dynamic.ResourceProvider<MirroredSecretInputs, MirroredSecretOutputs> = versioned("MirroredSecret", {
    check: guarded(check),
    diff: guarded(diff),
    create: guarded(create),
    read: guarded(read),
    update: guarded(update),
    delete: guarded(remove),
});
