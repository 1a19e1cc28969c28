import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { hookStateName } from "../../../reconciler/hooks/hooks";
import { HookBinding } from "../../../reconciler/trust/policy";
import { ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { parseStackConfig } from "../../../stacks/config";
import { buildReconcilerPolicy } from "../../../stacks/policy";
import { loadStackFile, toRawConfig } from "../../unit/stacks/harness";
import { canaryValue, randomName } from "../../support";
import { getEnv } from "../fixture";
import { Fleet } from "./fleet";
import { admin, auditLines, b64, canLogin, createNamespace, createSource, deleteNamespaces, eventually, mutateSecret, Running, startReconciler, superuser, writePolicy } from "./helpers";

/**
 * Issue 22 §1 on the real PostgreSQL: a rotation with `strategy: single` (measured window) against the same
 * rotation with `strategy: alternate` (0 failed logins), the documented migration single → alternate → single, and
 * the refusals. Consumers are a 3-replica Deployment whose Pods are the Fleet stand-in (fleet.ts).
 */
async function vaultWrite(p: string, data: Record<string, string>): Promise<void> {
    const { addr, token } = getEnv().vault;
    const res = await fetch(`${addr}/v1/secret/data/${p}`, { method: "POST", headers: { "X-Vault-Token": token, "Content-Type": "application/json" }, body: JSON.stringify({ data }) });
    if (!res.ok) throw new Error(`vault write ${p}: HTTP ${res.status}`);
}

/** The hook as the stack renders it from passwords[].consumers[].hooks (stacks/policy.ts), for a test Vault path. */
function rendered(ns: string, vaultPath: string, hook: Record<string, unknown>, secretName = "db"): HookBinding["hooks"] {
    const cfg: Record<string, unknown> = { ...loadStackFile("dev"), vaultPathPrefix: "/" };
    cfg.storeAllowedNamespaces = [...((cfg.storeAllowedNamespaces as string[] | undefined) ?? []), ns];
    cfg.passwords = [...(cfg.passwords as unknown[]), { name: "db-alt", length: 32, vaultPath, rotation: 0, consumers: [{ namespace: ns, secretName, secretKey: "password", refreshPolicy: "OnChange", hooks: [hook] }] }];
    return buildReconcilerPolicy(parseStackConfig(toRawConfig(cfg))).hooks.find((b) => b.source.namespace === ns)!.hooks;
}

describe("reconciler: alternating PostgreSQL users (issue 22 §1)", function () {
    let ns: string;
    let own: string;
    let rec: Running;
    let tokenDir: string;
    let fleet: Fleet | undefined;
    const canaries: string[] = [];
    const group = `app_${randomName("g").replace(/-/g, "_")}`;
    const [ra, rb] = [`${group}_a`, `${group}_b`];
    const vaultPath = `platform-secrets-test/${randomName("alt")}`;
    const report: string[] = [];

    before(async () => {
        ns = await createNamespace();
        own = await createNamespace({}, "rec-own");
        await writePolicy(own, { fanOut: [], hooks: [] });
        tokenDir = mkdtempSync(path.join(tmpdir(), "ps-vault-"));
        writeFileSync(path.join(tokenDir, "token"), getEnv().vault.token, { mode: 0o600 });
        rec = await startReconciler([ns], { vault: { addr: getEnv().vault.addr, auth: { method: "token-file", path: path.join(tokenDir, "token") } }, debounceMs: 200, ownNamespace: own });
    });
    after(async () => {
        await fleet?.stop();
        await rec?.stop();
        if (rec) for (const c of canaries) assert.ok(!rec.text().includes(c), "canary in logs");
        await superuser(async (c) => {
            for (const r of [ra, rb, group]) {
                await c.query(`DROP OWNED BY ${c.escapeIdentifier(r)}`).catch(() => undefined);
                await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(r)}`).catch(() => undefined);
            }
        });
        await deleteNamespaces([ns, own]);
        rmSync(tokenDir, { recursive: true, force: true });
        if (report.length) process.stdout.write(`\n      alternate vs single (failed logins, one connection per replica every 50 ms, 3 replicas replaced 1 s apart):\n${report.map((l) => `        ${l}`).join("\n")}\n`);
    });

    const stateOf = async () => (await admin()).request("GET", `/api/v1/namespaces/${own}/secrets/${hookStateName(`${ns}/db`)}`).catch(() => undefined);

    /** One rotation as ESO delivers it (Vault first, then the Secret), measured until the fleet moved and `old` is dead. */
    async function rotate(label: string, next: { password: string; username?: string }, old: [string, string], waitOldDead: boolean): Promise<{ failed: number; deadAfterMs?: number }> {
        const f = fleet!;
        await f.settled();
        f.resetStats();
        const rollouts = f.rolloutsSeen;
        await vaultWrite(vaultPath, next);
        const t0 = Date.now();
        await mutateSecret(ns, "db", (s) => {
            s.data = { password: b64(next.password), ...(next.username ? { username: b64(next.username) } : {}) };
        });
        await eventually(async () => (f.rolloutsSeen > rollouts ? true : undefined), 20_000, `${label}: consumers restarted`).catch(async (e) => {
            throw new Error(`${(e as Error).message}; hook state: ${(await stateOf())?.metadata.annotations?.["platform-secrets.io/hook-message"]}; last hook audits: ${JSON.stringify(auditLines(rec.lines).filter((l) => l.action === "hook").slice(-3).map((l) => l.reason))}`);
        });
        await f.settled();
        let deadAfterMs: number | undefined;
        if (waitOldDead) {
            await eventually(async () => ((await canLogin(old[0], old[1])) ? undefined : true), 30_000, `${label}: the previous value stops working`);
            deadAfterMs = Date.now() - t0;
        }
        // A few more attempts with the fleet on the new login only.
        await new Promise((r) => setTimeout(r, 500));
        const failed = f.stats.failed;
        const window = f.stats.firstFailAt !== undefined ? `, logins failing for ${((f.stats.lastFailAt! - f.stats.firstFailAt) / 1000).toFixed(1)} s` : "";
        report.push(`${label}: ${failed} failed of ${f.stats.attempts}${window}${deadAfterMs !== undefined ? `; previous value dead ${(deadAfterMs / 1000).toFixed(1)} s after the Secret changed` : ""}`);
        return { failed, ...(deadAfterMs !== undefined ? { deadAfterMs } : {}) };
    }

    it("single leaves a window of failed logins; the migration to alternate and an alternate rotation have none; the previous value dies after the drain; back to single works", async () => {
        const [v1, v2, v3, v4, v5] = [canaryValue(), canaryValue(), canaryValue(), canaryValue(), canaryValue()];
        canaries.push(v1, v2, v3, v4, v5);
        const pg = getEnv().postgres;
        // The single era: one login role that owns the application's objects.
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(group)} LOGIN PASSWORD ${c.escapeLiteral(v1)}`));
        await superuser((c) => c.query(`CREATE TABLE ${c.escapeIdentifier(`${group}_t`)} (x int); ALTER TABLE ${c.escapeIdentifier(`${group}_t`)} OWNER TO ${c.escapeIdentifier(group)}`));
        const single = { type: "postgres", host: pg.host, port: pg.port, database: pg.database, user: group, tls: { mode: "disable" } };
        await writePolicy(own, { fanOut: [], hooks: [{ source: { namespace: ns, name: "db" }, hooks: rendered(ns, vaultPath, single) }] });
        await vaultWrite(vaultPath, { password: v1 });
        await createSource(ns, "db", { password: v1 });
        const k = await admin();
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
            body: {
                metadata: { name: "api", annotations: { [ANNOTATION_RESTART_ON]: "auto" } },
                spec: { replicas: 3, selector: { matchLabels: { app: "api" } }, template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "c", image: "registry.invalid/x", envFrom: [{ secretRef: { name: "db" } }] }] } } },
            },
        });
        await eventually(async () => ((await k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/api`)).metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? true : undefined), 15_000, "consumer baseline");
        await eventually(async () => ((await stateOf())?.metadata.annotations?.["platform-secrets.io/hook-status"] === "ok" ? true : undefined), 15_000, "hook baseline");
        fleet = await Fleet.start({ ns, deployment: "api", secret: "db", replicas: 3, everyMs: 50, stepMs: 1000, defaultUser: group });

        const s = await rotate("single", { password: v2 }, [group, v1], false);
        assert.ok(s.failed > 0, "single: Pods that still hold the old value fail new logins until they are replaced");

        // Migration (docs/operations.md "Alternating PostgreSQL users"): the DBA creates the two login roles as
        // members of the role that owns the objects, and lets that role set their passwords once.
        await superuser(async (c) => {
            for (const r of [ra, rb]) {
                await c.query(`CREATE ROLE ${c.escapeIdentifier(r)} LOGIN IN ROLE ${c.escapeIdentifier(group)}`);
                await c.query(`ALTER ROLE ${c.escapeIdentifier(r)} SET ROLE ${c.escapeIdentifier(group)}`);
            }
            await c.query(`ALTER ROLE ${c.escapeIdentifier(group)} CREATEROLE`);
        });
        const alternate = { ...single, strategy: "alternate", roles: [ra, rb], drainSeconds: 60 };
        await writePolicy(own, { fanOut: [], hooks: [{ source: { namespace: ns, name: "db" }, hooks: rendered(ns, vaultPath, alternate) }] });
        // Rotation 3 makes roles[3 % 2] active (stacks/policy.ts activeRole).
        const m = await rotate("single → alternate (migration)", { password: v3, username: rb }, [group, v2], true);
        assert.equal(m.failed, 0, "the migration loses no login");
        assert.equal(await canLogin(rb, v3), true);
        for (const v of [v1, v2, v3]) assert.equal(await canLogin(ra, v), false, "the idle role opens with no value anyone held");
        // Objects created by a login role belong to the group (SET ROLE at login): privileges stay in one place.
        const { Client } = await import("pg");
        const c = new Client({ host: pg.host, port: pg.port, database: pg.database, user: rb, password: v3 });
        await c.connect();
        try {
            await c.query(`INSERT INTO ${c.escapeIdentifier(`${group}_t`)} VALUES (1)`);
        } finally {
            await c.end();
        }
        await superuser((su) => su.query(`ALTER ROLE ${su.escapeIdentifier(group)} NOCREATEROLE`));

        const a = await rotate("alternate", { password: v4, username: ra }, [rb, v3], true);
        assert.equal(a.failed, 0, "alternate: 0 failed logins");
        assert.equal(await canLogin(ra, v4), true);
        const state = await stateOf();
        for (const v of [v1, v2, v3, v4]) assert.ok(!JSON.stringify(state?.metadata ?? {}).includes(v), "no value in the state's metadata");
        assert.ok(auditLines(rec.lines).some((l) => l.action === "hook" && new RegExp(`previous role ${rb} retired`).test(l.reason)));

        // Back to single: the group role logs in again with the value it was retired with, and takes the new one.
        await writePolicy(own, { fanOut: [], hooks: [{ source: { namespace: ns, name: "db" }, hooks: rendered(ns, vaultPath, single) }] });
        await superuser((su) => su.query(`ALTER ROLE ${su.escapeIdentifier(group)} LOGIN`));
        await vaultWrite(vaultPath, { password: v5 });
        await mutateSecret(ns, "db", (sec) => (sec.data = { password: b64(v5) }));
        await eventually(async () => ((await canLogin(group, v5)) ? true : undefined), 20_000, "single again: the group role takes the new value");
    });

    it("refusals: a consumer Secret without the role's name, a missing login role, no right to set a password: nothing changed, the fix named", async () => {
        const pg = getEnv().postgres;
        const g2 = `${group}_r`;
        const v1 = canaryValue();
        const v2 = canaryValue();
        canaries.push(v1, v2);
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(g2)} LOGIN PASSWORD ${c.escapeLiteral(v1)}; CREATE ROLE ${c.escapeIdentifier(`${g2}_a`)} LOGIN IN ROLE ${c.escapeIdentifier(g2)}`));
        const name = "db-refused";
        const stateName = hookStateName(`${ns}/${name}`);
        const message = async (want: RegExp) =>
            eventually(async () => {
                const st = await (await admin()).request("GET", `/api/v1/namespaces/${own}/secrets/${stateName}`).catch(() => undefined);
                const msg = st?.metadata.annotations?.["platform-secrets.io/hook-message"] as string | undefined;
                return msg && want.test(msg) ? msg : undefined;
            }, 15_000, `hook message ${want}`);
        try {
            const vp = `${vaultPath}-refused`;
            await vaultWrite(vp, { password: v1 });
            const hook = { type: "postgres", host: pg.host, port: pg.port, database: pg.database, user: g2, tls: { mode: "disable" }, strategy: "alternate", roles: [`${g2}_a`, `${g2}_b`] };
            await writePolicy(own, { fanOut: [], hooks: [{ source: { namespace: ns, name }, hooks: rendered(ns, vp, hook, name) }] });
            // What an ExternalSecret without the username mapping writes: the password alone.
            await createSource(ns, name, { password: v2 });
            await message(/source has no "username" key: with strategy alternate the consumer Secret must carry the active login role/);
            await mutateSecret(ns, name, (s) => (s.data.username = b64(`${g2}_a`)));
            await message(new RegExp(`login role ${g2}_b missing: nothing was changed\\. Fix: CREATE ROLE ${g2}_b LOGIN IN ROLE ${g2}`));
            assert.equal(await canLogin(`${g2}_a`, v2), false, "nothing half-applied");
            await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(`${g2}_b`)} LOGIN IN ROLE ${c.escapeIdentifier(g2)}`));
            await message(new RegExp(`role ${g2} may not set the password of ${g2}_a \\(SQLSTATE 42501\\).*ALTER ROLE ${g2} CREATEROLE`));
            assert.equal(await canLogin(g2, v1), true, "the active role keeps its password");
            assert.equal(await canLogin(`${g2}_a`, v2), false, "nothing half-applied");
            // The one-time right given: the rotation goes through, and the consumers may restart.
            await superuser((c) => c.query(`ALTER ROLE ${c.escapeIdentifier(g2)} CREATEROLE`));
            await eventually(async () => ((await canLogin(`${g2}_a`, v2)) ? true : undefined), 20_000, "applied once the right exists");
        } finally {
            await superuser(async (c) => {
                for (const r of [`${g2}_a`, `${g2}_b`, g2]) await c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(r)}`).catch(() => undefined);
            });
        }
    });
});
