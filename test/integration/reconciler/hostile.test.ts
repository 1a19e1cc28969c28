import assert from "node:assert/strict";
import { ANNOTATION_FAN_OUT, deriveSecret, validateRecipe } from "../../../derive";
import { ANNOTATION_STATUS } from "../../../reconciler/keys";
import { canaryValue } from "../../support";
import { admin, b64, bootstrapDerived, createNamespace, createSource, deleteNamespaces, eventually, getSecret, mutateSecret, Running, startReconciler, tenantClient, unb64 } from "./helpers";

/**
 * Issue 21 §2, availability: a tenant with Secret rights in its own namespace only floods the reconciler (2,000
 * derived secrets it is refused, a fan-out annotation far past the caps) while another namespace's canary derived
 * secret must keep converging. The reconciler runs with a low reconcile rate (25/s), so the flood, created while it
 * runs, becomes a backlog of more than a thousand keys: with one FIFO the canary's rotation would wait behind it; with
 * one FIFO per namespace it waits one turn.
 */
const FLOOD = 2000;

describe("reconciler: a hostile tenant's flood does not delay or silence another namespace (issue 21)", function () {
    this.timeout(300_000);
    let rec: Running | undefined;
    let hostile: string;
    let canary: string;
    let own: string;

    before(async () => {
        hostile = await createNamespace({}, "hostile");
        canary = await createNamespace({}, "canary");
        own = await createNamespace({}, "rec-own");
    });
    after(async () => {
        await rec?.stop();
        await deleteNamespaces([hostile, canary, own]);
    });

    it("the canary's rotation converges at once behind a 2,000-key backlog; the flood gets its own Event share; the oversized fan-out is refused", async () => {
        // The canary: a source and its same-namespace copy, as `pulumi up` bootstraps it.
        const v1 = canaryValue();
        await createSource(canary, "src", { username: b64("app"), password: b64(v1) });
        const recipe = validateRecipe({ format: "mirror", source: { namespace: canary, name: "src" }, target: { namespace: canary, name: "copy" }, options: {} });
        await bootstrapDerived(recipe);

        rec = await startReconciler([hostile, canary], { ownNamespace: own, ratePerSec: 25, burst: 25, workers: 2 });
        // Now the tenant floods, with Secret rights in its namespace only: what it can write, with our recipe copied onto
        // it. The watch queues each key as it arrives, faster than 25/s are handled.
        const tenant = await tenantClient(hostile);
        const guess = { metadata: { namespace: canary, name: "src" }, type: "Opaque", data: { username: b64("app"), password: b64("guess") } };
        const refusedOne = (i: number) => deriveSecret(guess, validateRecipe({ format: "mirror", source: { namespace: canary, name: "src" }, target: { namespace: hostile, name: `steal-${i}` }, options: {} }));
        const wide = JSON.stringify(Array.from({ length: 2_000 }, (_, i) => ({ format: "mirror", namespaces: [`n-${i}`] })));
        await createSource(hostile, "wide", { password: b64("x") }, { annotations: { [ANNOTATION_FAN_OUT]: wide }, client: tenant });
        const queue = Array.from({ length: FLOOD }, (_, i) => i);
        await Promise.all(Array.from({ length: 16 }, async () => {
            for (let i = queue.shift(); i !== undefined; i = queue.shift()) await tenant.request("POST", `/api/v1/namespaces/${hostile}/secrets`, { body: { apiVersion: "v1", kind: "Secret", ...refusedOne(i) } });
        }));

        const statusCount = async () => ((await (await admin()).request("GET", `/api/v1/namespaces/${hostile}/secrets`)).items as any[]).filter((s) => s.metadata.annotations?.[ANNOTATION_STATUS]).length;

        // The rotation, with the tenant's backlog queued ahead of it.
        const v2 = canaryValue();
        await mutateSecret(canary, "src", (s) => (s.data.password = b64(v2)));
        await eventually(async () => (unb64((await getSecret(canary, "copy"))?.data?.password) === v2 ? true : undefined), 15_000, "the canary copy follows its source's rotation");
        const handled = await statusCount();
        assert.ok(handled < FLOOD * 0.8, `the flood was not a backlog any more when the canary converged (${handled} of ${FLOOD} handled): the test proves nothing`);

        // Every refused target is still handled, eventually, with a status; Events: the tenant's share only.
        await eventually(async () => ((await statusCount()) >= FLOOD ? true : undefined), 150_000, `all ${FLOOD} refused secrets carry a status`);
        const refused = await getSecret(hostile, "steal-7");
        assert.equal(refused.metadata.annotations[ANNOTATION_STATUS], "refused");
        assert.equal(refused.data.password, b64("guess"), "nothing of the canary's was copied");
        const hostileEvents = (await (await admin()).request("GET", `/api/v1/namespaces/${hostile}/events`)).items as unknown[];
        assert.ok(hostileEvents.length < 200, `${hostileEvents.length} Events in the flooding namespace: more than its share`);
        // The oversized fan-out: refused on the source, logged with the cap and the fix (its Event competes with the
        // tenant's own flood for the tenant's share, so it may be dropped: that is the share working).
        assert.ok(rec.lines.some((l) => /invalid fan-out annotation/.test(l) && /more than 16384/.test(l) && /\/wide/.test(l)), "the oversized fan-out is logged on the source with the cap");
        assert.ok(!rec.lines.some((l) => /n-1999/.test(l)), "no plan was built from the oversized annotation");
    });
});
