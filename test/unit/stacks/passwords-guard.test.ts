import { strict as assert } from "node:assert";
import { canonicalPolicy, passwordPolicyGuardProvider, PasswordPolicyGuardInputs } from "../../../providers/password-policy-guard";
import { PROVIDER_SCHEMA } from "../../../providers/schema";
import { T, loadStackFile, ofType, runStack, StackRun } from "./harness";

/**
 * "The value changes only when the rotation counter changes": what `pulumi up` registers for each password (a guard
 * the RandomPassword depends on), and what the engine's next preview does with an edited stack file, by handing the
 * guard's recorded inputs (the state) and the new ones to the provider exactly as the engine does (check, then diff).
 */
const devPasswords = () => JSON.parse(JSON.stringify(loadStackFile("dev").passwords)) as any[];

function guardOf(run: StackRun, password: string): PasswordPolicyGuardInputs {
    const g = run.resources.find((r) => r.type === T.passwordGuard && r.name === `password-${password}-guard`);
    assert.ok(g, `no guard for ${password}`);
    const { password: p, rotation, rotationKey, policy } = g.inputs;
    return { password: p, rotation, rotationKey, policy };
}

/**
 * What the engine does for the guard at preview: check (with the old inputs), then diff (with the old outputs: the
 * inputs plus the provider schema create recorded).
 */
async function preview(olds: PasswordPolicyGuardInputs, news: PasswordPolicyGuardInputs): Promise<{ refused?: string; changes?: boolean }> {
    const c = await passwordPolicyGuardProvider.check!(olds, news);
    if (c.failures?.length) return { refused: c.failures.map((f) => f.reason).join("; ") };
    try {
        return { changes: (await passwordPolicyGuardProvider.diff!("id", { ...olds, __schema: PROVIDER_SCHEMA } as PasswordPolicyGuardInputs, news)).changes };
    } catch (e) {
        return { refused: (e as Error).message };
    }
}

describe("stacks: StablePassword policy guard (mocks)", function () {
    this.timeout(60000);
    let base: StackRun;
    before(async () => {
        base = await runStack("dev");
    });

    it("every password gets a guard with its name, counter, config key and settings (never the value), and RandomPassword depends on it", () => {
        const cfg = loadStackFile("dev") as any;
        cfg.passwords.forEach((p: any, i: number) => {
            const guard = base.resources.find((r) => r.name === `password-${p.name}-guard`)!;
            const rnd = base.resources.find((r) => r.name === `password-${p.name}-random`)!;
            assert.deepEqual(guardOf(base, p.name), {
                password: p.name,
                rotation: p.rotation,
                rotationKey: `platform-secrets:passwords[${i}].rotation`,
                policy: canonicalPolicy({ length: p.length, special: p.special ?? false, upper: true, lower: true, numeric: true, minSpecial: p.minSpecial ?? 0, minUpper: 0, minLower: 0, minNumeric: 0, overrideSpecial: p.overrideSpecial }),
            });
            assert.ok(guard.meta.urn, "the guard was registered");
            assert.ok(rnd.meta.dependencies.includes(guard.meta.urn!), `${rnd.name} depends on ${guard.meta.urn}: the engine evaluates the guard first`);
            assert.ok(!JSON.stringify(guard.inputs).includes(rnd.state.result), "no password value in the guard");
            // The guard's settings are the RandomPassword's, so the two cannot drift apart.
            const settings = JSON.parse(guard.inputs.policy);
            for (const [k, v] of Object.entries(settings)) assert.deepEqual(rnd.inputs[k] ?? null, v, `${p.name}: ${k}`);
        });
    });

    it("a stack file with a longer password and the same counter: preview is refused naming the counter to bump", async () => {
        const pw = devPasswords();
        pw[1].length = 40;
        pw[1].special = true;
        pw[1].rotation = 3;
        const olds = { ...guardOf(base, "authentik-postgres-password"), rotation: 3 };
        const next = await runStack("dev", { overrides: { passwords: pw } });
        const r = await preview(olds, guardOf(next, "authentik-postgres-password"));
        assert.match(r.refused ?? "", /^password authentik-postgres-password: length changed from 32 to 40, special changed from false to true; .*fix: bump platform-secrets:passwords\[1\]\.rotation from 3 to 4 /);
        // The other passwords' guards see no change.
        for (const p of ["powerdns-api-key", "authentik-bootstrap-token", "platform-webhook-token"]) assert.deepEqual(await preview(guardOf(base, p), guardOf(next, p)), { changes: false });
    });

    it("the same change with the counter bumped goes through: the guard updates and the password is replaced (a new value)", async () => {
        const pw = devPasswords();
        pw[1].length = 40;
        pw[1].rotation = 1;
        const next = await runStack("dev", { overrides: { passwords: pw } });
        assert.deepEqual(await preview(guardOf(base, "authentik-postgres-password"), guardOf(next, "authentik-postgres-password")), { changes: true });
        const value = (run: StackRun) => ofType(run, T.randomPassword).find((r) => r.name === "password-authentik-postgres-password-random")!.state.result as string;
        assert.notEqual(value(next), value(base));
        assert.equal(value(next).length, 40);
    });

    it("moving a password within the list is no change for its guard (only the config key in the message moves)", async () => {
        const pw = devPasswords();
        const moved = await runStack("dev", { overrides: { passwords: [pw[1], pw[0], pw[2], pw[3]] } });
        const g = guardOf(moved, "authentik-postgres-password");
        assert.equal(g.rotationKey, "platform-secrets:passwords[0].rotation");
        assert.deepEqual(await preview(guardOf(base, "authentik-postgres-password"), g), { changes: false });
    });
});
