import assert from "node:assert/strict";
import { ANNOTATION_FAN_OUT } from "../../../derive";
import { ANNOTATION_CLAIM_REFUSED, ANNOTATION_STATUS } from "../../../reconciler/keys";
import { claimMetadata } from "../../../reconciler/trust/claims";
import { canaryValue, randomName } from "../../support";
import { admin, bootstrapDerived, createSource, deleteNamespaces, eventsText, eventually, getSecret, mutateSecret, Running, startReconciler, unb64, b64, writePolicy } from "./helpers";

/**
 * Issue 20: two reconciler instances claim one namespace; the older acts there, the newer writes nothing there.
 * The claims are what a stack puts on its reconciler's namespace (claimMetadata, stacks/reconciler.ts). Both ways
 * the newer instance could write into the claimed namespace are covered: a derived secret there that existed
 * before it started (start-up queues its source, not the copy: CI caught the copy left unmarked), and a source in
 * a namespace it may act in whose fan-out reaches into the claimed one.
 */
describe("reconciler: a namespace another instance claims is never written", function () {
    const id = randomName("c").slice(-6);
    // Same-second creationTimestamps are ordered by namespace name: "a" is the older claim.
    const olderOwn = `claim-a-${id}`;
    const newerOwn = `claim-b-${id}`;
    const shared = `claim-shared-${id}`;
    const mine = `claim-mine-${id}`;
    let rec: Running | undefined;

    after(async () => {
        await rec?.stop();
        await deleteNamespaces([olderOwn, newerOwn, shared, mine]);
    });

    it("marks refused what lives in the claimed namespace (also what existed before start-up), writes nothing there, keeps acting in its own", async () => {
        const k = await admin();
        const mk = (name: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}) => k.request("POST", "/api/v1/namespaces", { body: { metadata: { name, ...meta } } });
        await mk(olderOwn, claimMetadata("older", [shared]));
        await mk(newerOwn, claimMetadata("newer", [shared, mine]));
        await mk(shared);
        await mk(mine);
        // The administrator of the newer instance lets `mine` fan out into `shared` (a misconfiguration: dev owns it).
        await writePolicy(newerOwn, { fanOut: [{ sourceNamespace: mine, namespaces: [shared, mine] }], hooks: [] });
        const v1 = canaryValue();
        // Before the newer instance starts: a source and its derived copy in the claimed namespace (as `pulumi up` writes it).
        await createSource(shared, "db", { password: v1 });
        const copy = await bootstrapDerived({ format: "mirror", source: { namespace: shared, name: "db" }, target: { namespace: shared, name: "db-copy" } });
        // A source in its own namespace fanning out into both (a user's annotation, as documented).
        await createSource(mine, "registry", { token: v1 }, { annotations: { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaces: [shared, mine], targetName: "registry-copy" }]) } });

        rec = await startReconciler([shared, mine], { ownNamespace: newerOwn });
        const marked = await eventually(async () => {
            const s = await getSecret(shared, "db-copy");
            return s?.metadata.annotations?.[ANNOTATION_CLAIM_REFUSED] ? s : undefined;
        }, 15_000, "the copy that existed before start-up is marked refused");
        assert.match(marked.metadata.annotations[ANNOTATION_CLAIM_REFUSED], /namespace claim-shared-\S+ is claimed by reconciler instance "older"/);
        assert.equal(marked.metadata.annotations[ANNOTATION_STATUS], copy.metadata.annotations?.[ANNOTATION_STATUS], "its status is left to the instance that acts there");
        assert.match(await eventsText(shared), /NamespaceClaimed/);

        // The fan-out reaches its own namespace (the positive control of the negative wait below) and not the claimed one.
        await eventually(async () => unb64((await getSecret(mine, "registry-copy"))?.data?.token) === v1 || undefined, 15_000, "the copy in its own namespace");
        const v2 = canaryValue();
        await mutateSecret(mine, "registry", (s) => (s.data.token = b64(v2)));
        await mutateSecret(shared, "db", (s) => (s.data.password = b64(v2)));
        await eventually(async () => unb64((await getSecret(mine, "registry-copy"))?.data?.token) === v2 || undefined, 15_000, "the copy in its own namespace follows the rotation");
        await new Promise((r) => setTimeout(r, 1000)); // anything it would write into the claimed namespace, it has written by now
        assert.equal(await getSecret(shared, "registry-copy"), undefined, "no fan-out copy created in the claimed namespace");
        assert.equal(unb64((await getSecret(shared, "db-copy")).data.password), v1, "the copy there is not rewritten");
        const status = JSON.parse((await getSecret(mine, "registry")).metadata.annotations["platform-secrets.io/fan-out-status"]);
        const target = status.targets.find((t: { target: string }) => t.target === `${shared}/registry-copy`);
        assert.equal(target?.state, "refused", JSON.stringify(status));
        assert.match(target.reason, /claimed by reconciler instance "older"/);
        assert.ok(!rec.text().includes(v1) && !rec.text().includes(v2), "no value in the log");
    });
});
