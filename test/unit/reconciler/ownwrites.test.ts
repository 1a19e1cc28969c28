import assert from "node:assert/strict";
import { OwnWrites } from "../../../reconciler/machinery/ownwrites";

describe("reconciler/ownwrites", () => {
    const setup = () => {
        const requeued: string[] = [];
        const cache = new Map<string, string>();
        return { requeued, cache, w: new OwnWrites((k) => requeued.push(k), (k) => cache.get(k)) };
    };

    it("an echo that arrives after the response is skipped once", async () => {
        const { w, requeued } = setup();
        await w.track("ns/a", async () => ({ metadata: { resourceVersion: "5" } }));
        assert.equal(w.isEcho("ns/a", "5"), true);
        assert.equal(w.isEcho("ns/a", "5"), false, "only once");
        assert.deepEqual(requeued, []);
    });

    it("an echo that arrives before the response is held, then dropped when the cache shows our version", async () => {
        const { w, requeued, cache } = setup();
        await w.track("ns/a", async () => {
            cache.set("ns/a", "7");
            assert.equal(w.isEcho("ns/a", "7"), true, "held while in flight");
            return { metadata: { resourceVersion: "7" } };
        });
        assert.deepEqual(requeued, []);
        assert.equal(w.isEcho("ns/a", "7"), false, "nothing left to expect");
    });

    it("a foreign change held during the write, or a failed write with a held event, is reconciled again", async () => {
        const { w, requeued, cache } = setup();
        await w.track("ns/a", async () => {
            cache.set("ns/a", "9");
            w.isEcho("ns/a", "9");
            return { metadata: { resourceVersion: "8" } };
        });
        await assert.rejects(
            w.track("ns/b", async () => {
                w.isEcho("ns/b", "3");
                throw new Error("409");
            }),
        );
        assert.deepEqual(requeued, ["ns/a", "ns/b"]);
    });
});
