import { createHash } from "node:crypto";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, PREFIX } from "../../derive";
import { Logger } from "../../lib/log";
import { Tombstone } from "../context";
import { isKubeError, KubeClient } from "../../lib/kube";
import { SecretMeta } from "../model";

/** Label of the reconciler's tombstone Secrets (in its own namespace, next to hook state). */
export const LABEL_TOMBSTONE = `${PREFIX}tombstone`;
const A_SOURCE = `${PREFIX}tombstone-source`;
const A_AT = `${PREFIX}tombstone-at`;
const A_RETAIN = `${PREFIX}tombstone-retain`;

export function tombstoneName(sourceKey: string): string {
    return `tombstone-${createHash("sha256").update(sourceKey).digest("hex").slice(0, 24)}`;
}

/**
 * The deletion grace of sources, kept where a restart finds it (issue 21 §6: in process memory only, a restart during
 * the grace kept the derived secrets forever). A Map whose set/delete also write or remove one Secret per deleted
 * source in the reconciler's own namespace (the cached source's metadata, never data); `load` reads them back at
 * start. Writes are best effort and logged: the in-memory entry still drives this process.
 */
export class PersistentTombstones extends Map<string, Tombstone> {
    constructor(
        private readonly client: KubeClient,
        private readonly namespace: string,
        private readonly logger: Logger,
    ) {
        super();
    }

    private path(name?: string): string {
        return `/api/v1/namespaces/${this.namespace}/secrets${name ? `/${name}` : ""}`;
    }

    override set(key: string, t: Tombstone): this {
        super.set(key, t);
        const body = {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: tombstoneName(key), labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LABEL_TOMBSTONE]: "true" }, annotations: { [A_SOURCE]: key, [A_AT]: String(t.at), [A_RETAIN]: String(t.retain) } },
            type: "Opaque",
            // The content hash is an unkeyed digest of the source's data (a guess oracle to whoever reads this
            // namespace) and the grace needs only the grants: it is not persisted.
            data: { meta: Buffer.from(JSON.stringify({ ...t.meta, contentHash: "" })).toString("base64") },
        };
        void this.client.request("POST", this.path(), { body, object: key }).catch(async (e: unknown) => {
            if (isKubeError(e, 409)) return this.client.request("PUT", this.path(body.metadata.name), { body, object: key });
            throw e;
        }).catch((e: unknown) => this.logger.warn({ object: key, err: String(e) }, "deletion grace not persisted; a restart before it ends keeps the derived secrets"));
        return this;
    }

    override delete(key: string): boolean {
        const had = super.delete(key);
        // Only when there was one: every live source's reconcile clears its tombstone, nearly always absent.
        if (had) {
            void this.client.request("DELETE", this.path(tombstoneName(key)), { object: key }).catch((e: unknown) => {
                if (!isKubeError(e, 404)) this.logger.warn({ object: key, err: String(e) }, "tombstone not removed");
            });
        }
        return had;
    }

    /** Reads the persisted tombstones into the map (without writing them again); returns their source keys. */
    async load(): Promise<string[]> {
        const list = await this.client.request<{ items?: unknown[] }>("GET", this.path(), { query: { labelSelector: `${LABEL_TOMBSTONE}=true` } });
        const keys: string[] = [];
        for (const s of (list.items ?? []) as { metadata: { name: string; annotations?: Record<string, string> }; data?: Record<string, string> }[]) {
            const key = s.metadata.annotations?.[A_SOURCE];
            const at = Number(s.metadata.annotations?.[A_AT]);
            if (!key || !Number.isFinite(at) || s.metadata.name !== tombstoneName(key)) continue; // not ours, or edited
            let meta: SecretMeta;
            try {
                meta = JSON.parse(Buffer.from(s.data?.meta ?? "", "base64").toString("utf8")) as SecretMeta;
            } catch {
                continue;
            }
            if (!super.has(key)) super.set(key, { at, retain: s.metadata.annotations?.[A_RETAIN] === "true", meta });
            keys.push(key);
        }
        return keys;
    }
}
