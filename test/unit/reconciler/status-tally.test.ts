import assert from "node:assert/strict";
import fc from "fast-check";
import { deriveSecret } from "../../../derive";
import { ANNOTATION_STATUS, SYNC_STATUSES } from "../../../reconciler/keys";
import { statusBucket, StatusTally } from "../../../reconciler/derived/status";
import type { SecretMeta } from "../../../reconciler/model";

/** The labels the derivation core puts on a derived secret (what `pulumi up` and the reconciler write). */
const DERIVED_LABELS = deriveSecret(
    { metadata: { name: "src", namespace: "ns" }, type: "Opaque", data: { password: Buffer.from("x").toString("base64") } },
    { format: "mirror", source: { namespace: "ns", name: "src" }, target: { namespace: "ns", name: "copy" } },
).metadata.labels;

/** A cached secret as the informer holds it: derived (the derivation core's labels) or not, with some status annotation or none. */
function meta(name: string, derived: boolean, status: string | undefined): SecretMeta {
    return {
        metadata: {
            name,
            namespace: "ns",
            labels: derived ? { ...DERIVED_LABELS } : {},
            annotations: status === undefined ? {} : { [ANNOTATION_STATUS]: status },
        },
        type: "Opaque",
        contentHash: "h",
    } as unknown as SecretMeta;
}

/** What the gauge said before it was kept per change: a walk over every cached secret. */
function recount(cache: ReadonlyMap<string, SecretMeta>): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries([...SYNC_STATUSES, "unknown"].map((s) => [s, 0]));
    for (const s of cache.values()) {
        const b = statusBucket(s);
        if (b) out[b]++;
    }
    return out;
}

describe("reconciler: derived secrets by status, kept per change", () => {
    it("a status that is not one of ours counts as unknown; a plain secret is not counted", () => {
        assert.equal(statusBucket(meta("a", true, "bogus")), "unknown");
        assert.equal(statusBucket(meta("a", true, undefined)), "unknown");
        assert.equal(statusBucket(meta("a", true, "stale")), "stale");
        assert.equal(statusBucket(meta("a", false, "in-sync")), undefined);
    });

    it("property: after any sequence of adds, updates and deletes the tally equals a recount of the cache", () => {
        const op = fc.record({ key: fc.integer({ min: 0, max: 7 }), del: fc.boolean(), derived: fc.boolean(), status: fc.option(fc.constantFrom(...SYNC_STATUSES, "bogus"), { nil: undefined }) });
        fc.assert(
            fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
                const cache = new Map<string, SecretMeta>();
                const tally = new StatusTally();
                for (const o of ops) {
                    const k = `ns/s${o.key}`;
                    const old = cache.get(k);
                    // The informer's changes: delete of a present key, add of a new one, update of a present one.
                    if (o.del) {
                        if (!old) continue;
                        cache.delete(k);
                        tally.change(old, undefined);
                    } else {
                        const now = meta(`s${o.key}`, o.derived, o.status);
                        cache.set(k, now);
                        tally.change(old, now);
                    }
                }
                assert.deepEqual(tally.counts(), recount(cache));
            }),
            { numRuns: 300 },
        );
    });
});
