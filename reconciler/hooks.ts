import { createHash } from "node:crypto";
import type { Client as PgClient } from "pg";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, PREFIX, SecretLike, isManaged } from "../derive";
import { Logger } from "../lib/log";
import { HookSpec, JobRerunHook, PostgresHook, hookStateName, jobTemplateFrom } from "./hookspec";
import { ANNOTATION_HOOK_SOURCE_HASH, LABEL_HOOK_STATE } from "./keys";
import { isKubeError, KubeClient } from "./kube";
import { ReconcilerMetrics } from "./metrics";
import { Recorder, secretRef } from "./recorder";
import { scrub } from "./status";
import { VaultKv } from "./vault";
import { contentHash } from "./workloads";

const A_APPLIED = (i: number) => `${PREFIX}hook-${i}-applied`;
const A_STATUS = `${PREFIX}hook-status`;
const A_MESSAGE = `${PREFIX}hook-message`;
const D_PG_LAST = (i: number) => `pg-${i}-last`;
const D_JOB_TEMPLATE = (i: number) => `job-${i}-template`;

/** What a hook's "input changed" is measured on: the password value for postgres, the whole content for job-rerun. */
export function hookInputHash(source: SecretLike, hook: HookSpec): string {
    switch (hook.type) {
        case "postgres":
            return createHash("sha256").update(source.data?.[hook.passwordKey ?? "password"] ?? "").digest("hex").slice(0, 32);
        case "job-rerun":
            return contentHash(source).slice(0, 32);
        default: {
            const never: never = hook;
            throw new Error(`unknown hook ${JSON.stringify(never)}`);
        }
    }
}

/** Whether every hook has been applied for the source's current content (pure): consumers restart only then. */
export function hooksApplied(source: SecretLike, hooks: readonly HookSpec[], state: SecretLike | undefined): boolean {
    return hooks.every((h, i) => state?.metadata.annotations?.[A_APPLIED(i)] === hookInputHash(source, h));
}

export class HookError extends Error {
    constructor(readonly object: string, message: string) {
        super(message);
        this.name = "HookError";
    }
}

export interface HookDeps {
    client: KubeClient;
    recorder: Recorder;
    metrics: ReconcilerMetrics;
    logger: Logger;
    vault?: VaultKv;
    /** Overridable for tests; default connects with pg. */
    pgLogin?: (hook: PostgresHook, password: string) => Promise<PgClient>;
}

type Outcome = { applied: true; ran: boolean } | { applied: false; error: string };

/** Runs a source's init-time hooks, keeping per-hook state in a managed companion secret. */
export class HookRunner {
    constructor(private readonly d: HookDeps) {}

    async getState(namespace: string, sourceName: string): Promise<any | undefined> {
        try {
            return await this.d.client.request("GET", `/api/v1/namespaces/${namespace}/secrets/${hookStateName(sourceName)}`);
        } catch (e) {
            if (isKubeError(e, 404)) return undefined;
            throw e;
        }
    }

