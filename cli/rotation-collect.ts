import { timingSafeEqual, createHash } from "node:crypto";
import { isDerived, recipeFromSecret, SecretLike } from "../derive";
import { KubeClient, RequestOptions } from "../lib/kube";
import { ALL_WORKLOAD_KINDS, contentHash, hookStateName, hooksFor, parsePolicy, POLICY_KEY, VaultKv, workloadApi, WorkloadKind } from "../reconciler/api";
import { workloadInfo } from "./collect";
import { AccessError, describeError, isForbidden, isNotFound, printable } from "./kube";
import { buildRotationReport, contentChangedAt, derivedStep, esoStep, EsoFacts, hooksStep, RawWorkloadStatus, RotationReport, RotationStep, vaultStep, workloadStep } from "./rotation";

/**
 * The reads behind `platform-secrets rotation NS/NAME` (rotation.ts decides). Values are read where a comparison
 * needs them (the Secret's data against Vault's current version, the live source through the derivation core) and
 * never leave this module: only states and object names do.
 */
export interface RotationOptions {
    /** Vault read access (the user's own token); undefined: the Vault and ESO comparisons are reported unknown. */
    vault?: VaultKv;
    vaultUnavailable?: string;
    vaultMount: string;
    reconcilerNamespace: string;
    /** Look for derived secrets and consumers in every namespace (fan-out targets); default the source's only. */
    allNamespaces: boolean;
}

interface RawSecret extends SecretLike {
    type?: string;
    data?: Record<string, string>;
    metadata: SecretLike["metadata"] & { managedFields?: { time?: string; fieldsV1?: Record<string, unknown> }[] };
}

interface ExternalSecret {
    metadata: { namespace?: string; name?: string };
    spec?: { target?: { name?: string; template?: { data?: unknown; templateFrom?: unknown } }; data?: { secretKey?: string; remoteRef?: { key?: string; property?: string } }[] };
    status?: { refreshTime?: string; conditions?: { type?: string; status?: string; message?: string }[] };
}

