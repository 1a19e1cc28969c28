import assert from "node:assert/strict";
import { Client } from "pg";
import { ANNOTATION_HOOKS } from "../../../derive";
import { ANNOTATION_HOOK_SOURCE_HASH, ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH } from "../../../reconciler/keys";
import { canaryValue, randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin, auditLines, createNamespace, createSource, deleteNamespaces, eventually, mutateSecret, Running, startReconciler, b64 } from "./helpers";

async function vaultWrite(path: string, data: Record<string, string>): Promise<void> {
    const { addr, token } = getEnv().vault;
    const res = await fetch(`${addr}/v1/secret/data/${path}`, { method: "POST", headers: { "X-Vault-Token": token, "Content-Type": "application/json" }, body: JSON.stringify({ data }) });
    if (!res.ok) throw new Error(`vault write ${path}: HTTP ${res.status}`);
}

async function canLogin(user: string, password: string): Promise<boolean> {
    const pg = getEnv().postgres;
    const c = new Client({ host: pg.host, port: pg.port, database: pg.database, user, password });
    c.on("error", () => undefined);
    try {
        await c.connect();
        await c.end();
        return true;
    } catch {
        return false;
    }
}

async function superuser<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const pg = getEnv().postgres;
    const c = new Client({ host: pg.host, port: pg.port, database: pg.database, user: pg.user, password: pg.password });
    await c.connect();
    try {
        return await fn(c);
    } finally {
        await c.end();
    }
}

describe("reconciler: init-time hooks (seed 004)", function () {
    let ns: string;
    let rec: Running;
    const canaries: string[] = [];
    const role = `app_${randomName("r").replace(/-/g, "_")}`;
    const vaultPath = `platform-secrets-test/${randomName("db")}`;

    before(async () => {
        ns = await createNamespace();
        const { vault } = getEnv();
        rec = await startReconciler([ns], { vault, debounceMs: 200 });
    });
    after(async () => {
        await rec?.stop();
        if (rec) for (const c of canaries) assert.ok(!rec.text().includes(c), "canary in logs");
        await superuser((c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`)).catch(() => undefined);
        await deleteNamespaces([ns]);
    });

    it("postgres: rotates the role's password with ALTER USER using the previous value from Vault KV v2, then restarts consumers", async () => {
        const pg = getEnv().postgres;
        const v1 = canaryValue();
        const v2 = canaryValue();
        canaries.push(v1, v2);
        await vaultWrite(vaultPath, { password: v1 });
        await superuser((c) => c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN PASSWORD ${c.escapeLiteral(v1)}`));
        const hooks = [{ type: "postgres", host: pg.host, port: pg.port, database: pg.database, user: role, vault: { mount: "secret", path: vaultPath } }];
        await createSource(ns, "db-app", { password: v1 }, { annotations: { [ANNOTATION_HOOKS]: JSON.stringify(hooks) } });
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
            const hooks = [{ type: "postgres", host: pg.host, port: pg.port, database: pg.database, user: lonely }];
            await createSource(ns, "db-lonely", { password: v1 }, { annotations: { [ANNOTATION_HOOKS]: JSON.stringify(hooks) } });
            const k = await admin();
            await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
                body: {
                    metadata: { name: "lonely", annotations: { [ANNOTATION_RESTART_ON]: "db-lonely" } },
                    spec: { selector: { matchLabels: { app: "lonely" } }, template: { metadata: { labels: { app: "lonely" } }, spec: { containers: [{ name: "c", image: "registry.invalid/x" }] } } },
                },
            });
            const stateOf = () => k.request("GET", `/api/v1/namespaces/${ns}/secrets/db-lonely.hook-state`).catch(() => undefined);
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
            await new Promise((r) => setTimeout(r, 1000));
            const d = await k.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/lonely`);
            assert.equal(d.metadata.generation, before.metadata.generation, "no restart on hook failure");
            assert.equal(d.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined);
            for (const v of [v1, drifted, v2]) assert.ok(!JSON.stringify(state.metadata).includes(v), "no value in the status annotations");
        } finally {
            await superuser((c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(lonely)}`));
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
        await createSource(ns, "bootstrap-token", { token: "t1" }, { annotations: { [ANNOTATION_HOOKS]: JSON.stringify([{ type: "job-rerun", job: "bootstrap" }]) } });
        await eventually(async () => auditLines(rec.lines).some((a) => a.action === "hook" && a.object === `${ns}/bootstrap-token` && /baseline/.test(a.reason)) || undefined, 15_000, "job baseline");
        await mutateSecret(ns, "bootstrap-token", (s) => (s.data.token = b64("t2")));
        const rerun = await eventually(async () => {
            const j = await k.request("GET", `/apis/batch/v1/namespaces/${ns}/jobs/bootstrap`).catch(() => undefined);
            return j && j.metadata.uid !== job.metadata.uid ? j : undefined;
        }, 30_000, "job re-created");
        assert.ok(rerun.metadata.annotations[ANNOTATION_HOOK_SOURCE_HASH]);
        assert.equal(rerun.metadata.labels.app, "bootstrap");
        assert.equal(rerun.spec.template.spec.containers[0].envFrom[0].secretRef.name, "bootstrap-token");
    });
});
