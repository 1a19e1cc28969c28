import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { hookStateName } from "../../../reconciler/hooks/hooks";
import { HookBinding } from "../../../reconciler/trust/policy";
import { parseStackConfig } from "../../../stacks/config";
import { buildReconcilerPolicy } from "../../../stacks/policy";
import { loadStackFile, toRawConfig } from "../../unit/stacks/harness";
import { ANNOTATION_HOOK_SOURCE_HASH, ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { canaryValue, randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin, auditLines, canLogin, createNamespace, createSource, deleteNamespaces, eventually, mutateSecret, Running, startReconciler, b64, superuser, writePolicy } from "./helpers";

async function vaultWrite(path: string, data: Record<string, string>): Promise<void> {
    const { addr, token } = getEnv().vault;
    const res = await fetch(`${addr}/v1/secret/data/${path}`, { method: "POST", headers: { "X-Vault-Token": token, "Content-Type": "application/json" }, body: JSON.stringify({ data }) });
    if (!res.ok) throw new Error(`vault write ${path}: HTTP ${res.status}`);
}

/** A loopback TCP proxy in front of the real PostgreSQL: `down()` is a network outage, `up()` ends it. */
async function pgProxy(target: { host: string; port: number }): Promise<{ port: number; down: () => Promise<void>; up: () => Promise<void>; close: () => Promise<void> }> {
    const net = await import("node:net");
    const sockets = new Set<import("node:net").Socket>();
    const server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
            sockets.add(s);
            s.on("error", () => undefined);
            s.on("close", () => sockets.delete(s));
        }
        client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as import("node:net").AddressInfo).port;
    const down = () => new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
    });
    return { port, down, up: () => new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r())), close: down };
}



