import assert from "node:assert/strict";
import { diffRelist, interpretWatchEvent, keyOf, nextAfterWatchEnd } from "../../../reconciler";

const obj = (ns: string, name: string, rv: string) => ({ metadata: { namespace: ns, name, resourceVersion: rv } });

describe("reconciler/informer (pure parts)", () => {
    it("keys namespaced and cluster objects", () => {
        assert.equal(keyOf(obj("a", "b", "1")), "a/b");
        assert.equal(keyOf({ metadata: { name: "ns1" } }), "ns1");
    });

    it("a relist reports adds, changed versions and synthetic deletes", () => {
        const cache = new Map([
            ["a/keep", obj("a", "keep", "1")],
            ["a/changed", obj("a", "changed", "1")],
            ["a/gone", obj("a", "gone", "1")],
        ]);
        const changes = diffRelist(cache, [obj("a", "keep", "1"), obj("a", "changed", "2"), obj("a", "new", "3")]);
        assert.deepEqual(
            changes.map((c) => `${c.type}:${c.key}`).sort(),
            ["add:a/new", "delete:a/gone", "update:a/changed"],
        );
    });

    it("interprets watch events: add vs update by cache, delete, bookmark, 410 and other errors", () => {
        const cache = new Map([["a/x", obj("a", "x", "1")]]);
        const id = (o: any) => o;
        const up = interpretWatchEvent(cache, { type: "MODIFIED", object: obj("a", "x", "2") }, id);
        assert.equal(up.kind === "change" && up.change.type, "update");
        const add = interpretWatchEvent(cache, { type: "ADDED", object: obj("a", "y", "3") }, id);
        assert.equal(add.kind === "change" && add.change.type, "add");
        assert.equal(add.kind === "change" && add.resourceVersion, "3");
        const del = interpretWatchEvent(cache, { type: "DELETED", object: obj("a", "x", "4") }, id);
        assert.equal(del.kind === "change" && del.change.type, "delete");
        assert.deepEqual(interpretWatchEvent(cache, { type: "BOOKMARK", object: { metadata: { resourceVersion: "9" } } }, id), { kind: "bookmark", resourceVersion: "9" });
        assert.deepEqual(interpretWatchEvent(cache, { type: "ERROR", object: { code: 410, reason: "Expired" } }, id), { kind: "gone" });
        assert.equal(interpretWatchEvent(cache, { type: "ERROR", object: { code: 500, reason: "InternalError" } }, id).kind, "error");
        assert.equal(interpretWatchEvent(cache, { type: "WHAT" }, id).kind, "ignore");
    });

    it("decides what follows a watch end: re-watch, relist, back off", () => {
        assert.deepEqual(nextAfterWatchEnd("closed", 0, 100, 1000), { relist: false, delayMs: 0 });
        assert.deepEqual(nextAfterWatchEnd("gone", 3, 100, 1000), { relist: true, delayMs: 0 });
        const stalled = nextAfterWatchEnd("stalled", 2, 100, 1000, () => 0);
        assert.equal(stalled.relist, true);
        assert.equal(stalled.delayMs, 200);
        const err = nextAfterWatchEnd("error", 10, 100, 1000, () => 1);
        assert.equal(err.delayMs, 1000, "capped");
    });
});