    /** Runs pending hooks; returns true when all are applied. Throws HookError (retried by the queue) on failure. */
    async run(source: any, hooks: readonly HookSpec[]): Promise<{ allApplied: boolean; ranAny: boolean }> {
        const ns = source.metadata.namespace as string;
        const srcKey = `${ns}/${source.metadata.name}`;
        const state = await this.getState(ns, source.metadata.name);
        if (state && !isManaged(state)) throw new HookError(srcKey, `${srcKey}: hook state secret ${ns}/${hookStateName(source.metadata.name)} exists but is not managed by platform-secrets; delete or rename it`);
        if (hooksApplied(source, hooks, state)) return { allApplied: true, ranAny: false };
        const annotations: Record<string, string> = { ...(state?.metadata?.annotations ?? {}) };
        const data: Record<string, string> = { ...(state?.data ?? {}) };
        let failure: string | undefined;
        let ranAny = false;
        for (let i = 0; i < hooks.length; i++) {
            const hook = hooks[i];
            const hash = hookInputHash(source, hook);
            if (annotations[A_APPLIED(i)] === hash) continue;
            const outcome = await this.runOne(source, hook, i, annotations[A_APPLIED(i)] === undefined, data);
            this.d.metrics.hookRuns.inc({ hook: hook.type, result: outcome.applied ? "ok" : "error" });
            if (outcome.applied) {
                annotations[A_APPLIED(i)] = hash;
                ranAny ||= outcome.ran;
                this.d.recorder.audit("hook", srcKey, outcome.ran ? `${hook.type} hook applied` : `${hook.type} hook baseline recorded`, { hook: hook.type, sourceHash: hash });
            } else {
                failure = outcome.error;
                this.d.recorder.audit("hook", srcKey, `${hook.type} hook failed: ${outcome.error}`, { hook: hook.type, sourceHash: hash, result: "error" });
                this.d.recorder.event(secretRef(source), "Warning", "HookFailed", `${hook.type} hook: ${outcome.error}`);
                break;
            }
        }
        annotations[A_STATUS] = failure ? "error" : "ok";
        annotations[A_MESSAGE] = failure ?? "all hooks applied";
        await this.saveState(ns, source.metadata.name, state, annotations, data);
        if (failure) throw new HookError(srcKey, `${srcKey}: ${failure}`);
        if (ranAny) this.d.recorder.event(secretRef(source), "Normal", "HooksApplied", `init-time hooks applied for the new content`);
        return { allApplied: true, ranAny };
    }

