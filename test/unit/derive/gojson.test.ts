import assert from "node:assert/strict";
import fc from "fast-check";
import { goJson } from "../../../derive/canonical";
import { dockerConfigJson } from "../../../derive/formats/docker";

/**
 * derive's JSON must be byte-for-byte Go's encoding/json (what ESO's sprig `toJson` writes), or the reconciler and
 * ESO would rewrite each other's dockerconfigjson forever. Expected strings printed by Go 1.26's json.Marshal.
 */
describe("derive: goJson (Go encoding/json escaping)", () => {
    const vectors: [string, string][] = [
        [`bot"\\{{ .x }}<&>é`, `"bot\\"\\\\{{ .x }}\\u003c\\u0026\\u003eé"`],
        ["p\"a\\ss\n\t\b\f\x01\x1f\x7f ☃ 𝄞 \u2028\u2029 end", `"p\\"a\\\\ss\\n\\t\\b\\f\\u0001\\u001f\x7f ☃ 𝄞 \\u2028\\u2029 end"`],
        ["registry.example.com:5000/team-a", `"registry.example.com:5000/team-a"`],
    ];
    for (const [input, go] of vectors) {
        it(`matches json.Marshal for ${JSON.stringify(input).slice(0, 30)}`, () => assert.equal(goJson(input), go));
    }

    it("parses back to the same value and never carries a raw <, >, &, U+2028 or U+2029", () => {
        fc.assert(
            fc.property(fc.dictionary(fc.string({ unit: "binary" }), fc.string({ unit: "binary" })), (obj) => {
                const text = goJson(obj);
                assert.deepEqual(JSON.parse(text), { ...obj });
                assert.ok(!/[<>&\u2028\u2029]/.test(text));
            }),
        );
    });

    it("dockerconfigjson escapes the registry key and credentials the same way", () => {
        const text = dockerConfigJson("r.example/<a&b>", "u<", "p>");
        assert.equal(text, `{"auths":{"r.example/\\u003ca\\u0026b\\u003e":{"username":"u\\u003c","password":"p\\u003e","auth":"${Buffer.from("u<:p>").toString("base64")}"}}}`);
    });
});
