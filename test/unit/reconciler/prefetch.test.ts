import { strict as assert } from "node:assert";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as fc from "fast-check";
import { silentLogger } from "../../../lib/log";
import { FakeClock } from "../../../reconciler/machinery/clock";
import { KubeClient } from "../../../lib/kube";
import { heldBytes, planPrefetch, PREFETCH_LIMITS, PrefetchLimits, SourcePrefetch } from "../../../reconciler/derived/prefetch";

/**
 * The start-up prefetch of sources (issue 21: a first start at 10,000 sources read each one by a GET). Which
 * namespaces are listed is a pure decision; what is held is used only at the cached resourceVersion, once, within a
 * byte budget and a time bound. A loopback HTTP server plays the apiserver's paged list.
 */
describe("reconciler/prefetch: start-up LIST of namespaces dense with sources", () => {
    it("lists a namespace only with enough sources that are a fair share of its Secrets", () => {
        const keys = (ns: string, n: number) => Array.from({ length: n }, (_, i) => `${ns}/s-${i}`);
        const secretsIn = (ns: string) => ({ dense: 200, sparse: 100_000, few: 10 })[ns] ?? 0;
        assert.deepEqual(planPrefetch([...keys("sparse", 500), ...keys("dense", 100), ...keys("few", 10)], secretsIn), ["dense"]);
    });

    it("property: every planned namespace meets both bounds, and every namespace that meets them is planned", () => {
        fc.assert(
            fc.property(fc.dictionary(fc.constantFrom("a", "b", "c", "d"), fc.record({ sources: fc.nat(300), others: fc.nat(20_000) })), (spec) => {
                const keys = Object.entries(spec).flatMap(([ns, s]) => Array.from({ length: s.sources }, (_, i) => `${ns}/x-${i}`));
                const secretsIn = (ns: string) => (spec[ns]?.sources ?? 0) + (spec[ns]?.others ?? 0);
                const plan = planPrefetch(keys, secretsIn);
                for (const [ns, s] of Object.entries(spec)) {
                    const meets = s.sources >= PREFETCH_LIMITS.minSources && s.sources * PREFETCH_LIMITS.maxShare >= secretsIn(ns);
                    assert.equal(plan.includes(ns), meets, ns);
                }
            }),
        );
    });

    describe("fill and take against a paged list", () => {
        let server: http.Server;
        let client: KubeClient;
        let items: { metadata: { namespace: string; name: string; resourceVersion: string }; data: Record<string, string> }[] = [];
        let lists = 0;

        before(async () => {
            server = http.createServer((req, res) => {
                lists++;
                const u = new URL(req.url ?? "/", "http://x");
                const from = Number(u.searchParams.get("continue") ?? "0");
                const limit = Number(u.searchParams.get("limit"));
                const page = items.slice(from, from + limit);
                const next = from + limit < items.length ? String(from + limit) : undefined;
                res.writeHead(200, { "content-type": "application/json" });
                res.end(JSON.stringify({ kind: "SecretList", metadata: { resourceVersion: "9", ...(next ? { continue: next } : {}) }, items: page }));
            });
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
            client = KubeClient.fromConfig({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
        });
        after(() => new Promise<void>((r) => server.close(() => r())));

        const secret = (i: number, bytes = 16) => ({ metadata: { namespace: "t", name: `s-${i}`, resourceVersion: String(100 + i) }, data: { password: "x".repeat(bytes) } });

        it("holds the wanted sources at the cached version, each used once; a moved version or a stranger is not used", async () => {
            items = Array.from({ length: 1200 }, (_, i) => secret(i));
            lists = 0;
            const clock = new FakeClock();
            const p = new SourcePrefetch({ client, logger: silentLogger(), clock });
            const wanted = new Set(Array.from({ length: 100 }, (_, i) => `t/s-${i}`));
            // s-1 moved on in the cache after the list began: its entry must not be used.
            const cached = (k: string) => (k === "t/s-1" ? "999" : `${100 + Number(k.split("-")[1])}`);
            const r = await p.fill(wanted, () => 1200, cached);
            assert.equal(lists, 3, "1,200 Secrets: three pages of 500");
            assert.deepEqual({ namespaces: r.namespaces, held: r.held }, { namespaces: 1, held: 99 });
            assert.equal(p.take("t/s-0", "100")?.data?.password, "x".repeat(16));
            assert.equal(p.take("t/s-0", "100"), undefined, "used once");
            assert.equal(p.take("t/s-1", "999"), undefined, "not held: the cache had moved on");
            assert.equal(p.take("t/s-2", "777"), undefined, "the cache moved on before the reconcile: not used");
            assert.equal(p.take("t/s-500", "600"), undefined, "not a wanted source: never held");
            await clock.advance(PREFETCH_LIMITS.ttlMs);
            assert.equal(p.size, 0, "what was not used is dropped after the ttl");
        });

        it("stays within the byte budget and leaves Secrets over the item bound to their GET", async () => {
            const limits: PrefetchLimits = { ...PREFETCH_LIMITS, minSources: 1, budgetBytes: 20_000, itemBytes: 2_000 };
            items = [secret(0, 5_000), ...Array.from({ length: 99 }, (_, i) => secret(i + 1, 1_000))];
            const p = new SourcePrefetch({ client, logger: silentLogger(), clock: new FakeClock(), limits });
            const wanted = new Set(items.map((s) => `t/${s.metadata.name}`));
            await p.fill(wanted, () => 100, (k) => items.find((s) => `t/${s.metadata.name}` === k)?.metadata.resourceVersion);
            assert.equal(p.take("t/s-0", "100"), undefined, "over itemBytes: read live");
            const held = items.slice(1).filter((s) => p.take(`t/${s.metadata.name}`, s.metadata.resourceVersion) !== undefined);
            assert.ok(held.length > 0 && held.reduce((n, s) => n + heldBytes(s), 0) <= limits.budgetBytes, `held ${held.length} within the budget`);
        });

        it("a failed list holds nothing and throws nothing (the sources are read one by one)", async () => {
            const dead = KubeClient.fromConfig({ server: "http://127.0.0.1:1" });
            const p = new SourcePrefetch({ client: dead, logger: silentLogger(), clock: new FakeClock() });
            const r = await p.fill(new Set(Array.from({ length: 100 }, (_, i) => `t/s-${i}`)), () => 100, () => "1");
            assert.equal(r.held, 0);
        });
    });
});
