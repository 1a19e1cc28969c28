import assert from "node:assert/strict";
import fc from "fast-check";
import { backoffDelay, FakeClock, TokenBucket, WorkQueue } from "../../../reconciler";

describe("reconciler/queue", () => {
    it("de-duplicates a key queued twice", async () => {
        const q = new WorkQueue({ clock: new FakeClock() });
        q.add("a/b");
        q.add("a/b");
        q.add("a/c");
        assert.equal(q.length, 2);
        assert.equal(await q.get(), "a/b");
        assert.equal(await q.get(), "a/c");
        assert.equal(q.length, 0);
    });

    it("re-runs a key added while it is processed exactly once, after done", async () => {
        const q = new WorkQueue({ clock: new FakeClock() });
        q.add("k/1");
        const k = await q.get();
        q.add("k/1");
        q.add("k/1");
        assert.equal(q.length, 0, "not handed out while in flight");
        q.done(k!);
        assert.equal(q.length, 1);
        assert.equal(await q.get(), "k/1");
        q.done("k/1");
        assert.equal(q.length, 0);
    });

    it("retries with per-key exponential backoff and drops after maxAttempts", async () => {
        const clock = new FakeClock();
        const q = new WorkQueue({ clock, retryBaseMs: 100, retryMaxMs: 10_000, maxAttempts: 4, rand: () => 1 });
        assert.equal(q.addRateLimited("x/y"), true);
        await clock.advance(99);
        assert.equal(q.length, 0);
        await clock.advance(1);
        assert.equal(q.length, 1, "first retry after 100 ms");
        q.done((await q.get())!);
        assert.equal(q.addRateLimited("x/y"), true);
        await clock.advance(199);
        assert.equal(q.length, 0);
        await clock.advance(1);
        assert.equal(q.length, 1, "second retry after 200 ms");
        q.done((await q.get())!);
        assert.equal(q.addRateLimited("x/y"), true);
        assert.equal(q.addRateLimited("x/y"), false, "fourth failure drops the key");
        assert.equal(q.attempts("x/y"), 0);
    });

    it("by default retries a failing key forever (never drops it after 10 failures)", async () => {
        const clock = new FakeClock();
        const q = new WorkQueue({ clock, rand: () => 1 });
        assert.equal(q.opts.maxAttempts, Number.POSITIVE_INFINITY);
        for (let i = 1; i <= 40; i++) {
            assert.equal(q.addRateLimited("pg/app"), true, `failure ${i} keeps the key`);
            assert.equal(q.attempts("pg/app"), i);
            assert.equal(q.retrying, 1);
            await clock.advance(300_000);
            assert.equal(q.length, 1, `retry ${i} was scheduled`);
            q.done((await q.get())!);
        }
    });

    it("caps the retry delay at retryMaxMs (default 5 min) and doubles up to it", async () => {
        const clock = new FakeClock();
        const q = new WorkQueue({ clock, rand: () => 1 });
        assert.equal(q.opts.retryMaxMs, 300_000);
        assert.equal(q.opts.retryBaseMs, 50);
        const delays: number[] = [];
        for (let i = 0; i < 25; i++) {
            q.addRateLimited("k/1");
            let waited = 0;
            while (q.length === 0) {
                await clock.advance(1000);
                waited += 1000;
                assert.ok(waited <= 300_000, `attempt ${i + 1} waited more than 5 min`);
            }
            delays.push(waited);
            q.done((await q.get())!);
        }
        assert.equal(delays[delays.length - 1], 300_000, "the cap is reached and held");
        for (let i = 1; i < delays.length; i++) assert.ok(delays[i] >= delays[i - 1], "delays never shrink");
        const small = new WorkQueue({ clock, retryBaseMs: 10, retryMaxMs: 40, rand: () => 1 });
        const seen: number[] = [];
        for (let i = 0; i < 8; i++) {
            small.addRateLimited("x/y");
            let waited = 0;
            while (small.length === 0) {
                await clock.advance(10);
                waited += 10;
            }
            seen.push(waited);
            small.done((await small.get())!);
        }
        assert.deepEqual(seen, [10, 20, 40, 40, 40, 40, 40, 40], "an explicit retryMaxMs caps it too");
    });

    it("exposes the number of keys waiting for a retry; success (forget) clears it", async () => {
        const clock = new FakeClock();
        const q = new WorkQueue({ clock });
        assert.equal(q.retrying, 0);
        q.addRateLimited("a/1");
        q.addRateLimited("a/2");
        q.addRateLimited("a/2");
        assert.equal(q.retrying, 2);
        q.forget("a/1");
        assert.equal(q.retrying, 1);
        q.forget("a/2");
        assert.equal(q.retrying, 0);
        const capped = new WorkQueue({ clock, maxAttempts: 2 });
        capped.addRateLimited("b/1");
        assert.equal(capped.retrying, 1);
        assert.equal(capped.addRateLimited("b/1"), false);
        assert.equal(capped.retrying, 0, "a dropped key is no longer in retry");
    });

    it("rejects maxAttempts below 1", () => {
        assert.throws(() => new WorkQueue({ maxAttempts: 0 }), /maxAttempts/);
    });

    it("forget resets the backoff", () => {
        const q = new WorkQueue({ clock: new FakeClock(), maxAttempts: 3 });
        q.addRateLimited("a/a");
        q.addRateLimited("a/a");
        q.forget("a/a");
        assert.equal(q.attempts("a/a"), 0);
        assert.equal(q.addRateLimited("a/a"), true);
    });

    it("addAfter keeps the earliest pending time and add() supersedes it", async () => {
        const clock = new FakeClock();
        const q = new WorkQueue({ clock });
        q.addAfter("d/1", 1000);
        q.addAfter("d/1", 5000);
        await clock.advance(1000);
        assert.equal(q.length, 1);
        q.addAfter("d/2", 1000);
        q.add("d/2");
        assert.equal(q.length, 2);
        assert.equal(q.delayedCount, 0);
    });

    it("paces get() with the global token bucket", async () => {
        const clock = new FakeClock();
        const q = new WorkQueue({ clock, ratePerSec: 10, burst: 2 });
        for (let i = 0; i < 4; i++) q.add(`n/${i}`);
        const got: string[] = [];
        const run = (async () => {
            for (let i = 0; i < 4; i++) {
                const k = (await q.get())!;
                got.push(k);
                q.done(k);
            }
        })();
        await clock.advance(0);
        assert.equal(got.length, 2, "burst of 2 immediately");
        await clock.advance(100);
        assert.equal(got.length, 3);
        await clock.advance(100);
        assert.equal(got.length, 4);
        await run;
    });

    it("shutDown wakes waiters and waits for in-flight keys (drain)", async () => {
        const q = new WorkQueue({ clock: new FakeClock() });
        const waiting = q.get();
        q.add("s/1");
        assert.equal(await waiting, "s/1");
        let drained = false;
        const sd = q.shutDown().then(() => (drained = true));
        await Promise.resolve();
        assert.equal(drained, false);
        assert.equal(await q.get(), undefined);
        q.done("s/1");
        await sd;
        assert.equal(drained, true);
    });

    it("backoffDelay stays within [nominal/2, nominal] and is capped (property)", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, base, r) => {
                const max = base * 100;
                const d = backoffDelay(attempt, base, max, () => r);
                const nominal = Math.min(max, base * 2 ** Math.min(attempt, 40));
                return d >= Math.floor(nominal / 2) && d <= Math.ceil(nominal);
            }),
        );
        assert.throws(() => backoffDelay(0, 0, 10), /baseMs/);
    });

    it("TokenBucket never lets more than burst + rate*t through (property)", () => {
        fc.assert(
            fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 200 }), (gaps) => {
                const b = new TokenBucket(100, 5, 0);
                let t = 0;
                let admittedBy = 0;
                for (const g of gaps) {
                    t += g;
                    const wait = b.take(t);
                    admittedBy = Math.max(admittedBy, t + wait);
                }
                // n reservations need at least (n - burst)/rate seconds.
                return admittedBy >= ((gaps.length - 5) * 1000) / 100 - 1;
            }),
        );
    });
});

