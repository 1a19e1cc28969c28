import { strict as assert } from "node:assert";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as fc from "fast-check";
import { isKubeError, KubeClient } from "../../../lib/kube";

/**
 * KubeClient.list: a page parsed at once while small, item by item past `bufferBytes` (issue 21: a page of big tenant
 * Secrets must never be held whole). Both paths must give the same items and list metadata, and fail the same way.
 * A loopback HTTP server plays the apiserver's list response, written in small chunks as a real one arrives.
 */
describe("lib/kube: list pages parsed at once or item by item", () => {
    let server: http.Server;
    let client: KubeClient;
    let body = "";
    let status = 200;

    before(async () => {
        server = http.createServer((_req, res) => {
            res.writeHead(status, { "content-type": "application/json" });
            // 1 KiB writes: the client sees many chunks, as from a real apiserver.
            for (let o = 0; o < body.length; o += 1024) res.write(body.slice(o, o + 1024));
            res.end();
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        client = KubeClient.fromConfig({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const page = (items: unknown[], meta: Record<string, string>) => JSON.stringify({ kind: "SecretList", apiVersion: "v1", metadata: meta, items });
    async function listBoth(text: string): Promise<{ small: unknown[]; big: unknown[]; metaSmall: unknown; metaBig: unknown }> {
        body = text;
        const small: unknown[] = [];
        const big: unknown[] = [];
        const metaSmall = await client.list("/api/v1/secrets", { limit: 500 }, (i) => small.push(i));
        const metaBig = await client.list("/api/v1/secrets", { limit: 500 }, (i) => big.push(i), { bufferBytes: 16 });
        return { small, big, metaSmall, metaBig };
    }

    it("a page past bufferBytes is parsed item by item into the same items and list metadata", async () => {
        const items = Array.from({ length: 40 }, (_, i) => ({ metadata: { name: `s-${i}`, namespace: "t", resourceVersion: String(i), annotations: { "a/b": "\"quoted\" \\ \u00e9" } }, data: { k: Buffer.alloc(3000, i).toString("base64") } }));
        const r = await listBoth(page(items, { resourceVersion: "77", continue: "next-page" }));
        assert.deepEqual(r.small, items);
        assert.deepEqual(r.big, items);
        assert.deepEqual(r.metaSmall, { resourceVersion: "77", continue: "next-page" });
        assert.deepEqual(r.metaBig, r.metaSmall);
    });

    it("property: any items (strings with escapes and unicode, nested values) come out equal either way", async () => {
        const item = fc.record({ metadata: fc.record({ name: fc.string({ maxLength: 20 }), labels: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })) }), data: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 200 })), n: fc.integer() });
        await fc.assert(
            fc.asyncProperty(fc.array(item, { maxLength: 12 }), async (items) => {
                const r = await listBoth(page(items, { resourceVersion: "1" }));
                assert.deepEqual(r.big, r.small);
                assert.deepEqual(r.small, JSON.parse(JSON.stringify(items)));
            }),
            { numRuns: 40 },
        );
    });

    it("a truncated page fails as BadResponse on both paths; a 410 is a KubeApiError with its code", async () => {
        const text = page([{ metadata: { name: "a" }, data: { k: "x".repeat(4000) } }], { resourceVersion: "1" });
        body = text.slice(0, text.length - 30);
        for (const bufferBytes of [undefined, 16]) {
            const err = await client.list("/api/v1/secrets", {}, () => undefined, { bufferBytes }).then(() => undefined, (e: unknown) => e);
            assert.ok(isKubeError(err) && err.reason === "BadResponse", `bufferBytes ${bufferBytes}: ${String(err)}`);
            assert.ok(!err.message.includes("xxxx"), "the error quotes the body (Secret data)");
        }
        status = 410;
        body = JSON.stringify({ kind: "Status", status: "Failure", reason: "Expired", code: 410, message: "too old resource version" });
        try {
            const err = await client.list("/api/v1/secrets", {}, () => undefined).then(() => undefined, (e: unknown) => e);
            assert.ok(isKubeError(err, 410), String(err));
        } finally {
            status = 200;
        }
    });
});
