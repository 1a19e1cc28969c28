import assert from "node:assert/strict";
import fc from "fast-check";
import { isDnsLabel, isDnsSubdomain, validateRecipe } from "../../../derive";
import { parseHookList, parsePolicy } from "../../../reconciler/api";
import { dnsSubdomain } from "../../../stacks/config/readers";

/** Issue 23: one name rule. The stack config, the policy, the hook list and the derivation core agree on every name. */
const BAD_SUBDOMAINS = ["a..b", "a.-b", "a-.b", "-a", "a-", "A", "a_b", ".a", "a.", "", "a".repeat(254)];
const GOOD_SUBDOMAINS = ["a", "a.b", "a-b.c-d", "0", "a".repeat(253), "db-password.v2"];

describe("derive/names: one DNS-1123 rule for every folder", () => {
    it("labels and subdomains as apimachinery defines them", () => {
        for (const v of BAD_SUBDOMAINS) assert.equal(isDnsSubdomain(v), false, v);
        for (const v of GOOD_SUBDOMAINS) assert.equal(isDnsSubdomain(v), true, v);
        assert.equal(isDnsLabel("a".repeat(63)), true);
        assert.equal(isDnsLabel("a".repeat(64)), false);
        assert.equal(isDnsLabel("a.b"), false);
        assert.equal(isDnsLabel("team-a", 5), false);
        assert.equal(isDnsLabel(7), false);
    });

    it("the stack config, the policy, the hook list and derive accept exactly the same secret names (property)", () => {
        const name = fc.oneof(fc.constantFrom(...BAD_SUBDOMAINS, ...GOOD_SUBDOMAINS), fc.stringMatching(/^[a-z0-9.-]{1,12}$/));
        fc.assert(
            fc.property(name, (n) => {
                const ok = isDnsSubdomain(n);
                const config = (() => {
                    try {
                        dnsSubdomain(n, "passwords[0].secretName");
                        return true;
                    } catch {
                        return false;
                    }
                })();
                const recipe = (() => {
                    try {
                        validateRecipe({ format: "mirror", source: { namespace: "ns", name: n }, target: { namespace: "ns", name: "copy" }, options: {} });
                        return true;
                    } catch {
                        return false;
                    }
                })();
                const policy = (() => {
                    try {
                        parsePolicy(JSON.stringify({ hooks: [{ source: { namespace: "ns", name: n }, hooks: [{ type: "job-rerun", job: "j" }] }] }), "cm");
                        return true;
                    } catch {
                        return false;
                    }
                })();
                const hook = (() => {
                    try {
                        parseHookList([{ type: "job-rerun", job: n }], "x");
                        return true;
                    } catch {
                        return false;
                    }
                })();
                assert.deepEqual({ config, recipe, policy, hook }, { config: ok, recipe: ok, policy: ok, hook: ok }, JSON.stringify(n));
            }),
            { numRuns: 300 },
        );
    });
});