describe("reconciler: init-time hooks (seed 004)", function () {
    let ns: string;
    let own: string;
    let rec: Running;
    let tokenDir: string;
    const bindings: HookBinding[] = [];
    /** Hooks are administrator policy: the stack renders them into the policy ConfigMap of the reconciler's namespace. */
    const declare = async (name: string, hooks: HookBinding["hooks"]) => {
        bindings.push({ source: { namespace: ns, name }, hooks });
        await writePolicy(own, { fanOut: [], hooks: bindings });
    };
    const canaries: string[] = [];
    const role = `app_${randomName("r").replace(/-/g, "_")}`;
    const vaultPath = `platform-secrets-test/${randomName("db")}`;

    before(async () => {
        ns = await createNamespace();
        own = await createNamespace({}, "rec-own");
        await writePolicy(own, { fanOut: [], hooks: [] });
        // The Vault token reaches the reconciler as a file (a mounted Secret in the cluster), never as a flag.
        tokenDir = mkdtempSync(path.join(tmpdir(), "ps-vault-"));
        const tokenFile = path.join(tokenDir, "token");
        writeFileSync(tokenFile, getEnv().vault.token, { mode: 0o600 });
        rec = await startReconciler([ns], { vault: { addr: getEnv().vault.addr, auth: { method: "token-file", path: tokenFile } }, debounceMs: 200, ownNamespace: own });
    });
    after(async () => {
        await rec?.stop();
        if (rec) for (const c of canaries) assert.ok(!rec.text().includes(c), "canary in logs");
        await superuser((c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`)).catch(() => undefined);
        await deleteNamespaces([ns, own]);
        rmSync(tokenDir, { recursive: true, force: true });
    });

    it("postgres: rotates the role's password with ALTER USER using the previous value from Vault KV v2, then restarts consumers", async () => {
        const pg = getEnv().postgres;
        const v1 = canaryValue();
        const v2 = canaryValue();
        canaries.push(v1, v2);
        await vaultWrite(vaultPath, { password: v1 });
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN PASSWORD ${c.escapeLiteral(v1)}`));
        // Declared as a stack owner declares it (seed 004): a password in the stack config whose consumer has a
        // postgres hook with no vault path; the stack's own code renders the policy (the previous version of the
        // password's OWN path logs in).
        const stackCfg: Record<string, unknown> = { ...loadStackFile("dev"), vaultPathPrefix: "/" }; // the random test path as written
        stackCfg.storeAllowedNamespaces = [...((stackCfg.storeAllowedNamespaces as string[] | undefined) ?? []), ns];
        stackCfg.passwords = [...(stackCfg.passwords as unknown[]), { name: "db-app", length: 32, vaultPath, rotation: 0, consumers: [{ namespace: ns, secretName: "db-app", secretKey: "password", refreshPolicy: "OnChange", hooks: [{ type: "postgres", host: pg.host, port: pg.port, database: pg.database, user: role, tls: { mode: "disable" } }] }] }];
        const binding = buildReconcilerPolicy(parseStackConfig(toRawConfig(stackCfg))).hooks.find((b) => b.source.namespace === ns)!;
        assert.deepEqual(binding.hooks[0], { type: "postgres", host: pg.host, port: pg.port, database: pg.database, user: role, tls: { mode: "disable" }, passwordKey: "password", vault: { mount: "secret", path: vaultPath, key: "password" } });
        await declare("db-app", binding.hooks);
        await createSource(ns, "db-app", { password: v1 });
        const k = await admin();
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
            body: {
                metadata: { name: "api", annotations: { [ANNOTATION_RESTART_ON]: "auto" } },
                spec: { selector: { matchLabels: { app: "api" } }, template: { metadata: { labels: { app: "api" } }, spec: { containers: [{ name: "c", image: "registry.invalid/x", envFrom: [{ secretRef: { name: "db-app" } }] }] } } },
            },
        });
        await eventually(async () => auditLines(rec.lines).some((a) => a.action === "hook" && a.object === `${ns}/db-app` && /baseline/.test(a.reason)) || undefined, 15_000, "hook baseline");
        // The consumer's baseline hash must be recorded before the rotation, or the rotation would become its baseline.
        await eventually(async () => {
            const d = await k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/api`);
            return d.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? true : undefined;
        }, 10_000, "consumer baseline recorded");

        await vaultWrite(vaultPath, { password: v2 });
        await mutateSecret(ns, "db-app", (s) => (s.data.password = b64(v2)));
        await eventually(async () => ((await canLogin(role, v2)) ? true : undefined), 15_000, "login with v2 works");
        assert.equal(await canLogin(role, v1), false, "v1 no longer works");
        await eventually(async () => {
            const d = await k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/api`);
            return d.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? true : undefined;
        }, 10_000, "consumer restarted after the hook");
        assert.ok(auditLines(rec.lines).some((a) => a.action === "hook" && /applied/.test(a.reason)));
    });

    it("postgres: when no previous value logs in, nothing restarts and the status carries the error", async () => {
        const pg = getEnv().postgres;
        const lonely = `${role}_x`;
        const v1 = canaryValue();
        const drifted = canaryValue();
        const v2 = canaryValue();
        canaries.push(v1, drifted, v2);
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(lonely)} LOGIN PASSWORD ${c.escapeLiteral(v1)}`));
        try {
            await declare("db-lonely", [{ type: "postgres", host: pg.host, port: pg.port, database: pg.database, user: lonely, tls: { mode: "disable" } }]);
            await createSource(ns, "db-lonely", { password: v1 });
            const k = await admin();
            await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
                body: {
                    metadata: { name: "lonely", annotations: { [ANNOTATION_RESTART_ON]: "db-lonely" } },
                    spec: { selector: { matchLabels: { app: "lonely" } }, template: { metadata: { labels: { app: "lonely" } }, spec: { containers: [{ name: "c", image: "registry.invalid/x" }] } } },
                },
            });
            const stateOf = () => k.request("GET", `/api/v1/namespaces/${own}/secrets/${hookStateName(`${ns}/db-lonely`)}`).catch(() => undefined);
            await eventually(async () => ((await stateOf())?.metadata.annotations?.["platform-secrets.io/hook-status"] === "ok" ? true : undefined), 15_000, "hook baseline ok");
            const before = await eventually(async () => {
                const d = await k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/lonely`);
                return d.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? d : undefined;
            }, 10_000, "consumer baseline");
            // The database drifted to a value nobody kept: neither the new nor any previous value logs in.
            await superuser((c) => c.query(`ALTER ROLE ${c.escapeIdentifier(lonely)} PASSWORD ${c.escapeLiteral(drifted)}`));
            await mutateSecret(ns, "db-lonely", (s) => (s.data.password = b64(v2)));
            const state = await eventually(async () => {
                const s = await stateOf();
                return s?.metadata.annotations?.["platform-secrets.io/hook-status"] === "error" ? s : undefined;
            }, 15_000, "hook error recorded");
            assert.match(state.metadata.annotations["platform-secrets.io/hook-message"], new RegExp(lonely));
            assert.match(state.metadata.annotations["platform-secrets.io/hook-message"], /\(tried: last applied value\); no Vault path for this hook\. Fix: give the reconciler Vault access/);
            await new Promise((r) => setTimeout(r, 1000));
            const d = await k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/lonely`);
            assert.equal(d.metadata.generation, before.metadata.generation, "no restart on hook failure");
            assert.equal(d.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined);
            for (const v of [v1, drifted, v2]) assert.ok(!JSON.stringify(state.metadata).includes(v), "no value in the status annotations");
        } finally {
            await superuser((c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(lonely)}`));
        }
    });

    it("postgres: a password created anew (Vault has no earlier version) fails naming that and the one-time fix", async () => {
        // What a destroyed and re-created stack does: a new random password at version 1 of a new path, while the
        // database role keeps the old one, which nobody has any more.
        const pg = getEnv().postgres;
        const user = `${role}_n`;
        const vp = `platform-secrets-test/${randomName("db-new")}`;
        const old = canaryValue();
        const fresh = canaryValue();
        canaries.push(old, fresh);
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(user)} LOGIN PASSWORD ${c.escapeLiteral(old)}`));
        try {
            await vaultWrite(vp, { password: fresh });
            await declare("db-new", [{ type: "postgres", host: pg.host, port: pg.port, database: pg.database, user, vault: { path: vp }, tls: { mode: "disable" } }]);
            await createSource(ns, "db-new", { password: fresh });
            const k = await admin();
            const state = await eventually(async () => {
                const st = await k.request("GET", `/api/v1/namespaces/${own}/secrets/${hookStateName(`${ns}/db-new`)}`).catch(() => undefined);
                return st?.metadata.annotations?.["platform-secrets.io/hook-status"] === "error" ? st : undefined;
            }, 15_000, "hook error recorded");
            const msg = state.metadata.annotations["platform-secrets.io/hook-message"] as string;
            assert.match(msg, new RegExp(`vault secret/${vp} has no readable version before 1: the password was created anew`));
            assert.match(msg, new RegExp(`Fix: set the role's password once by hand \\(ALTER ROLE ${user} PASSWORD`));
            for (const v of [old, fresh]) assert.ok(!JSON.stringify(state.metadata).includes(v), "no value in the status annotations");
        } finally {
            await superuser((c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(user)}`));
        }
    });

    it("job-rerun: a Job is re-created from its template when its input secret changes", async () => {
        const k = await admin();
        const job = await k.request("POST", `/apis/batch/v1/namespaces/${ns}/jobs`, {
            body: {
                metadata: { name: "bootstrap", labels: { app: "bootstrap" } },
                spec: { backoffLimit: 0, template: { metadata: { labels: { app: "bootstrap" } }, spec: { restartPolicy: "Never", containers: [{ name: "c", image: "registry.invalid/x", envFrom: [{ secretRef: { name: "bootstrap-token" } }] }] } } },
            },
        });
        await declare("bootstrap-token", [{ type: "job-rerun", job: "bootstrap" }]);
        await createSource(ns, "bootstrap-token", { token: "t1" });
        await eventually(async () => auditLines(rec.lines).some((a) => a.action === "hook" && a.object === `${ns}/bootstrap-token` && /baseline/.test(a.reason)) || undefined, 15_000, "job baseline");
        await mutateSecret(ns, "bootstrap-token", (s) => (s.data.token = b64("t2")));
        const rerun = await eventually(async () => {
            const j = await k.request("GET", `/apis/batch/v1/namespaces/${ns}/jobs/bootstrap`).catch(() => undefined);
            return j && j.metadata.uid !== job.metadata.uid ? j : undefined;
        }, 30_000, "job re-created");
        assert.ok(rerun.metadata.annotations[ANNOTATION_HOOK_SOURCE_HASH]);
        assert.equal(rerun.metadata.labels.app, "bootstrap");
        assert.equal(rerun.spec.template.spec.containers[0].envFrom[0].secretRef.name, "bootstrap-token");

        // The template is the Job as first seen: a Job someone puts in its place later does not change what is re-run.
        await k.request("DELETE", `/apis/batch/v1/namespaces/${ns}/jobs/bootstrap`, { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" } });
        await eventually(async () => ((await k.request("GET", `/apis/batch/v1/namespaces/${ns}/jobs/bootstrap`).catch(() => undefined)) ? undefined : true), 30_000, "job gone");
        const swapped = await k.request("POST", `/apis/batch/v1/namespaces/${ns}/jobs`, {
            body: { metadata: { name: "bootstrap" }, spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "registry.invalid/swapped" }] } } } },
        });
        await mutateSecret(ns, "bootstrap-token", (s) => (s.data.token = b64("t3")));
        const third = await eventually(async () => {
            const j = await k.request("GET", `/apis/batch/v1/namespaces/${ns}/jobs/bootstrap`).catch(() => undefined);
            return j && j.metadata.uid !== swapped.metadata.uid ? j : undefined;
        }, 30_000, "job re-created again");
        assert.equal(third.spec.template.spec.containers[0].image, "registry.invalid/x", "the kept template, not the swapped Job");
    });

    it("job-rerun from a suspended CronJob: a new Job per rotation even after the bootstrap Job was removed; a clear error without it", async () => {
        const k = await admin();
        await k.request("POST", `/apis/batch/v1/namespaces/${ns}/cronjobs`, {
            body: {
                metadata: { name: "seed-db" },
                spec: { schedule: "0 0 1 1 *", suspend: true, jobTemplate: { metadata: { labels: { app: "seed" } }, spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "registry.invalid/seed" }] } } } } },
            },
        });
        await declare("seed-input", [{ type: "job-rerun", cronJob: "seed-db" }]);
        await createSource(ns, "seed-input", { token: "s1" });
        await eventually(async () => auditLines(rec.lines).some((a) => a.action === "hook" && a.object === `${ns}/seed-input` && /baseline/.test(a.reason)) || undefined, 15_000, "cronjob baseline");
        await mutateSecret(ns, "seed-input", (s) => (s.data.token = b64("s2")));
        const job = await eventually(async () => {
            const jobs = await k.request("GET", `/apis/batch/v1/namespaces/${ns}/jobs`);
            return jobs.items.find((j: { metadata: { name: string } }) => j.metadata.name.startsWith("seed-db-"));
        }, 15_000, "job created from the CronJob");
        assert.equal(job.metadata.labels.app, "seed");
        assert.equal(job.metadata.ownerReferences[0].kind, "CronJob");

        // Without the CronJob the hook fails loudly with the fix, and keeps retrying.
        await k.request("DELETE", `/apis/batch/v1/namespaces/${ns}/cronjobs/seed-db`);
        await mutateSecret(ns, "seed-input", (s) => (s.data.token = b64("s3")));
        await eventually(async () => auditLines(rec.lines).some((a) => a.action === "hook" && a.object === `${ns}/seed-input` && /CronJob .*seed-db not found; create it/.test(a.reason)) || undefined, 15_000, "clear error");

        // A CronJob that runs on its schedule is refused (it would run the bootstrap by itself): no Job, the fix named.
        await k.request("POST", `/apis/batch/v1/namespaces/${ns}/cronjobs`, {
            body: {
                metadata: { name: "seed-db" },
                spec: { schedule: "0 0 1 1 *", suspend: false, jobTemplate: { spec: { backoffLimit: 0, template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "registry.invalid/seed" }] } } } } },
            },
        });
        await mutateSecret(ns, "seed-input", (s) => (s.data.token = b64("s4")));
        await eventually(async () => auditLines(rec.lines).some((a) => a.action === "hook" && a.object === `${ns}/seed-input` && /CronJob .*seed-db is not suspended; set spec\.suspend: true/.test(a.reason)) || undefined, 15_000, "unsuspended refused");
        const jobs = await k.request("GET", `/apis/batch/v1/namespaces/${ns}/jobs`);
        // (The first Job went with the deleted CronJob, its owner: the garbage collector removes it.)
        assert.deepEqual(jobs.items.map((j: { metadata: { name: string } }) => j.metadata.name).filter((n: string) => n.startsWith("seed-db-") && n !== job.metadata.name), [], "no Job from an unsuspended CronJob");
    });

    it("postgres outage during a rotation: retried until the database is back, then converges without any new event", async () => {
        const pg = getEnv().postgres;
        const proxy = await pgProxy(pg);
        const user = `${role}_o`;
        const v1 = canaryValue();
        const v2 = canaryValue();
        canaries.push(v1, v2);
        const vp = `${vaultPath}-outage`;
        await vaultWrite(vp, { password: v1 });
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(user)} LOGIN PASSWORD ${c.escapeLiteral(v1)}`));
        try {
            await declare("db-outage", [{ type: "postgres", host: "127.0.0.1", port: proxy.port, database: pg.database, user, vault: { path: vp }, tls: { mode: "disable" } }]);
            await createSource(ns, "db-outage", { password: v1 });
            await eventually(async () => auditLines(rec.lines).some((a) => a.action === "hook" && a.object === `${ns}/db-outage` && /baseline/.test(a.reason)) || undefined, 15_000, "baseline");
            await proxy.down();
            await vaultWrite(vp, { password: v2 });
            await mutateSecret(ns, "db-outage", (s) => (s.data.password = b64(v2)));
            await eventually(async () => auditLines(rec.lines).filter((a) => a.action === "hook" && a.object === `${ns}/db-outage` && a.result === "error").length >= 2 || undefined, 20_000, "retried while down");
            assert.equal(await canLogin(user, v2), false);
            await proxy.up();
            // Nothing changes in the cluster from here on: only the retry can bring the database to v2.
            await eventually(async () => ((await canLogin(user, v2)) ? true : undefined), 20_000, "converged after the outage");
            const m = await rec.r.metrics.registry.getSingleMetricAsString("platform_secrets_keys_in_retry");
            assert.match(m, /platform_secrets_keys_in_retry \d+/);
        } finally {
            await proxy.close().catch(() => undefined);
            await superuser((c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(user)}`));
        }
    });
});
