import { createHmac, randomBytes } from "node:crypto";
import { canonicalJson, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from "../derive";
import { isKubeError, KubeClient } from "../lib/kube";

/**
 * Keyed fingerprints of secret content. Anything that leaves a Secret (a workload's secrets-hash annotation that
 * the `view` role can read, audit log lines, Events, hook state) carries HMAC-SHA256 under a key only the
 * reconciler holds, never a plain sha256: a plain hash of a weak password is an offline guess-checker.
 */
export class Fingerprinter {
    constructor(private readonly key: Buffer) {
        if (key.length < 32) throw new Error("fingerprint key must be at least 32 bytes");
    }

    /** Hex HMAC of a value (any JSON-able input is canonicalised first), truncated to 32 hex chars. */
    of(value: unknown): string {
        const text = typeof value === "string" ? value : canonicalJson(value);
        return createHmac("sha256", this.key).update(text).digest("hex").slice(0, 32);
    }

    /** A short public id of the key (8 hex): a value made under another key is recognised, not mistaken for a change. */
    get keyId(): string {
        return createHmac("sha256", this.key).update("platform-secrets fingerprint key id").digest("hex").slice(0, 8);
    }

    /** A per-process key for tests and for runs without an own namespace (fingerprints then change on restart). */
    static ephemeral(): Fingerprinter {
        return new Fingerprinter(randomBytes(32));
    }
}

export const FINGERPRINT_SECRET_NAME = "platform-secrets-fingerprint-key";

/**
 * Loads the key from a Secret in the reconciler's own namespace (only the reconciler and cluster admins can read
 * it), creating it with 32 random bytes on first start. A lost key means every restart-on workload rolls once and
 * every job-rerun hook runs once more (their recorded fingerprints no longer match); nothing is lost or leaked.
 */
export async function loadFingerprinter(client: KubeClient, namespace: string, name = FINGERPRINT_SECRET_NAME): Promise<Fingerprinter> {
    const path = `/api/v1/namespaces/${namespace}/secrets`;
    for (let attempt = 0; attempt < 3; attempt++) {
        try {
            const s = await client.request<{ data?: Record<string, string> }>("GET", `${path}/${name}`, { object: `${namespace}/${name}` });
            const b64 = s?.data?.key;
            if (typeof b64 !== "string") throw new Error(`secret ${namespace}/${name} has no "key"; delete it and the reconciler creates a new one`);
            return new Fingerprinter(Buffer.from(b64, "base64"));
        } catch (e) {
            if (!isKubeError(e, 404)) throw e;
        }
        try {
            const body = {
                apiVersion: "v1",
                kind: "Secret",
                metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
                type: "Opaque",
                immutable: true,
                data: { key: randomBytes(32).toString("base64") },
            };
            await client.request("POST", path, { body, object: `${namespace}/${name}` });
        } catch (e) {
            // Another replica created it first: read theirs.
            if (!isKubeError(e, 409)) throw e;
        }
    }
    throw new Error(`cannot load or create the fingerprint key ${namespace}/${name}`);
}