describe("reconciler/queue: fair across namespaces (issue 21)", () => {
    it("a namespace with 10,000 queued keys delays another namespace's key by one turn, not by 10,000", async () => {
        const q = new WorkQueue({ clock: new FakeClock(), ratePerSec: 1e9, burst: 1e9 });
        for (let i = 0; i < 10_000; i++) q.add(`flood/s-${i}`);
        q.add("quiet/canary");
        q.add("deployments:other/web");
        const first = [await q.get(), await q.get(), await q.get()];
        assert.deepEqual(first.sort(), ["deployments:other/web", "flood/s-0", "quiet/canary"]);
        assert.equal(q.length, 9_999);
    });

    it("property: every key comes out exactly once; within a namespace in FIFO order; no namespace waits more than one turn", async () => {
        const keys = fc.array(fc.tuple(fc.constantFrom("a", "b", "c", "d"), fc.nat(30)), { maxLength: 80 });
        await fc.assert(
            fc.asyncProperty(keys, async (ks) => {
                const q = new WorkQueue({ clock: new FakeClock(), ratePerSec: 1e9, burst: 1e9 });
                const added: string[] = [];
                for (const [ns, n] of ks) {
                    const k = `${ns}/k${n}`;
                    if (!added.includes(k)) added.push(k);
                    q.add(k);
                }
                const out: string[] = [];
                while (q.length > 0) {
                    const k = (await q.get())!;
                    out.push(k);
                    q.done(k);
                }
                assert.deepEqual([...out].sort(), [...added].sort());
                for (const ns of ["a", "b", "c", "d"]) assert.deepEqual(out.filter((k) => k.startsWith(`${ns}/`)), added.filter((k) => k.startsWith(`${ns}/`)));
                // Between two keys of one namespace, every other namespace that still had keys got at most one.
                const pending = new Map(["a", "b", "c", "d"].map((ns) => [ns, added.filter((k) => k.startsWith(`${ns}/`)).length]));
                const since = new Map<string, number>();
                for (const k of out) {
                    const ns = k.split("/")[0]!;
                    for (const [other] of pending) if (other !== ns && (pending.get(other) ?? 0) > 0) since.set(other, (since.get(other) ?? 0) + 1);
                    assert.ok((since.get(ns) ?? 0) <= 3, `namespace ${ns} waited ${since.get(ns)} turns`);
                    since.set(ns, 0);
                    pending.set(ns, pending.get(ns)! - 1);
                }
            }),
            { numRuns: 200 },
        );
    });
});
