import { createHash } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, KubeConfig, V1OwnerReference, V1Secret } from "@kubernetes/client-node";
import { renderTemplate } from "./eso-template";

/**
 * STAND-IN for the External Secrets Operator (test support only; see README.md here): ESO cannot be built within
 * CI's time here, and the program's git-credential chain waits for its ExternalSecret to be Ready. It polls
 * external-secrets.io/v1 objects with the admin kubeconfig and does what ESO does for the shapes the program
 * renders: ClusterSecretStore (provider.vault, KV v2, auth.tokenSecretRef read from its Secret; conditions:
 * namespaces, namespaceRegexes, namespaceSelector), ExternalSecret (data[].remoteRef key/property, target
 * template type/metadata/data with the template subset of eso-template.ts, creationPolicy Owner), its status
 * (Ready condition, syncedResourceVersion = generation + hash of labels/annotations, so an annotation change
 * re-syncs like ESO's OnChange), and ClusterExternalSecret fan-out by namespaceSelectors. Periodic refresh uses
 * refreshInterval. Not provided: generators, dataFrom, other providers and auth methods, CreatedOnce.
 */
const GROUP = "external-secrets.io";
const VERSION = "v1";
type Obj = Record<string, any>;

export interface EsoStandInOptions {
    kubeConfig: KubeConfig;
    pollMs?: number;
    log?: (line: string) => void;
}

