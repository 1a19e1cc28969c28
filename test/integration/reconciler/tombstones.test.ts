import assert from "node:assert/strict";
import { validateRecipe } from "../../../derive";
import { LABEL_TOMBSTONE, tombstoneName } from "../../../reconciler/derived/tombstones";
import { canaryValue } from "../../support";
import { admin, b64, bootstrapDerived, createNamespace, createSource, deleteNamespaces, eventually, getSecret, Running, startReconciler } from "./helpers";

/**
 * Issue 21 §6, durable decisions: a source deleted while one reconciler process runs, which then stops before the
 * deletion grace ends. The next process (a restart, or the standby taking the Lease) must finish the deletion: the
 * grace is kept as a Secret in the reconciler's own namespace, not only in the memory of the process that saw it.
 */
describe("reconciler: the deletion grace survives a restart (issue 21)", function () {
    this.timeout(120_000);
    let ns: string;
    let own: string;
    const recs: Running[] = [];

    before(async () => {
        ns = await createNamespace({}, "tomb");
        own = await createNamespace({}, "tomb-own");
    });
    after(async () => {
        for (const r of recs) await r.stop();
        await deleteNamespaces([ns, own]);
    });

    it("a process that saw the deletion stops within the grace; the next one deletes the derived secret when it ends", async () => {
        await createSource(ns, "src", { password: b64(canaryValue()) });
        await bootstrapDerived(validateRecipe({ format: "mirror", source: { namespace: ns, name: "src" }, target: { namespace: ns, name: "copy" }, options: {} }));
        const first = await startReconciler([ns, own], { ownNamespace: own, deleteGraceMs: 8000 });
        recs.push(first);
        const deletedAt = Date.now();
        await (await admin()).request("DELETE", `/api/v1/namespaces/${ns}/secrets/src`);
        const tomb = await eventually(async () => (await getSecret(own, tombstoneName(`${ns}/src`))) ?? undefined, 10_000, "the tombstone is persisted in the reconciler's namespace");
        assert.equal(tomb.metadata.labels[LABEL_TOMBSTONE], "true");
        assert.equal(JSON.stringify(tomb).includes("password\":\""), false, "the tombstone holds metadata, never the source's data");
        const kept = JSON.parse(Buffer.from(tomb.data.meta, "base64").toString("utf8"));
        assert.equal(kept.contentHash, "", "nor an unkeyed digest of that data (a guess oracle to readers of the namespace)");
        await first.stop();
        assert.ok(await getSecret(ns, "copy"), "still there: the grace has not ended");

        const second = await startReconciler([ns, own], { ownNamespace: own, deleteGraceMs: 8000 });
        recs.push(second);
        await eventually(async () => ((await getSecret(ns, "copy")) === undefined ? true : undefined), 30_000, "the next process deletes the derived secret after the grace");
        assert.ok(Date.now() - deletedAt >= 8000, "not before the grace that started at the deletion");
        await eventually(async () => ((await getSecret(own, tombstoneName(`${ns}/src`))) === undefined ? true : undefined), 10_000, "the handled tombstone is removed");
    });

    it("a source re-created within the grace keeps its derived secret and its tombstone goes", async () => {
        await createSource(ns, "again", { password: b64(canaryValue()) });
        await bootstrapDerived(validateRecipe({ format: "mirror", source: { namespace: ns, name: "again" }, target: { namespace: ns, name: "again-copy" }, options: {} }));
        const r = recs.at(-1)!;
        assert.ok(r);
        await (await admin()).request("DELETE", `/api/v1/namespaces/${ns}/secrets/again`);
        await eventually(async () => (await getSecret(own, tombstoneName(`${ns}/again`))) ?? undefined, 10_000, "tombstone persisted");
        await createSource(ns, "again", { password: b64(canaryValue()) });
        await eventually(async () => ((await getSecret(own, tombstoneName(`${ns}/again`))) === undefined ? true : undefined), 15_000, "the tombstone is removed when the source is back");
        await new Promise((res) => setTimeout(res, 9000)); // past the grace: nothing may delete the copy now
        assert.ok(await getSecret(ns, "again-copy"), "the derived secret of a re-created source is kept");
    });
});
