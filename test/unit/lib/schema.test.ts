import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { closedObject, describeIssue, formatPath, parseWith, SchemaProblem, withFix, z } from "../../../lib/schema";
import { parseHookList } from "../../../reconciler/hooks/hookspec";
import { parsePolicy, PolicyError } from "../../../reconciler/trust/policy";
import { ConfigError, parseStackConfig } from "../../../stacks/config";

/** lib/schema: zod's issues become the product's "key: problem; fix: ..." (issue 23 §4: one schema library). */
function problemOf(schema: z.ZodType, v: unknown): SchemaProblem {
    let out: SchemaProblem | undefined;
    try {
        parseWith(schema, v, (p) => {
            out = p;
            throw new Error("stop");
        });
    } catch {
        /* the problem was captured */
    }
    assert.ok(out, "expected a problem");
    return out;
}

describe("lib/schema: zod issues as key, problem and fix", () => {
    const doc = closedObject({ name: z.string(), port: z.int().min(1), tags: z.array(z.string()).optional(), nested: closedObject({ mode: z.enum(["a", "b"]) }).optional() });

    it("names the key path and gives a fix for zod's own issues", () => {
        assert.deepEqual(problemOf(doc, {}), { path: ["name"], problem: "is required", fix: "set name" });
        assert.deepEqual(problemOf(doc, { name: 1, port: 1 }), { path: ["name"], problem: "must be a string", fix: "quote the value" });
        assert.deepEqual(problemOf(doc, { name: "x", port: 0 }), { path: ["port"], problem: "must be >= 1", fix: "set port to 1 or more" });
        assert.deepEqual(problemOf(doc, { name: "x", port: 1, tags: "a" }).path, ["tags"]);
        assert.deepEqual(problemOf(doc, { name: "x", port: 1, nested: { mode: "c" } }), { path: ["nested", "mode"], problem: "is not an allowed value", fix: "use one of a, b" });
        assert.deepEqual(problemOf(doc, { name: "x", port: 1, prot: 2 }), { path: ["prot"], problem: "unknown field", fix: 'did you mean "port"? (allowed: name, port, tags, nested)' });
        assert.deepEqual(problemOf(doc, { name: "x", port: 1, zzzzzzzz: 2 }).fix, "remove it (allowed: name, port, tags, nested)");
    });

    it("a schema's own message carries its fix", () => {
        const s = z.string().refine((v) => v.startsWith("k"), { error: withFix("must start with k", "prefix it with k") });
        assert.deepEqual(problemOf(s, "x"), { path: [], problem: "must start with k", fix: "prefix it with k" });
        assert.deepEqual(describeIssue({ code: "custom", path: ["a", 0], message: "plain", input: 1 }), { path: ["a", 0], problem: "plain", fix: "see the documented form of this key" });
    });

    it("formats paths as the config keys are written", () => {
        assert.equal(formatPath(["passwords", 0, "consumers", 1, "namespace"]), "passwords[0].consumers[1].namespace");
        assert.equal(formatPath(["lenght"], "passwords[0]"), "passwords[0].lenght");
        assert.equal(formatPath([0, "host"]), "[0].host");
        assert.equal(formatPath([]), "");
    });

    // Principle 4: no value in an error. A hostile document with a canary in every string must never echo it back
    // from the hook and policy schemas (they carry PEM CAs and hosts); names may be echoed by the stack's name checks.
    it("property: the policy and hook parsers throw only their typed errors, and never quote a field's value", () => {
        const CANARY = "CANARY-d41d8cd9";
        const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
            value: fc.oneof({ depthSize: "small" }, fc.constant(`${CANARY}-v`), fc.integer(), fc.boolean(), fc.constant(null), fc.array(tie("value"), { maxLength: 3 }), fc.dictionary(fc.constantFrom("type", "host", "user", "tls", "ca", "mode", "vault", "path", "source", "namespace", "name", "hooks", "fanOut", "job", "roles"), tie("value"), { maxKeys: 4 })),
        })).value;
        fc.assert(
            fc.property(json, fc.constantFrom("postgres", "job-rerun"), (v, type) => {
                const entry = typeof v === "object" && v !== null && !Array.isArray(v) ? { ...v, type } : v;
                for (const run of [() => parseHookList([entry], "obj"), () => parsePolicy(JSON.stringify({ hooks: [{ source: { namespace: "db", name: "a" }, hooks: [entry] }] }), "cm"), () => parsePolicy(JSON.stringify(v), "cm")]) {
                    try {
                        run();
                    } catch (e) {
                        assert.ok(e instanceof Error && (e instanceof PolicyError || e.constructor === Error), String(e));
                        assert.ok(!e.message.includes(CANARY), e.message);
                        assert.match(e.message, /(; fix: |\. Fix: )\S/);
                    }
                }
            }),
            { numRuns: 300 },
        );
    });

    it("the stack config and the policy report the same hook problem the same way (one schema)", () => {
        const bad = [{ type: "postgres", host: "h", user: "u", prot: 5432 }];
        assert.throws(() => parseHookList(bad, "x"), /entry 0 \(postgres\) has an unknown field "prot"; fix: did you mean "port"\?/);
        assert.throws(() => parsePolicy(JSON.stringify({ hooks: [{ source: { namespace: "db", name: "a" }, hooks: bad }] }), "cm"), /key "hooks\[0\].hooks": .*entry 0 \(postgres\) has an unknown field "prot"\. Fix: did you mean "port"\?/);
        const required = { environment: "dev", vaultAddress: "https://vault.example" };
        const passwords = JSON.stringify([{ name: "db", consumers: [{ namespace: "app", hooks: bad }] }]);
        assert.throws(() => parseStackConfig({ ...required, passwords }), (e: unknown) => e instanceof ConfigError && e.key === "platform-secrets:passwords[0].consumers[0].hooks" && /entry 0 \(postgres\) has an unknown field "prot"; fix: did you mean "port"\?/.test(e.message));
    });
});
