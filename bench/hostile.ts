/**
 * The hostile tenant's mix for run C of the reconciler benchmark (issue 21), created the way a tenant with Secret
 * rights in its own namespace only could create it, next to the plain content:
 * - `big`: Secrets of ~700 KiB that nothing depends on (what OOM-killed every relist before the streamed list);
 * - one source whose fan-out annotation sits at the caps (FAN_OUT_LIMITS: 16 KiB, selectors of ~1,000 characters),
 *   re-planned on every namespace, policy and resync pass;
 * - `forged`: derived secrets with our recipe copied onto them, naming sources of the plain namespace (each is
 *   refused: a status write and an Event attempt from the tenant's own share).
 */
import { randomBytes } from "node:crypto";
import { ANNOTATION_FAN_OUT, deriveSecret, FAN_OUT_LIMITS, validateRecipe } from "../derive";
import { KubeClient } from "../lib/kube";
import { srcName } from "./cluster";
import { b64, log, pool, retry } from "./lib";

export interface HostileSizes {
    big: number;
    bigBytes: number;
    forged: number;
}

/** A valid selector of about `chars` characters that matches no namespace (every term requires a label nobody sets). */
export function longSelector(chars: number, seed: number): string {
    const terms: string[] = [];
    for (let i = 0; terms.join(",").length + 20 < chars; i++) terms.push(`bench-h${seed}-t${i}=x`);
    return terms.join(",");
}

/** The fan-out annotation at the caps: as many entries of ~1,000-character selectors as 16 KiB holds. */
export function fanOutAtCaps(): string {
    const entries: unknown[] = [];
    for (let i = 0; ; i++) {
        const next = [...entries, { format: "mirror", targetName: `wide-${i}`, namespaceSelector: longSelector(FAN_OUT_LIMITS.selectorChars - 24, i) }];
        if (JSON.stringify(next).length > FAN_OUT_LIMITS.annotationBytes || next.length > FAN_OUT_LIMITS.entries) break;
        entries.push(next.at(-1));
    }
    return JSON.stringify(entries);
}

export async function createHostileContent(client: KubeClient, tenantNs: string, plainNs: string, sources: number, s: HostileSizes, concurrency: number): Promise<{ ms: number; objects: number }> {
    const t0 = performance.now();
    await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: tenantNs } } });
    const path = `/api/v1/namespaces/${tenantNs}/secrets`;
    log(`hostile tenant ${tenantNs}: ${s.big} Secrets of ${Math.round(s.bigBytes / 1024)} KiB, a fan-out annotation at the caps, ${s.forged} forged derived secrets`);
    await pool([...Array(s.big).keys()], Math.min(concurrency, 8), async (i) => {
        await retry(() => client.request("POST", path, { body: { apiVersion: "v1", kind: "Secret", metadata: { name: `big-${i}` }, type: "Opaque", data: { blob: b64(randomBytes(s.bigBytes)) } } }));
    });
    await retry(() => client.request("POST", path, { body: { apiVersion: "v1", kind: "Secret", metadata: { name: "wide", annotations: { [ANNOTATION_FAN_OUT]: fanOutAtCaps() } }, type: "Opaque", data: { password: b64("x") } } }));
    await pool([...Array(s.forged).keys()], concurrency, async (i) => {
        const victim = { metadata: { namespace: plainNs, name: srcName(i % Math.max(1, sources)) }, type: "Opaque", data: { password: b64("guess") } };
        const forged = deriveSecret(victim, validateRecipe({ format: "mirror", source: { namespace: plainNs, name: victim.metadata.name }, target: { namespace: tenantNs, name: `steal-${i}` }, options: {} }));
        await retry(() => client.request("POST", path, { body: { apiVersion: "v1", kind: "Secret", ...forged } }));
    });
    return { ms: performance.now() - t0, objects: s.big + 1 + s.forged };
}