function durationMs(s: unknown): number {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(String(s ?? ""));
    if (!m || !s) return 3_600_000;
    return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

export function selectorMatches(sel: Obj | undefined, labels: Record<string, string>): boolean {
    if (!sel) return false;
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
    for (const e of sel.matchExpressions ?? []) {
        const has = e.key in labels;
        const ok = e.operator === "In" ? has && e.values.includes(labels[e.key]) : e.operator === "NotIn" ? !has || !e.values.includes(labels[e.key]) : e.operator === "Exists" ? has : e.operator === "DoesNotExist" ? !has : false;
        if (!ok) return false;
    }
    return true;
}

/** ESO's store conditions: any one condition admitting the namespace admits it; no conditions admit all. */
export function storeAdmits(store: Obj, ns: string, nsLabels: Record<string, string>): boolean {
    const conds = (store.spec?.conditions ?? []) as Obj[];
    if (conds.length === 0) return true;
    return conds.some((c) => (c.namespaces ?? []).includes(ns) || (c.namespaceRegexes ?? []).some((r: string) => new RegExp(r).test(ns)) || (c.namespaceSelector ? selectorMatches(c.namespaceSelector, nsLabels) : false));
}

export function syncedVersion(es: Obj): string {
    const meta = { labels: es.metadata?.labels ?? {}, annotations: es.metadata?.annotations ?? {} };
    return `${es.metadata?.generation ?? 0}-${createHash("sha256").update(JSON.stringify(meta)).digest("hex").slice(0, 16)}`;
}

export class EsoStandIn {
    private readonly core: CoreV1Api;
    private readonly custom: CustomObjectsApi;
    private timer: NodeJS.Timeout | undefined;
    private running: Promise<void> | undefined;
    private readonly lastSync = new Map<string, number>();
    private readonly log: (line: string) => void;
    syncs = 0;

    constructor(private readonly opts: EsoStandInOptions) {
        this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
        this.custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
        this.log = opts.log ?? (() => undefined);
    }

    start(): this {
        this.log("NOTICE: ESO STAND-IN (test/standins/eso.ts) is syncing ExternalSecrets from Vault; it is not External Secrets Operator");
        const tick = (): void => {
            this.running = this.pass().catch((e) => this.log(`eso stand-in: ${brief(e)}`));
            void this.running.then(() => {
                if (this.timer !== undefined) this.timer = setTimeout(tick, this.opts.pollMs ?? 500);
            });
        };
        this.timer = setTimeout(tick, 0);
        return this;
    }

    async stop(): Promise<void> {
        const t = this.timer;
        this.timer = undefined;
        if (t) clearTimeout(t);
        await this.running;
    }

    private async list(plural: string): Promise<Obj[]> {
        try {
            return ((await this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as Obj).items ?? [];
        } catch (e) {
            if ((e as { code?: number }).code === 404) return []; // CRDs not installed (yet)
            throw e;
        }
    }

    /** One reconcile pass over every ClusterExternalSecret and ExternalSecret. */
    async pass(): Promise<void> {
        const namespaces = new Map(((await this.core.listNamespace()).items ?? []).map((n) => [n.metadata!.name!, (n.metadata!.labels ?? {}) as Record<string, string>]));
        for (const ces of await this.list("clusterexternalsecrets")) {
            await this.fanOut(ces, namespaces).catch((e) => {
                if ((e as { code?: number }).code !== 404 && (e as { code?: number }).code !== 409) throw e;
            });
        }
        const stores = new Map((await this.list("clustersecretstores")).map((s) => [s.metadata.name as string, s]));
        for (const es of await this.list("externalsecrets")) {
            const key = `${es.metadata.namespace}/${es.metadata.name}`;
            const version = syncedVersion(es);
            const ready = (es.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
            const due = es.spec?.refreshPolicy === "Periodic" && Date.now() - (this.lastSync.get(key) ?? 0) >= durationMs(es.spec?.refreshInterval);
            if (ready && es.status?.syncedResourceVersion === version && !due) continue;
            if (!ready && es.status?.syncedResourceVersion === version && Date.now() - (this.lastSync.get(key) ?? 0) < 5000) continue;
            this.lastSync.set(key, Date.now());
            try {
                await this.sync(es, stores, namespaces.get(es.metadata.namespace) ?? {});
                await this.setStatus(es, "True", "SecretSynced", "secret synced (ESO stand-in)", version);
                this.syncs++;
            } catch (e) {
                if ((e as { code?: number }).code === 404) continue; // deleted meanwhile (destroy, namespace going)
                this.log(`eso stand-in: ${key}: ${brief(e)}`);
                await this.setStatus(es, "False", "SecretSyncedError", brief(e), version).catch(() => undefined);
            }
        }
    }

    private async fanOut(ces: Obj, namespaces: Map<string, Record<string, string>>): Promise<void> {
        const name = ces.spec?.externalSecretName ?? ces.metadata.name;
        const targets = [...namespaces].filter(([, l]) => (ces.spec?.namespaceSelectors ?? []).some((s: Obj) => selectorMatches(s, l))).map(([n]) => n);
        for (const ns of targets) {
            const body = {
                apiVersion: `${GROUP}/${VERSION}`,
                kind: "ExternalSecret",
                metadata: { name, namespace: ns, labels: ces.spec?.externalSecretMetadata?.labels ?? {}, annotations: ces.spec?.externalSecretMetadata?.annotations ?? {}, ownerReferences: [owner(ces, "ClusterExternalSecret")] },
                spec: ces.spec?.externalSecretSpec ?? {},
            };
            const current = await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "externalsecrets", name }).catch(() => undefined) as Obj | undefined;
            if (!current) await this.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "externalsecrets", body });
            else if (JSON.stringify(current.spec) !== JSON.stringify(body.spec)) await this.custom.replaceNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: "externalsecrets", name, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } } });
        }
        const status = { provisionedNamespaces: targets.sort(), conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date().toISOString() }] };
        if (JSON.stringify(ces.status?.provisionedNamespaces) !== JSON.stringify(status.provisionedNamespaces)) {
            await this.custom.replaceClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural: "clusterexternalsecrets", name: ces.metadata.name, body: { ...ces, status } });
        }
    }

    private async vaultToken(store: Obj): Promise<string> {
        const ref = store.spec?.provider?.vault?.auth?.tokenSecretRef;
        if (!ref) throw new Error(`ClusterSecretStore ${store.metadata.name}: only auth.tokenSecretRef is provided by the ESO stand-in`);
        const s = await this.core.readNamespacedSecret({ name: ref.name, namespace: ref.namespace });
        const v = s.data?.[ref.key ?? "token"];
        if (!v) throw new Error(`ClusterSecretStore ${store.metadata.name}: secret ${ref.namespace}/${ref.name} has no key ${ref.key}`);
        return Buffer.from(v, "base64").toString("utf8");
    }

    private async sync(es: Obj, stores: Map<string, Obj>, nsLabels: Record<string, string>): Promise<void> {
        const ref = es.spec?.secretStoreRef;
        if (!ref || ref.kind !== "ClusterSecretStore") throw new Error("only secretStoreRef kind ClusterSecretStore is provided by the ESO stand-in");
        const store = stores.get(ref.name);
        if (!store) throw new Error(`ClusterSecretStore "${ref.name}" not found`);
        if (!storeAdmits(store, es.metadata.namespace, nsLabels)) throw new Error(`using ClusterSecretStore "${ref.name}" is not allowed from namespace "${es.metadata.namespace}"`);
        const vault = store.spec.provider?.vault;
        if (!vault || vault.version !== "v2") throw new Error(`ClusterSecretStore "${ref.name}": only provider.vault with version v2 is provided by the ESO stand-in`);
        const token = await this.vaultToken(store);
        const values: Record<string, string> = {};
        const cache = new Map<string, Obj>();
        for (const d of es.spec?.data ?? []) {
            const key = String(d.remoteRef.key);
            if (!cache.has(key)) {
                const res = await fetch(`${String(vault.server).replace(/\/$/, "")}/v1/${vault.path}/data/${key}`, { headers: { "x-vault-token": token } });
                if (res.status !== 200) throw new Error(`could not get secret data from provider: ${vault.path}/${key}: HTTP ${res.status}`);
                cache.set(key, ((await res.json()) as Obj).data?.data ?? {});
            }
            const data = cache.get(key)!;
            const v = d.remoteRef.property !== undefined ? data[d.remoteRef.property] : data;
            if (v === undefined) throw new Error(`key ${key}: property ${d.remoteRef.property} does not exist`);
            values[d.secretKey] = typeof v === "string" ? v : JSON.stringify(v);
        }
        const tpl = es.spec?.target?.template ?? {};
        const out: Record<string, string> = tpl.data ? Object.fromEntries(Object.entries(tpl.data as Record<string, string>).map(([k, t]) => [k, renderTemplate(t, values, `${k}`)])) : values;
        const name = es.spec?.target?.name ?? es.metadata.name;
        const body: V1Secret = {
            metadata: { name, namespace: es.metadata.namespace, labels: tpl.metadata?.labels ?? {}, annotations: tpl.metadata?.annotations ?? {}, ...(es.spec?.target?.creationPolicy === "Owner" ? { ownerReferences: [owner(es, "ExternalSecret")] } : {}) },
            type: tpl.type ?? "Opaque",
            data: Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")])),
        };
        const current = await this.core.readNamespacedSecret({ name, namespace: es.metadata.namespace }).catch(() => undefined);
        if (!current) {
            await this.core.createNamespacedSecret({ namespace: es.metadata.namespace, body });
            return;
        }
        // ESO merges its template metadata into the live object (others' labels/annotations stay) and replaces data.
        const merged: V1Secret = {
            ...current,
            metadata: { ...current.metadata, labels: { ...(current.metadata?.labels ?? {}), ...body.metadata!.labels }, annotations: { ...(current.metadata?.annotations ?? {}), ...body.metadata!.annotations } },
            data: body.data,
        };
        if (JSON.stringify(merged) !== JSON.stringify(current)) await this.core.replaceNamespacedSecret({ name, namespace: es.metadata.namespace, body: merged });
    }

    private async setStatus(es: Obj, status: string, reason: string, message: string, version: string): Promise<void> {
        const body = { ...es, status: { ...(es.status ?? {}), refreshTime: new Date().toISOString(), syncedResourceVersion: version, conditions: [{ type: "Ready", status, reason, message, lastTransitionTime: new Date().toISOString() }] } };
        await this.custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: es.metadata.namespace, plural: "externalsecrets", name: es.metadata.name, body });
    }
}

/** One line for a client-node ApiException (its message carries the whole response) or any other error. */
function brief(e: unknown): string {
    const x = e as { code?: number; body?: unknown; message?: string };
    if (x.code !== undefined && x.body !== undefined) {
        try {
            return `HTTP ${x.code}: ${(JSON.parse(String(x.body)) as { message?: string }).message ?? ""}`;
        } catch {
            return `HTTP ${x.code}`;
        }
    }
    return String(x.message ?? e).split("\n")[0]!;
}

function owner(o: Obj, kind: string): V1OwnerReference {
    return { apiVersion: `${GROUP}/${VERSION}`, kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true };
}
