import assert from "node:assert/strict";
import { FakeClock, flushMicrotasks, Informer, silentLoggerForTests } from "./support";

type Ev = { type: string; object: any };

/** A scripted apiserver: each list returns the next page set; each watch is driven by the test. */
class FakeApi {
    lists: any[][] = [];
    listCalls = 0;
    watches: { query: any; emit: (e: Ev) => void; close: () => void; aborted: boolean; activity: () => void }[] = [];
    /** KubeClient.list's contract: items handed over one by one, the page's list metadata returned. */
    async list(_p: string, _q: any, onItem: (it: unknown) => void) {
        const items = this.lists[Math.min(this.listCalls, this.lists.length - 1)];
        this.listCalls++;
        for (const it of items) onItem(it);
        return { resourceVersion: String(100 + this.listCalls) };
    }
    async watch(_p: string, query: any, onEvent: (e: any) => void, onActivity: () => void) {
        let close!: () => void;
        const done = new Promise<void>((r) => (close = r));
        const w = { query, emit: (e: Ev) => (onActivity(), onEvent(e)), close, aborted: false, activity: onActivity };
        this.watches.push(w);
        return { done, abort: () => ((w.aborted = true), close()) };
    }
}

const sec = (name: string, rv: string) => ({ metadata: { namespace: "n", name, resourceVersion: rv } });

describe("reconciler/informer runner (fake apiserver, fake clock)", () => {
    it("lists, watches from the list's resourceVersion with bookmarks and a server timeout, follows bookmarks", async () => {
        const api = new FakeApi();
        api.lists = [[sec("a", "1")]];
        const clock = new FakeClock();
        const seen: string[] = [];
        const inf = new Informer({ name: "t", client: api as any, path: "/x", onChange: (c) => seen.push(`${c.type}:${c.key}`), logger: silentLoggerForTests(), clock, timeoutSeconds: 60 });
        inf.start();
        await inf.waitForSync();
        await flushMicrotasks();
        assert.deepEqual(seen, ["add:n/a"]);
        const w = api.watches[0];
        assert.equal(w.query.resourceVersion, "101");
        assert.equal(w.query.allowWatchBookmarks, true);
        assert.ok(w.query.timeoutSeconds >= 48 && w.query.timeoutSeconds <= 72);
        w.emit({ type: "BOOKMARK", object: { metadata: { resourceVersion: "150" } } });
        await clock.advance(2000);
        w.close(); // server-side timeout: re-watch from the bookmark without relisting
        await clock.advance(0);
        await flushMicrotasks();
        assert.equal(api.listCalls, 1);
        assert.equal(api.watches[1].query.resourceVersion, "150");
        await inf.stop();
    });

    it("relists on 410 Gone and reports objects that vanished meanwhile as deletes", async () => {
        const api = new FakeApi();
        api.lists = [[sec("a", "1"), sec("b", "1")], [sec("a", "2")]];
        const clock = new FakeClock();
        const seen: string[] = [];
        const inf = new Informer({ name: "t", client: api as any, path: "/x", onChange: (c) => seen.push(`${c.type}:${c.key}`), logger: silentLoggerForTests(), clock });
        inf.start();
        await inf.waitForSync();
        await flushMicrotasks();
        api.watches[0].emit({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } });
        await clock.advance(0);
        await flushMicrotasks();
        assert.equal(api.listCalls, 2);
        assert.deepEqual(seen.slice(2).sort(), ["delete:n/b", "update:n/a"]);
        assert.equal(inf.stats.gone, 1);
        await inf.stop();
    });

    it("detects a silently dead watch (no bytes) and re-establishes it with backoff (kubernetes-client/javascript #364/#958)", async () => {
        const api = new FakeApi();
        api.lists = [[sec("a", "1")]];
        const clock = new FakeClock();
        const inf = new Informer({ name: "t", client: api as any, path: "/x", onChange: () => undefined, logger: silentLoggerForTests(), clock, timeoutSeconds: 10, stallMs: 5000, backoffBaseMs: 100, backoffMaxMs: 1000 });
        inf.start();
        await inf.waitForSync();
        await flushMicrotasks();
        await clock.advance(4000);
        assert.equal(api.watches[0].aborted, false);
        api.watches[0].activity(); // a byte arrives: the stall timer restarts
        await clock.advance(4000);
        assert.equal(api.watches[0].aborted, false);
        await clock.advance(1100);
        assert.equal(api.watches[0].aborted, true, "aborted after 5 s of silence");
        await clock.advance(200);
        await flushMicrotasks();
        assert.equal(inf.stats.stalls, 1);
        assert.equal(api.watches.length, 2, "watch re-established");
        assert.equal(api.listCalls, 2, "relisted after a stall (events may be lost)");
        await inf.stop();
    });

    it("keeps going after list errors (unlike ListWatch), with growing backoff", async () => {
        const api = new FakeApi();
        let fail = 3;
        const real = api.list.bind(api);
        api.list = async (p: string, q: any, onItem: (it: unknown) => void) => {
            if (fail-- > 0) throw new Error("connection refused");
            return real(p, q, onItem);
        };
        api.lists = [[sec("a", "1")]];
        const clock = new FakeClock();
        const inf = new Informer({ name: "t", client: api as any, path: "/x", onChange: () => undefined, logger: silentLoggerForTests(), clock, backoffBaseMs: 100, backoffMaxMs: 10_000 });
        inf.start();
        await clock.advance(5000);
        assert.equal(inf.hasSynced, true);
        assert.equal(inf.stats.errors, 3);
        await inf.stop();
    });
});