    private async saveState(ns: string, sourceName: string, live: any | undefined, annotations: Record<string, string>, data: Record<string, string>): Promise<void> {
        const name = hookStateName(sourceName);
        const body = {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name, namespace: ns, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LABEL_HOOK_STATE]: "true" }, annotations, ...(live ? { resourceVersion: live.metadata.resourceVersion } : {}) },
            type: "Opaque",
            data,
        };
        if (live) await this.d.client.request("PUT", `/api/v1/namespaces/${ns}/secrets/${name}`, { body, object: `${ns}/${name}` });
        else await this.d.client.request("POST", `/api/v1/namespaces/${ns}/secrets`, { body, object: `${ns}/${name}` });
    }

    private async runOne(source: any, hook: HookSpec, i: number, firstSight: boolean, data: Record<string, string>): Promise<Outcome> {
        switch (hook.type) {
            case "postgres":
                return this.postgres(source, hook, i, data);
            case "job-rerun":
                return this.jobRerun(source, hook, i, firstSight, data);
            default: {
                const never: never = hook;
                throw new Error(`unknown hook ${JSON.stringify(never)}`);
            }
        }
    }

    private async login(hook: PostgresHook, password: string): Promise<PgClient> {
        if (this.d.pgLogin) return this.d.pgLogin(hook, password);
        // pg is loaded on first use: it adds ~14 MiB of RSS that clusters without postgres hooks never need.
        const { Client } = require("pg") as typeof import("pg");
        const c = new Client({ host: hook.host, port: hook.port ?? 5432, database: hook.database ?? "postgres", user: hook.user, password, ssl: hook.ssl ? { rejectUnauthorized: true } : undefined, connectionTimeoutMillis: 5000 });
        c.on("error", () => undefined);
        await c.connect();
        return c;
    }

    private async canLogin(hook: PostgresHook, password: string): Promise<boolean | "error"> {
        try {
            const c = await this.login(hook, password);
            await c.end();
            return true;
        } catch (e: any) {
            // 28P01 invalid_password, 28000 invalid_authorization_specification: the password is wrong; anything else is an outage.
            return e?.code === "28P01" || e?.code === "28000" ? false : "error";
        }
    }

    /**
     * Makes the role's password equal the source's: no-op when the new one already works; otherwise log in with a
     * previous value (Vault KV v2 version current-1, or the value we applied last) and ALTER USER.
     */
    private async postgres(source: any, hook: PostgresHook, i: number, data: Record<string, string>): Promise<Outcome> {
        const key = hook.passwordKey ?? "password";
        const b64 = source.data?.[key];
        if (!b64) return { applied: false, error: `source has no "${key}" key for the postgres hook (role ${hook.user})` };
        const next = Buffer.from(b64, "base64").toString("utf8");
        const now = await this.canLogin(hook, next);
        if (now === "error") return { applied: false, error: `cannot reach PostgreSQL at ${hook.host}:${hook.port ?? 5432}` };
        if (now === true) {
            data[D_PG_LAST(i)] = b64;
            return { applied: true, ran: false };
        }
        const candidates: { from: string; value: string }[] = [];
        if (this.d.vault && hook.vault) {
            const mount = hook.vault.mount ?? "secret";
            const vkey = hook.vault.key ?? key;
            try {
                const cur = await this.d.vault.currentVersion(mount, hook.vault.path);
                if (cur !== undefined) {
                    for (const v of [cur - 1, cur]) {
                        const val = await this.d.vault.readVersion(mount, hook.vault.path, v, vkey);
                        if (val !== undefined) candidates.push({ from: `vault ${mount}/${hook.vault.path} version ${v}`, value: val });
                    }
                }
            } catch (e) {
                this.d.logger.warn({ object: `${source.metadata.namespace}/${source.metadata.name}`, err: String(e) }, "vault read for the previous password failed");
            }
        }
        if (data[D_PG_LAST(i)]) candidates.push({ from: "last applied value", value: Buffer.from(data[D_PG_LAST(i)], "base64").toString("utf8") });
        const tried: string[] = [];
        for (const c of candidates) {
            if (c.value === next) continue;
            tried.push(c.from);
            let client: PgClient;
            try {
                client = await this.login(hook, c.value);
            } catch {
                continue;
            }
            try {
                await client.query(`ALTER USER ${client.escapeIdentifier(hook.user)} WITH PASSWORD ${client.escapeLiteral(next)}`);
            } catch (e: any) {
                return { applied: false, error: scrub(`ALTER USER ${hook.user} failed (${e?.code ?? "unknown"})`, [next, c.value]) };
            } finally {
                await client.end().catch(() => undefined);
            }
            if ((await this.canLogin(hook, next)) !== true) return { applied: false, error: `ALTER USER ${hook.user} ran but the new password does not log in` };
            data[D_PG_LAST(i)] = b64;
            return { applied: true, ran: true };
        }
        return { applied: false, error: `cannot log in as ${hook.user} with the new password nor any previous one (tried: ${tried.join(", ") || "none available; configure the hook's vault path"})` };
    }

    /** Jobs are immutable: delete and create again from the kept template (the live Job minus generated fields). */
    private async jobRerun(source: any, hook: JobRerunHook, i: number, firstSight: boolean, data: Record<string, string>): Promise<Outcome> {
        const ns = hook.namespace ?? source.metadata.namespace;
        const path = `/apis/batch/v1/namespaces/${ns}/jobs/${hook.job}`;
        const object = `${ns}/${hook.job}`;
        let live: any;
        try {
            live = await this.d.client.request("GET", path, { object });
        } catch (e) {
            if (!isKubeError(e, 404)) throw e;
        }
        if (live) data[D_JOB_TEMPLATE(i)] = Buffer.from(JSON.stringify(jobTemplateFrom(live))).toString("base64");
        if (firstSight && live) return { applied: true, ran: false };
        const stored = data[D_JOB_TEMPLATE(i)];
        if (!stored) return { applied: false, error: `job ${object} does not exist and no template was kept; create the Job once` };
        const template = JSON.parse(Buffer.from(stored, "base64").toString("utf8"));
        if (live) {
            await this.d.client.request("DELETE", path, { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background", preconditions: { uid: live.metadata.uid } }, object });
            const deadline = Date.now() + 30_000;
            for (;;) {
                try {
                    await this.d.client.request("GET", path, { object });
                } catch (e) {
                    if (isKubeError(e, 404)) break;
                    throw e;
                }
                if (Date.now() > deadline) return { applied: false, error: `job ${object} still exists 30 s after deletion` };
                await new Promise((r) => setTimeout(r, 100));
            }
        }
        const hash = hookInputHash(source, hook);
        template.metadata.annotations = { ...(template.metadata.annotations ?? {}), [ANNOTATION_HOOK_SOURCE_HASH]: hash };
        await this.d.client.request("POST", `/apis/batch/v1/namespaces/${ns}/jobs`, { body: template, object });
        this.d.recorder.audit("hook", object, "job re-created for new source content", { sourceHash: hash });
        return { applied: true, ran: true };
    }
}
