import assert from "node:assert/strict";
import fc from "fast-check";
import { EMPTY_POLICY, fanOutAllowed, FanOutGrant, HookBinding, hooksFor, parsePolicy, PolicyError, ReconcilerPolicy, renderPolicy } from "../../../reconciler/trust/policy";
import { HookSpec } from "../../../reconciler/hooks/hookspec";

const CM = "ConfigMap ps-system/platform-secrets-policy";

const valid = {
    fanOut: [
        { sourceNamespace: "platform", namespaces: ["team-a", "team-b"] },
        { sourceNamespace: "registry", namespaceSelector: "fan-out=docker" },
    ],
    hooks: [
        { source: { namespace: "db", name: "app-db" }, hooks: [{ type: "postgres", host: "pg.db.svc", user: "app", vault: { path: "db/app" } }] },
        { source: { namespace: "db", name: "boot.pw" }, hooks: [{ type: "job-rerun", cronJob: "bootstrap" }] },
    ],
};

/** Asserts parsePolicy throws a PolicyError naming the ConfigMap, `key` and a fix. */
function rejects(doc: unknown, key: string, problem?: RegExp): void {
    const raw = typeof doc === "string" ? doc : JSON.stringify(doc);
    assert.throws(
        () => parsePolicy(raw, CM),
        (e: unknown) => {
            assert.ok(e instanceof PolicyError, `PolicyError expected, got ${String(e)}`);
            const m = (e as Error).message;
            assert.ok(m.startsWith(`${CM} key "${key}": `), `names the ConfigMap and key ${key}: ${m}`);
            assert.match(m, /\. Fix: \S/, `gives a fix: ${m}`);
            if (problem) assert.match(m, problem);
            return true;
        },
    );
}

