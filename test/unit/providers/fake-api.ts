import { KubeError, SecretsApi } from "../../../providers";
import type { SecretLike } from "../../../derive";

const ALLOW = "platform-secrets.io/allow-namespaces";

/**
 * An in-memory apiserver for Secrets with the one rule the grant writes rely on: a replace carrying a stale
 * resourceVersion is refused with 409. `concurrent` simulates another writer landing between our read and write.
 */
export class FakeApi implements SecretsApi {
    readonly store = new Map<string, SecretLike>();
    readonly nsLabels = new Map<string, Record<string, string>>();
    writes = 0;
    concurrent: ((s: SecretLike) => void)[] = [];
    forbid = false;
    private rv = 1;

    put(s: SecretLike): void {
        this.store.set(`${s.metadata.namespace}/${s.metadata.name}`, { ...s, metadata: { ...s.metadata, resourceVersion: String(this.rv++) } });
    }
    async get(namespace: string, name: string) {
        const s = this.store.get(`${namespace}/${name}`);
        return s && (JSON.parse(JSON.stringify(s)) as SecretLike);
    }
    async create(s: SecretLike) {
        this.put(s);
        return s;
    }
    async replace(s: SecretLike) {
        const key = `${s.metadata.namespace}/${s.metadata.name}`;
        if (this.forbid) throw new KubeError(`updating secret ${key} failed: HTTP 403 Forbidden. Fix: grant`, 403);
        const next = this.concurrent.shift();
        if (next) {
            const live = this.store.get(key)!;
            next(live);
            this.put(live);
        }
        if (!this.store.has(key)) throw new KubeError(`updating secret ${key} failed: HTTP 404`, 404);
        if (this.store.get(key)!.metadata.resourceVersion !== s.metadata.resourceVersion) throw new KubeError(`updating secret ${key} failed: HTTP 409 Conflict`, 409);
        this.writes++;
        this.put(s);
        return s;
    }
    async remove(namespace: string, name: string) {
        this.store.delete(`${namespace}/${name}`);
    }
    async listNamespaces() {
        return [...this.nsLabels.keys()].sort();
    }
    async namespaceLabels(name: string) {
        return this.nsLabels.get(name);
    }
    async listDerived(namespace: string) {
        return [...this.store.values()].filter((s) => s.metadata.namespace === namespace && s.metadata.labels?.["platform-secrets.io/derived"] === "true");
    }
    /** Every provider call made while `use()` is in force gets this API instead of a real apiserver client. */
    use(): () => void {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const kube = require("../../../providers/kube") as { connect: unknown };
        const real = kube.connect;
        kube.connect = () => this;
        return () => (kube.connect = real);
    }
    annotation(ns: string, name: string, key = ALLOW): string | undefined {
        return this.store.get(`${ns}/${name}`)?.metadata.annotations?.[key];
    }
}

