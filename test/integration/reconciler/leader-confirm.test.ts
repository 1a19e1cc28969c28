import assert from "node:assert/strict";
import { LeaderElector } from "../../../reconciler/machinery/leader";
import { admin, createNamespace, deleteNamespaces, eventually } from "./helpers";
import { randomName } from "../../support";
import { capturingLogger } from "../../support/capture";

/**
 * LeaderElector.confirm, the check a Job re-run makes right before it deletes or creates a Job (issue 21 §6): the
 * cached "I am the leader" flag of a replica whose loop stalled can outlive its Lease; confirm reads the Lease.
 */
describe("reconciler/leader: confirm() before an action that must not run twice", function () {
    let ns: string;
    before(async () => {
        ns = await createNamespace({}, "lease");
    });
    after(async () => {
        await deleteNamespaces([ns]);
    });

    it("true while holding the Lease; false as soon as another identity holds it, before the loop notices", async () => {
        const client = await admin();
        const name = randomName("lease");
        // A long retry period: between two renewals the flag is stale, which is the window confirm closes.
        const a = new LeaderElector({ client, logger: capturingLogger().logger, namespace: ns, name, identity: "replica-a", leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 10_000, onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
        a.start();
        try {
            await eventually(async () => (a.isLeader ? true : undefined), 15_000, "replica-a leads");
            assert.equal(await a.confirm(), true);
            // Another replica took the Lease (ours expired while we stalled): the flag still says leader.
            const path = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`;
            const lease = await client.request<{ spec: Record<string, unknown> }>("GET", path);
            lease.spec = { ...lease.spec, holderIdentity: "replica-b", renewTime: new Date().toISOString().replace("Z", "000Z") };
            await client.request("PUT", path, { body: lease });
            assert.equal(a.isLeader, true, "the cached flag has not caught up (this is the window)");
            assert.equal(await a.confirm(), false);
        } finally {
            await a.stop();
        }
        assert.equal(await a.confirm(), false, "a stopped elector confirms nothing");
    });
});
