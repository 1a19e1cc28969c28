import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { applyAlternate, AlternateState, DRAIN_POLL_MS, retireIfDrained } from "../../../reconciler/hooks/alternate";
import { parseHookList, PostgresHook } from "../../../reconciler/hooks/hookspec";
import type { PgOps } from "../../../reconciler/hooks/hooks";
import { PgHookError } from "../../../reconciler/hooks/postgres";

/**
 * A PostgreSQL stand-in for the strategy's decisions only (roles, passwords, CREATEROLE, sessions): the real server
 * runs the same paths in test/integration/reconciler/alternate.test.ts.
 */
function fakePg(roles: Record<string, { password?: string; createRole?: boolean; member?: boolean }>, sessions: Record<string, number> = {}) {
    const log: string[] = [];
    const login = (user: string, pw: string) => roles[user]?.password !== undefined && roles[user]!.password === pw;
    const ops: PgOps = {
        canLogin: async (h, pw) => login(h.user, pw),
        pgConnect: async (h, pw) => {
            if (!login(h.user, pw)) throw new PgHookError(`login failed for ${h.user}`, "28P01");
            const as = h.user;
            return {
                end: async () => undefined,
                query: async (_sql: string, values?: unknown[]) => ({ rows: ((values?.[0] as string[] | undefined) ?? []).filter((r) => roles[r]).map((r) => ({ rolname: r, member: roles[r]!.member !== false })) }),
                as,
            } as never;
        },
        alterRolePassword: async (client, target, pw) => {
            const as = (client as unknown as { as: string }).as;
            if (!roles[target]) throw new PgHookError(`role "${target}" does not exist`, "42704");
            if (as !== target && !roles[as]?.createRole) throw new PgHookError("permission denied", "42501");
            roles[target]!.password = pw;
            log.push(`${as}:${target}`);
        },
        countSessions: async (_c, role) => sessions[role] ?? 0,
    };
    return { ops, roles, log, sessions };
}

const hook: PostgresHook = { type: "postgres", host: "db", user: "app", strategy: "alternate", roles: ["app_a", "app_b"], drainSeconds: 60 };
const b64 = (s: string) => Buffer.from(s).toString("base64");
const src = (username: string | undefined, password: string) => ({ data: { password: b64(password), ...(username === undefined ? {} : { username: b64(username) }) } });