const METADATA_ONLY = { accept: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json" };
const same = (a: string, b: string) => {
    const [x, y] = [createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest()];
    return timingSafeEqual(x, y);
};

export async function collectRotation(client: KubeClient, ref: { namespace: string; name: string }, o: RotationOptions): Promise<RotationReport> {
    const srcKey = `${ref.namespace}/${ref.name}`;
    let source: RawSecret;
    try {
        source = await client.request<RawSecret>("GET", `/api/v1/namespaces/${ref.namespace}/secrets/${ref.name}`, { object: srcKey });
    } catch (e) {
        if (isNotFound(e)) throw new AccessError(`secret ${srcKey} not found`);
        if (isForbidden(e)) throw new AccessError(`reading secret ${srcKey} is not permitted for your credentials (the rotation view compares its content)`);
        throw e;
    }
    const steps: RotationStep[] = [];
    await externalSecretSteps(client, source, o, steps);
    const hooks = await hookStep(client, source, o);
    if (hooks) steps.push(hooks);
    const consumed = [{ key: srcKey, changedAt: contentChangedAt(source.metadata.managedFields) }];
    for (const d of await derivedOf(client, ref, o, steps)) {
        steps.push(derivedStep(d, recipeFromSecret(d), source));
        consumed.push({ key: `${d.metadata.namespace}/${d.metadata.name}`, changedAt: contentChangedAt(d.metadata.managedFields) });
    }
    await workloadSteps(client, consumed, steps);
    return buildRotationReport(`secret ${srcKey}`, steps);
}

/**
 * `rotation --password PATH`: every consumer Secret of one stable password, i.e. the targets of the ExternalSecrets
 * that read that Vault path (in `namespace`, or everywhere the user may list with -A), each followed as above; steps
 * shared by several consumers (the Vault version) appear once.
 */
export async function collectPasswordRotation(client: KubeClient, vaultPath: string, o: RotationOptions & { namespace?: string }): Promise<RotationReport> {
    const path = o.allNamespaces || !o.namespace ? "/apis/external-secrets.io/v1/externalsecrets" : `/apis/external-secrets.io/v1/namespaces/${o.namespace}/externalsecrets`;
    let items: ExternalSecret[];
    try {
        items = (await client.request<{ items?: ExternalSecret[] }>("GET", path)).items ?? [];
    } catch (e) {
        if (isNotFound(e)) throw new AccessError("no ExternalSecret API in this cluster (is the External Secrets Operator installed?)");
        if (isForbidden(e)) throw new AccessError(`listing ExternalSecrets ${o.namespace && !o.allNamespaces ? `in namespace ${o.namespace}` : "in all namespaces"} is not permitted for your credentials; pass -n NAMESPACE`);
        throw e;
    }
    const consumers = [...new Set(items.filter((es) => (es.spec?.data ?? []).some((d) => d.remoteRef?.key === vaultPath)).map((es) => `${es.metadata.namespace}/${es.spec?.target?.name ?? es.metadata.name}`))].sort();
    if (consumers.length === 0) throw new AccessError(`no ExternalSecret reads Vault path ${vaultPath} ${o.namespace && !o.allNamespaces ? `in namespace ${o.namespace}` : "in the namespaces you may list"} (the path inside the mount, e.g. dev/authentik/postgres)`);
    const steps = new Map<string, RotationStep>();
    for (const c of consumers) {
        const [namespace, name] = [c.slice(0, c.indexOf("/")), c.slice(c.indexOf("/") + 1)];
        for (const st of (await collectRotation(client, { namespace, name }, o)).steps) {
            const k = `${st.kind} ${st.object}`;
            const had = steps.get(k);
            // The same step seen from two consumers: keep the less finished view.
            if (!had || (had.state === "done" && st.state !== "done")) steps.set(k, st);
        }
    }
    return buildRotationReport(`password ${o.vaultMount}/${vaultPath} (${consumers.length} consumer Secret${consumers.length === 1 ? "" : "s"}: ${consumers.join(", ")})`, [...steps.values()]);
}

async function externalSecretSteps(client: KubeClient, source: RawSecret, o: RotationOptions, steps: RotationStep[]): Promise<void> {
    const { namespace, name } = source.metadata;
    let items: ExternalSecret[];
    try {
        items = (await client.request<{ items?: ExternalSecret[] }>("GET", `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets`)).items ?? [];
    } catch (e) {
        if (isNotFound(e)) return; // ESO is not installed: a source written by someone else
        steps.push({ kind: "eso", object: `externalsecrets in ${namespace}`, state: "unknown", detail: isForbidden(e) ? "not permitted to read ExternalSecrets" : describeError(e, "listing ExternalSecrets") });
        return;
    }
    const vaultDone = new Set<string>();
    for (const es of items.filter((x) => (x.spec?.target?.name ?? x.metadata.name) === name)) {
        const object = `externalsecret/${namespace}/${es.metadata.name}`;
        const ready = es.status?.conditions?.find((c) => c.type === "Ready");
        const facts: EsoFacts = { ...(ready ? { ready: { status: ready.status ?? "Unknown", message: ready.message } } : {}) };
        // A template that only sets metadata (what the stack renders) leaves values as Vault has them: comparable.
        const t = es.spec?.target?.template;
        const templated = t?.data !== undefined || t?.templateFrom !== undefined;
        let allMatch: boolean | undefined = o.vault && !templated ? true : undefined;
        let refreshedAfter: boolean | undefined;
        for (const d of es.spec?.data ?? []) {
            const path = d.remoteRef?.key;
            if (!path) continue;
            const vpath = `${o.vaultMount}/${path}`;
            if (!o.vault) {
                if (!vaultDone.has(vpath)) steps.push(vaultStep(vpath, { unavailable: o.vaultUnavailable ?? "no Vault access" }));
                vaultDone.add(vpath);
                continue;
            }
            let meta: Awaited<ReturnType<VaultKv["versions"]>>;
            try {
                meta = await o.vault.versions(o.vaultMount, path);
            } catch (e) {
                steps.push(vaultStep(vpath, { unavailable: printable(String((e as Error).message ?? e)) }));
                allMatch = undefined;
                continue;
            }
            if (!vaultDone.has(vpath)) steps.push(vaultStep(vpath, meta));
            vaultDone.add(vpath);
            if (!meta) {
                allMatch = undefined;
                continue;
            }
            if (templated || !d.secretKey) {
                const refreshed = Date.parse(es.status?.refreshTime ?? "");
                if (meta.createdAt !== undefined && Number.isFinite(refreshed)) refreshedAfter = (refreshedAfter ?? true) && refreshed >= meta.createdAt - 1000;
                continue;
            }
            const want = await o.vault.readVersion(o.vaultMount, path, meta.current, d.remoteRef?.property ?? "");
            const have = source.data?.[d.secretKey];
            if (allMatch !== undefined) allMatch = allMatch && want !== undefined && have !== undefined && same(want, Buffer.from(have, "base64").toString("utf8"));
        }
        if (allMatch !== undefined) facts.matchesVault = allMatch;
        if (refreshedAfter !== undefined) facts.refreshedAfterVersion = refreshedAfter;
        steps.push(esoStep(object, `secret ${namespace}/${name}`, facts));
    }
}

async function hookStep(client: KubeClient, source: RawSecret, o: RotationOptions): Promise<RotationStep | undefined> {
    const srcKey = `${source.metadata.namespace}/${source.metadata.name}`;
    const object = `hooks of ${srcKey}`;
    const content = contentHash(source);
    try {
        const st = await client.request<{ metadata: { annotations?: Record<string, string> } }>("GET", `/api/v1/namespaces/${o.reconcilerNamespace}/secrets/${hookStateName(srcKey)}`, { object });
        return hooksStep(object, { annotations: st.metadata.annotations ?? {} }, content, undefined);
    } catch (e) {
        if (isForbidden(e)) return hooksStep(object, "forbidden", content, undefined);
        if (!isNotFound(e)) throw e;
    }
    // No state: hooks never ran. Declared at all? The policy ConfigMap(s) in the reconciler's namespace say; finding
    // none there means we look in the wrong place, which must not pass for "no hooks".
    const elsewhere = { kind: "hooks" as const, object, state: "unknown" as const, detail: `no administrator policy in namespace ${o.reconcilerNamespace}: pass --reconciler-namespace (the stack's reconcilerNamespace) to check the hooks` };
    let declared = false;
    try {
        const cms = await client.request<{ items?: { data?: Record<string, string>; metadata?: { name?: string } }[] }>("GET", `/api/v1/namespaces/${o.reconcilerNamespace}/configmaps`);
        const policies = (cms.items ?? []).filter((cm) => cm.data?.[POLICY_KEY] !== undefined);
        if (policies.length === 0) return elsewhere;
        for (const cm of policies) {
            try {
                declared ||= hooksFor(parsePolicy(cm.data![POLICY_KEY], `configmap ${cm.metadata?.name}`), srcKey).length > 0;
            } catch {
                // an invalid policy declares nothing the reconciler would run
            }
        }
    } catch (e) {
        if (isNotFound(e)) return elsewhere;
        if (!isForbidden(e)) throw e;
        return hooksStep(object, "forbidden", content, undefined);
    }
    return hooksStep(object, "absent", content, declared);
}

async function derivedOf(client: KubeClient, ref: { namespace: string; name: string }, o: RotationOptions, steps: RotationStep[]): Promise<RawSecret[]> {
    const path = o.allNamespaces ? "/api/v1/secrets" : `/api/v1/namespaces/${ref.namespace}/secrets`;
    try {
        const list = await client.request<{ items?: RawSecret[] }>("GET", path, { query: { labelSelector: "platform-secrets.io/derived=true" }, ...METADATA_ONLY } as RequestOptions);
        return (list.items ?? []).filter((s) => isDerived(s) && s.metadata.annotations?.["platform-secrets.io/source-namespace"] === ref.namespace && s.metadata.annotations?.["platform-secrets.io/source-name"] === ref.name);
    } catch (e) {
        steps.push({ kind: "derived", object: `derived secrets in ${o.allNamespaces ? "all namespaces" : ref.namespace}`, state: "unknown", detail: isForbidden(e) ? "not permitted to list them" : describeError(e, "listing derived secrets") });
        return [];
    }
}

async function workloadSteps(client: KubeClient, consumed: { key: string; changedAt?: number }[], steps: RotationStep[]): Promise<void> {
    const namespaces = [...new Set(consumed.map((c) => c.key.slice(0, c.key.indexOf("/"))))];
    for (const ns of namespaces) {
        for (const kind of ALL_WORKLOAD_KINDS as readonly WorkloadKind[]) {
            let items: (RawWorkloadStatus & Parameters<typeof workloadInfo>[1])[];
            try {
                items = (await client.request<{ items?: (RawWorkloadStatus & Parameters<typeof workloadInfo>[1])[] }>("GET", `${workloadApi(kind)}/namespaces/${ns}/${kind}`)).items ?? [];
            } catch (e) {
                if (isNotFound(e)) continue; // Argo Rollouts not installed
                steps.push({ kind: "workload", object: `${kind} in ${ns}`, state: "unknown", detail: isForbidden(e) ? "not permitted to list them" : describeError(e, `listing ${kind}`) });
                continue;
            }
            for (const w of items) {
                const info = workloadInfo(kind, w);
                for (const c of consumed) {
                    const secretName = c.key.slice(c.key.indexOf("/") + 1);
                    if (c.key.startsWith(`${ns}/`) && info.consumes.includes(secretName)) steps.push(workloadStep(kind, w, `secret ${c.key}`, c.changedAt));
                }
            }
        }
    }
}