describe("reconciler/policy: parsePolicy", () => {
    it("parses a valid document", () => {
        const p = parsePolicy(JSON.stringify(valid), CM);
        assert.deepEqual(p.fanOut, [
            { sourceNamespace: "platform", namespaces: ["team-a", "team-b"], namespaceSelector: undefined },
            { sourceNamespace: "registry", namespaces: undefined, namespaceSelector: "fan-out=docker" },
        ]);
        assert.deepEqual(p.hooks, [
            { source: { namespace: "db", name: "app-db" }, hooks: [{ type: "postgres", host: "pg.db.svc", user: "app", vault: { path: "db/app" } }] },
            { source: { namespace: "db", name: "boot.pw" }, hooks: [{ type: "job-rerun", cronJob: "bootstrap" }] },
        ]);
        assert.deepEqual(parsePolicy('{"fanOut":[]}', CM), { fanOut: [], hooks: [] }, "missing lists are empty");
    });

    it("an empty or absent document is the empty policy (fan-out only within a namespace, no hooks)", () => {
        for (const raw of [undefined, "", "  \n"]) assert.deepEqual(parsePolicy(raw, CM), { fanOut: [], hooks: [] });
        assert.deepEqual(EMPTY_POLICY, { fanOut: [], hooks: [] });
        assert.ok(Object.isFrozen(EMPTY_POLICY));
    });

    it("each bad field gives a PolicyError naming the ConfigMap, the key and a fix", () => {
        rejects("{", "policy.json", /not valid JSON/);
        rejects("[]", "policy.json", /not a JSON object/);
        rejects("null", "policy.json", /not a JSON object/);
        rejects({ fanOut: [], hooks: [], extra: 1 }, "extra", /unknown field/);
        rejects({ fanout: [] }, "fanout", /unknown field/);
        rejects({ fanOut: {} }, "fanOut", /not an array/);
        rejects({ hooks: "x" }, "hooks", /not an array/);
        rejects({ fanOut: ["platform"] }, "fanOut[0]", /not an object/);
        rejects({ fanOut: [{ namespaces: ["a"] }] }, "fanOut[0].sourceNamespace", /not a namespace name/);
        rejects({ fanOut: [{ sourceNamespace: "Bad_NS", namespaces: ["a"] }] }, "fanOut[0].sourceNamespace");
        rejects({ fanOut: [{ sourceNamespace: "p", namespaces: "a" }] }, "fanOut[0].namespaces", /not a list of namespace names/);
        rejects({ fanOut: [{ sourceNamespace: "p", namespaces: ["ok", "Not OK"] }] }, "fanOut[0].namespaces");
        rejects({ fanOut: [{ sourceNamespace: "p", namespaceSelector: 3 }] }, "fanOut[0].namespaceSelector", /not a string/);
        rejects({ fanOut: [{ sourceNamespace: "p", namespaceSelector: "a in (" }] }, "fanOut[0].namespaceSelector", /selector/);
        rejects({ fanOut: [{ sourceNamespace: "p", namespaceSelector: "" }] }, "fanOut[0].namespaceSelector", /selector/);
        rejects({ fanOut: [{ sourceNamespace: "p" }] }, "fanOut[0]", /allows no namespace/);
        rejects({ fanOut: [valid.fanOut[0], { sourceNamespace: "q" }] }, "fanOut[1]", /allows no namespace/);
        rejects({ hooks: [{ hooks: [] }] }, "hooks[0].source", /needs source/);
        rejects({ hooks: [{ source: "db/app", hooks: [] }] }, "hooks[0].source", /needs source/);
        rejects({ hooks: ["db/app"] }, "hooks[0]", /needs source/);
        rejects({ hooks: [{ source: { namespace: "db", name: "a", uid: "x" }, hooks: [] }] }, "hooks[0].source.uid", /unknown field/);
        rejects({ hooks: [{ source: { namespace: "DB", name: "a" }, hooks: [] }] }, "hooks[0].source.namespace", /not a namespace name/);
        rejects({ hooks: [{ source: { namespace: "db", name: "" }, hooks: [] }] }, "hooks[0].source.name", /not a secret name/);
        rejects({ hooks: [{ source: { namespace: "db", name: "a" } }] }, "hooks[0].hooks", /not an array/);
        rejects({ hooks: [{ source: { namespace: "db", name: "a" }, hooks: [{ type: "postgres", host: "h" }] }] }, "hooks[0].hooks", /needs "user"/);
        rejects({ hooks: [{ source: { namespace: "db", name: "a" }, hooks: [{ type: "job-rerun", job: "j", namespace: "kube-system" }] }] }, "hooks[0].hooks", /only in its source's namespace/);
    });

    it("pauseRestarts: a one-line reason pauses rollouts; anything else is refused naming the fix; it renders back the same", () => {
        const p = parsePolicy('{"fanOut":[],"hooks":[],"pauseRestarts":{"reason":"INC-7: failover"}}', "cm");
        assert.deepEqual(p.pauseRestarts, { reason: "INC-7: failover" });
        assert.deepEqual(parsePolicy(renderPolicy(p), "cm"), p);
        assert.equal(parsePolicy('{"fanOut":[],"hooks":[]}', "cm").pauseRestarts, undefined);
        for (const bad of ['true', '{}', '{"reason":""}', '{"reason":"a\\u001b]52;c;x"}', '{"reason":"x","until":"1h"}']) {
            assert.throws(() => parsePolicy(`{"pauseRestarts":${bad}}`, "cm"), (e: unknown) => e instanceof PolicyError && /key "pauseRestarts": not \{reason/.test((e as Error).message) && /Fix: write \{"reason"/.test((e as Error).message), bad);
        }
    });

    it("a source listed twice is refused (its hooks must be one ordered list)", () => {
        const dup = { hooks: [valid.hooks[0], { source: { namespace: "db", name: "app-db" }, hooks: [{ type: "job-rerun", job: "j" }] }] };
        rejects(dup, "hooks[1]", /source db\/app-db is listed twice/);
    });

    it("never echoes a hook's values into other keys' messages (names only)", () => {
        try {
            parsePolicy(JSON.stringify({ hooks: [{ source: { namespace: "db", name: "a" }, hooks: [{ type: "postgres", host: "h", user: "u", tls: { mode: "verify-full", ca: "SECRET-CA-TEXT" } }] }] }), CM);
            assert.fail("expected a PolicyError");
        } catch (e) {
            assert.ok(e instanceof PolicyError);
            assert.ok(!(e as Error).message.includes("SECRET-CA-TEXT"));
        }
    });
});

describe("reconciler/policy: fanOutAllowed and hooksFor", () => {
    const policy = parsePolicy(JSON.stringify(valid), CM);

    it("a source's own namespace is always allowed, even by the empty policy", () => {
        assert.equal(fanOutAllowed(EMPTY_POLICY, "tenant", "tenant", undefined), true);
        assert.equal(fanOutAllowed(EMPTY_POLICY, "tenant", "victim", undefined), false);
        assert.equal(fanOutAllowed(EMPTY_POLICY, "tenant", "kube-system", { "kubernetes.io/metadata.name": "kube-system" }), false);
    });

    it("allows targets by name and by namespace-label selector, only for the granted source namespace", () => {
        assert.equal(fanOutAllowed(policy, "platform", "team-a", undefined), true);
        assert.equal(fanOutAllowed(policy, "platform", "team-b", {}), true);
        assert.equal(fanOutAllowed(policy, "platform", "team-c", {}), false);
        assert.equal(fanOutAllowed(policy, "platform", "x", { "fan-out": "docker" }), false, "the selector grant belongs to registry, not platform");
        assert.equal(fanOutAllowed(policy, "registry", "x", { "fan-out": "docker" }), true);
        assert.equal(fanOutAllowed(policy, "registry", "x", { "fan-out": "git" }), false);
        assert.equal(fanOutAllowed(policy, "registry", "x", undefined), false);
        assert.equal(fanOutAllowed(policy, "registry", "team-a", {}), false, "by-name grants of another source namespace do not apply");
        assert.equal(fanOutAllowed(policy, "tenant", "team-a", { "fan-out": "docker" }), false, "a source namespace without a grant writes nowhere else");
    });

    it("hooksFor returns the administrator's hooks for a source and nothing for others", () => {
        assert.deepEqual(hooksFor(policy, "db/app-db"), [{ type: "postgres", host: "pg.db.svc", user: "app", vault: { path: "db/app" } }]);
        assert.deepEqual(hooksFor(policy, "db/boot.pw"), [{ type: "job-rerun", cronJob: "bootstrap" }]);
        assert.deepEqual(hooksFor(policy, "tenant/app-db"), []);
        assert.deepEqual(hooksFor(policy, "db/app"), []);
        assert.deepEqual(hooksFor(EMPTY_POLICY, "db/app-db"), []);
    });
});

// ---- renderPolicy: canonical text (no diff on a no-op preview) ----

const ns = fc.constantFrom("a", "b", "db", "platform", "team-a", "team-b", "registry");
const selector = fc.constantFrom("team=a", "fan-out in (docker,git)", "!legacy", "env!=prod,tier");
const grant: fc.Arbitrary<FanOutGrant> = fc
    .record({ sourceNamespace: ns, namespaces: fc.option(fc.uniqueArray(ns, { maxLength: 3 }), { nil: undefined }), namespaceSelector: fc.option(selector, { nil: undefined }) })
    .filter((g) => g.namespaces !== undefined || g.namespaceSelector !== undefined);
const hook: fc.Arbitrary<HookSpec> = fc.oneof(
    fc.record(
        {
            type: fc.constant("postgres" as const),
            host: fc.constantFrom("pg", "pg.db.svc"),
            user: fc.constantFrom("app", "owner"),
            port: fc.integer({ min: 1, max: 65535 }),
            database: fc.constantFrom("app", "postgres"),
            vault: fc.record({ path: fc.constantFrom("db/app", "db/x"), mount: fc.constantFrom("secret", "kv") }, { requiredKeys: ["path"] }),
            tls: fc.constantFrom({ mode: "disable" as const }, { mode: "require" as const }),
        },
        { requiredKeys: ["type", "host", "user"] },
    ),
    fc.record({ type: fc.constant("job-rerun" as const), job: fc.constantFrom("boot", "migrate") }),
    fc.record({ type: fc.constant("job-rerun" as const), cronJob: fc.constantFrom("boot", "migrate") }),
);
const binding: fc.Arbitrary<HookBinding> = fc.record({ source: fc.record({ namespace: ns, name: fc.constantFrom("pw", "app-db", "x.y") }), hooks: fc.array(hook, { maxLength: 3 }) });
const policyArb: fc.Arbitrary<ReconcilerPolicy> = fc.record({
    fanOut: fc.array(grant, { maxLength: 6 }),
    hooks: fc.uniqueArray(binding, { maxLength: 4, selector: (b) => `${b.source.namespace}/${b.source.name}` }),
});

/** The same value with every object's keys in reverse insertion order. */
function reverseKeys<T>(v: T): T {
    if (Array.isArray(v)) return v.map(reverseKeys) as T;
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)])) as T;
    return v;
}

