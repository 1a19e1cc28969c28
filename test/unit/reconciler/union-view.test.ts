import assert from "node:assert/strict";
import { UnionView } from "../../../reconciler/context";

describe("reconciler/context: UnionView (one read-only map over the informers' caches)", () => {
    it("answers like one Map holding every entry", () => {
        const a = new Map([["ns-a/x", 1]]);
        const b = new Map([["ns-b/y", 2], ["ns-b/z", 3]]);
        const v = new UnionView([a, b]);
        const all = new Map([...a, ...b]);
        assert.equal(v.size, all.size);
        assert.deepEqual([...v], [...all]);
        assert.deepEqual([...v.keys()], [...all.keys()]);
        assert.deepEqual([...v.values()], [...all.values()]);
        assert.equal(v.get("ns-b/z"), 3);
        assert.equal(v.get("nope"), undefined);
        assert.equal(v.has("ns-a/x"), true);
        const seen: [string, number][] = [];
        v.forEach((val, k, m) => {
            assert.equal(m, v);
            seen.push([k, val]);
        });
        assert.deepEqual(seen, [...all]);
        b.set("ns-b/w", 4);
        assert.equal(v.size, 4, "a view, not a copy");
    });
});