describe("reconciler/hooks/alternate (strategy decisions, PostgreSQL stand-in)", () => {
    it("parseHookList: strategy alternate needs two distinct login roles that are not the group role", () => {
        assert.deepEqual(parseHookList([{ type: "postgres", host: "h", user: "app", strategy: "alternate", roles: ["app_a", "app_b"], drainSeconds: 30 }], "x"), [
            { type: "postgres", host: "h", user: "app", strategy: "alternate", roles: ["app_a", "app_b"], drainSeconds: 30 },
        ]);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "app", strategy: "alternate" }], "db/x"), /db\/x: entry 0 \(postgres\) strategy "alternate" needs "roles": two different login role names \(e\.g\. \["app_a", "app_b"\]\)/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "app", strategy: "alternate", roles: ["x", "x"] }], "x"), /two different/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "app", strategy: "alternate", roles: ["app", "b"] }], "x"), /must not include "user"/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "app", roles: ["a", "b"] }], "x"), /"roles" applies only to strategy "alternate"/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "app", strategy: "rolling" }], "x"), /"strategy" must be one of single, alternate/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "app", strategy: "alternate", roles: ["a", "b"], drainSeconds: -1 }], "x"), /"drainSeconds" must be a whole number/);
    });

    it("migration from single, then steady rotations: the previous role works until drained, then only a random value of ours opens it", async () => {
        let now = 1_000_000;
        const clock = { now: () => now, setTimer: () => () => undefined };
        // The era before: one login role app (v1) that may create roles once; the two login roles have no password.
        const pg = fakePg({ app: { password: "v1", createRole: true }, app_a: {}, app_b: {} }, { app: 2 });
        const d = { pg: pg.ops, clock };
        const st: AlternateState = { annotations: {}, data: {} };
        // Rotation 1 makes app_b active (roles[1 % 2]); the single era's last applied value logs in as app.
        const r1 = await applyAlternate(d, src("app_b", "v2"), hook, "h1", st, b64("v1"));
        assert.deepEqual(r1, { applied: true, ran: true, recheckMs: DRAIN_POLL_MS });
        assert.equal(pg.roles.app_b!.password, "v2");
        assert.ok(pg.roles.app_a!.password && pg.roles.app_a!.password !== "v1", "the idle role got a value only we know");
        assert.equal(pg.roles.app!.password, "v1", "the previous role keeps working while consumers move");
        // Sessions of app remain: not retired; once they are gone (after the earliest check) it is.
        now += DRAIN_POLL_MS;
        assert.deepEqual(await retireIfDrained(d, hook, "h1", st), { recheckMs: DRAIN_POLL_MS });
        assert.equal(pg.roles.app!.password, "v1");
        pg.sessions.app = 0;
        assert.deepEqual(await retireIfDrained(d, hook, "h1", st), { retired: "app" });
        assert.notEqual(pg.roles.app!.password, "v1", "the old value is dead");
        assert.deepEqual(await retireIfDrained(d, hook, "h1", st), {}, "nothing pending");
        // Rotation 2: app_a changes its OWN password (no right needed), app_b drains.
        pg.roles.app!.createRole = false;
        const r2 = await applyAlternate(d, src("app_a", "v3"), hook, "h1", st);
        assert.equal(r2.applied, true);
        assert.equal(pg.roles.app_a!.password, "v3");
        assert.equal(pg.roles.app_b!.password, "v2");
        assert.deepEqual(pg.log.slice(-1), ["app_a:app_a"]);
        // The drain deadline retires it even with sessions left.
        pg.sessions.app_b = 5;
        now += 61_000;
        assert.deepEqual(await retireIfDrained(d, hook, "h1", st), { retired: "app_b" });
        assert.notEqual(pg.roles.app_b!.password, "v2");
        // The same content again changes nothing.
        assert.deepEqual(await applyAlternate(d, src("app_a", "v3"), hook, "h1", st), { applied: true, ran: false });
    });

    it("bad input: no username key, a foreign role, missing roles, no right: nothing changed, the message names the fix", async () => {
        const clock = { now: () => 0, setTimer: () => () => undefined };
        const fresh = () => fakePg({ app: { password: "v1" }, app_a: {}, app_b: {} });
        let pg = fresh();
        const run = (s: ReturnType<typeof src>, p = pg) => applyAlternate({ pg: p.ops, clock }, s, hook, "h1", { annotations: {}, data: {} }, b64("v1"));
        const r1 = await run(src(undefined, "v2"));
        assert.equal(r1.applied, false);
        assert.match((r1 as { error: string }).error, /source has no "username" key: with strategy alternate the consumer Secret must carry the active login role \(app_a or app_b\).*Fix: map the password's Vault key "username"/);
        assert.match(((await run(src("root", "v2"))) as { error: string }).error, /names role "root", which is not one of the hook's roles \(app_a, app_b\)/);
        const noRight = await run(src("app_b", "v2"));
        assert.match((noRight as { error: string }).error, /role app may not set the password of app_b \(SQLSTATE 42501\).*Fix once, as a superuser: ALTER ROLE app CREATEROLE/);
        assert.equal(pg.roles.app!.password, "v1");
        pg = fakePg({ app: { password: "v1", createRole: true }, app_a: {} });
        const missing = await run(src("app_a", "v2"), pg);
        assert.match((missing as { error: string }).error, /login role app_b missing: nothing was changed\. Fix: CREATE ROLE app_b LOGIN IN ROLE app/);
        assert.equal(pg.roles.app_a!.password, undefined, "nothing half-applied");
        pg = fakePg({ app: { password: "v1", createRole: true }, app_a: { member: false }, app_b: {} });
        assert.match(((await run(src("app_a", "v2"), pg)) as { error: string }).error, /app_a is not a member of app.*GRANT app TO app_a/);
    });

    it("property: over any sequence of rotations, after each drain exactly the active role logs in with a value a consumer ever held", async () => {
        await fc.assert(
            fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), async (drainEach) => {
                let now = 0;
                const clock = { now: () => now, setTimer: () => () => undefined };
                const pg = fakePg({ app: { password: "p0", createRole: true }, app_a: {}, app_b: {} });
                const d = { pg: pg.ops, clock };
                const st: AlternateState = { annotations: {}, data: {} };
                const held = new Set(["p0"]);
                for (let i = 0; i < drainEach.length; i++) {
                    const role = hook.roles![(i + 1) % 2];
                    const pw = `p${i + 1}`;
                    held.add(pw);
                    const r = await applyAlternate(d, src(role, pw), hook, "h1", st, b64("p0"));
                    assert.equal(r.applied, true, JSON.stringify(r));
                    assert.equal(pg.roles[role]!.password, pw);
                    if (drainEach[i]) {
                        now += DRAIN_POLL_MS;
                        await retireIfDrained(d, hook, "h1", st);
                        const working = Object.entries(pg.roles).filter(([, r]) => r.password !== undefined && held.has(r.password)).map(([n]) => n);
                        assert.deepEqual(working, [role]);
                    }
                }
            }),
            { numRuns: 50 },
        );
    });
});