describe("reconciler/policy: renderPolicy", () => {
    it("round-trips through parsePolicy: render(parse(render(p))) === render(p) (property)", () => {
        fc.assert(
            fc.property(policyArb, (p) => {
                const text = renderPolicy(p);
                assert.equal(renderPolicy(parsePolicy(text, CM)), text);
            }),
        );
    });

    it("does not depend on the order of grants, bindings or object keys (property)", () => {
        fc.assert(
            fc.property(policyArb, fc.integer(), (p, seed) => {
                const shuffle = <T>(xs: T[]): T[] => {
                    const out = [...xs];
                    let s = seed >>> 0;
                    for (let i = out.length - 1; i > 0; i--) {
                        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
                        const j = s % (i + 1);
                        [out[i], out[j]] = [out[j], out[i]];
                    }
                    return out;
                };
                const text = renderPolicy(p);
                assert.equal(renderPolicy({ fanOut: shuffle(p.fanOut), hooks: shuffle(p.hooks) }), text);
                assert.equal(renderPolicy({ fanOut: [...p.fanOut].reverse(), hooks: [...p.hooks].reverse() }), text);
                assert.equal(renderPolicy(reverseKeys(p)), text);
            }),
        );
    });

    it("keeps the order of hooks within a binding (they run in order)", () => {
        const a: HookSpec = { type: "job-rerun", job: "a" };
        const b: HookSpec = { type: "job-rerun", job: "b" };
        const p1 = renderPolicy({ fanOut: [], hooks: [{ source: { namespace: "db", name: "x" }, hooks: [a, b] }] });
        const p2 = renderPolicy({ fanOut: [], hooks: [{ source: { namespace: "db", name: "x" }, hooks: [b, a] }] });
        assert.notEqual(p1, p2);
        assert.deepEqual(hooksFor(parsePolicy(p1, CM), "db/x"), [a, b]);
    });

    it("the empty policy renders as a document the reconciler accepts", () => {
        assert.deepEqual(parsePolicy(renderPolicy(EMPTY_POLICY), CM), { fanOut: [], hooks: [] });
    });
});
