import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import {
    PASSWORD_POLICY_FIELDS, PasswordPolicy, PasswordPolicyGuardInputs, canonicalPolicy, checkGuardInputs, passwordPolicyGuardProvider, policyChanges, policyRefusal,
} from "../../../providers/password-policy-guard";
import { PROVIDER_SCHEMA } from "../../../providers/schema";

/**
 * The guard that makes "the value changes only when the rotation counter changes" true: the random provider
 * replaces a RandomPassword (a new value) on any settings change, so the guard refuses a settings change that comes
 * without a counter bump, at preview, naming the counter.
 */
const BASE: PasswordPolicy = { length: 32, special: false, upper: true, lower: true, numeric: true, minSpecial: 0, minUpper: 0, minLower: 0, minNumeric: 0 };
const KEY = "platform-secrets:passwords[0].rotation";

function inputs(policy: Partial<PasswordPolicy>, rotation: number, rotationKey = KEY): PasswordPolicyGuardInputs {
    return { password: "app-db-password", rotation, rotationKey, policy: canonicalPolicy({ ...BASE, ...policy }) };
}

const policyArb: fc.Arbitrary<PasswordPolicy> = fc.record({
    length: fc.integer({ min: 1, max: 128 }),
    special: fc.boolean(),
    upper: fc.boolean(),
    lower: fc.boolean(),
    numeric: fc.boolean(),
    minSpecial: fc.nat(4),
    minUpper: fc.nat(4),
    minLower: fc.nat(4),
    minNumeric: fc.nat(4),
    overrideSpecial: fc.option(fc.constantFrom("-_", "!@#", "%"), { nil: undefined }),
});

describe("providers: PasswordPolicyGuard (pure parts)", () => {
    it("canonicalPolicy: fixed field order, unset overrideSpecial as null, the same text for the same settings in any key order (property)", () => {
        assert.equal(canonicalPolicy(BASE), '{"length":32,"special":false,"upper":true,"lower":true,"numeric":true,"minSpecial":0,"minUpper":0,"minLower":0,"minNumeric":0,"overrideSpecial":null}');
        fc.assert(fc.property(policyArb, (p) => {
            const shuffled = Object.fromEntries(Object.entries(p).reverse()) as unknown as PasswordPolicy;
            assert.equal(canonicalPolicy(shuffled), canonicalPolicy(p));
            assert.deepEqual(Object.keys(JSON.parse(canonicalPolicy(p))), [...PASSWORD_POLICY_FIELDS]);
        }));
    });

    it("policyChanges names exactly the fields that differ, with both values (property)", () => {
        assert.deepEqual(policyChanges(canonicalPolicy(BASE), canonicalPolicy({ ...BASE, length: 40, special: true, overrideSpecial: "-_" })), [
            "length changed from 32 to 40",
            "special changed from false to true",
            'overrideSpecial changed from unset to "-_"',
        ]);
        fc.assert(fc.property(policyArb, policyArb, (a, b) => {
            const changed = policyChanges(canonicalPolicy(a), canonicalPolicy(b)).map((c) => c.split(" ")[0]);
            const want = PASSWORD_POLICY_FIELDS.filter((f) => (a[f] ?? null) !== (b[f] ?? null));
            assert.deepEqual(changed, want);
        }));
    });

    it("refuses a settings change without a counter bump, naming the password, the change and the counter to bump", () => {
        const msg = policyRefusal(inputs({}, 3), inputs({ length: 40, special: true }, 3));
        assert.equal(
            msg,
            "password app-db-password: length changed from 32 to 40, special changed from false to true; these settings take effect only by rotating the password " +
                "(the random provider replaces the value on any of them, which would rotate it silently); " +
                "fix: bump platform-secrets:passwords[0].rotation from 3 to 4 (pulumi config set --path 'platform-secrets:passwords[0].rotation' 4), or revert the change",
        );
    });

    it("allows: the first deployment, no change, a counter bump with or without new settings, a moved config entry, unknowns at preview", () => {
        assert.equal(policyRefusal(undefined, inputs({ length: 40 }, 0)), undefined, "nothing recorded yet");
        assert.equal(policyRefusal({}, inputs({ length: 40 }, 0)), undefined, "nothing recorded yet (empty olds)");
        assert.equal(policyRefusal(inputs({}, 3), inputs({}, 3)), undefined);
        assert.equal(policyRefusal(inputs({}, 3), inputs({ length: 40 }, 4)), undefined, "the new policy applies with the bump");
        assert.equal(policyRefusal(inputs({}, 3), inputs({}, 4)), undefined);
        assert.equal(policyRefusal(inputs({}, 3), inputs({}, 3, "platform-secrets:passwords[5].rotation")), undefined);
        const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        assert.equal(policyRefusal(inputs({}, 3), { ...inputs({}, 3), policy: unknown }), undefined);
    });

    it("refusal iff the settings differ and the counter did not move (property)", () => {
        fc.assert(fc.property(policyArb, policyArb, fc.nat(5), fc.nat(5), (a, b, r1, r2) => {
            const olds: PasswordPolicyGuardInputs = { password: "p", rotation: r1, rotationKey: KEY, policy: canonicalPolicy(a) };
            const news: PasswordPolicyGuardInputs = { password: "p", rotation: r2, rotationKey: KEY, policy: canonicalPolicy(b) };
            const refused = policyRefusal(olds, news) !== undefined;
            assert.equal(refused, r1 === r2 && canonicalPolicy(a) !== canonicalPolicy(b));
        }));
    });

    it("checkGuardInputs names the bad property and the fix", () => {
        assert.deepEqual(checkGuardInputs(inputs({}, 0) as unknown as Record<string, unknown>), []);
        const bad = checkGuardInputs({ password: "", rotation: -1, rotationKey: "", policy: "{not json" });
        assert.deepEqual(bad.map((f) => f.property), ["password", "rotation", "rotationKey", "policy"]);
        for (const f of bad) assert.match(f.reason, /; fix: \S/);
    });
});

describe("providers: PasswordPolicyGuard provider methods", () => {
    const p = passwordPolicyGuardProvider;

    it("check reports the refusal (preview fails before any replace; no property, so the engine prints only the reason); diff throws the same message", async () => {
        const olds = inputs({}, 3);
        const news = inputs({ length: 40 }, 3);
        const c = await p.check!(olds, news);
        assert.deepEqual(c.failures, [{ property: "", reason: policyRefusal(olds, news) }]);
        await assert.rejects(p.diff!("id", olds, news), (e: Error) => e.message === policyRefusal(olds, news) && /bump platform-secrets:passwords\[0\]\.rotation from 3 to 4/.test(e.message));
    });

    it("diff: a counter bump is an in-place update (never a replace); a moved config entry is no change", async () => {
        assert.deepEqual(await p.diff!("id", inputs({}, 3), inputs({ length: 40 }, 4)), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await p.diff!("id", inputs({}, 3), inputs({}, 4)), { changes: true, replaces: [], deleteBeforeReplace: false });
        // Recorded state carries the schema (create/update stamp it); without it, diff asks for the migrating update.
        const recorded = { ...inputs({}, 3), __schema: PROVIDER_SCHEMA };
        assert.equal((await p.diff!("id", recorded, inputs({}, 3, "platform-secrets:passwords[2].rotation"))).changes, false);
    });

    it("create/read/update keep settings and counter only; delete touches nothing", async () => {
        const i = inputs({}, 1);
        const c = await p.create(i);
        assert.equal(c.id, "password-policy/app-db-password");
        assert.deepEqual(c.outs, { ...i, __schema: PROVIDER_SCHEMA });
        assert.deepEqual(await p.read!(c.id, c.outs), { id: c.id, props: c.outs });
        await assert.rejects(p.read!(c.id, undefined), /import is not supported/);
        assert.deepEqual((await p.update!(c.id, i, inputs({ length: 40 }, 2))).outs, { ...inputs({ length: 40 }, 2), __schema: PROVIDER_SCHEMA });
        await p.delete!(c.id, i);
    });

    it("the serialized provider (what the engine's dynamic-provider host runs) refuses with the same message", async () => {
        // Serialized exactly as pulumi.dynamic.Resource does, then loaded as the host loads it (require-from-string).
        const sf = await pulumi.runtime.serializeFunction(() => passwordPolicyGuardProvider, { allowSecrets: true });
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const loaded = (require("require-from-string") as (s: string) => { handler: () => typeof passwordPolicyGuardProvider })(sf.text).handler();
        const olds = inputs({}, 3);
        const news = inputs({ numeric: false }, 3);
        await assert.rejects(loaded.diff!("id", olds, news), (e: Error) => e.message === policyRefusal(olds, news));
        assert.equal((await loaded.check!(olds, news)).failures?.[0]?.reason, policyRefusal(olds, news));
        assert.equal((await loaded.diff!("id", olds, inputs({ numeric: false }, 4))).changes, true);
    });
});
