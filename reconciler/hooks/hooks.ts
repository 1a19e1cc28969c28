import { createHash } from "node:crypto";
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, PREFIX } from "../../derive";
import { Logger } from "../../lib/log";
import { Fingerprinter } from "../fingerprint";
import { HookSpec, JobRerunHook, jobFromCronJob, jobTemplateFrom, PostgresHook } from "./hookspec";
import { ANNOTATION_HOOK_SOURCE, ANNOTATION_HOOK_SOURCE_HASH, ANNOTATION_HOOKS_APPLIED_CONTENT, LABEL_HOOK_STATE } from "../keys";
import { isKubeError, KubeClient } from "../../lib/kube";
import { Clock, realClock, sleep } from "../machinery/clock";
import { ReconcilerMetrics } from "../machinery/metrics";
import { Secret } from "../model";
import { alterRolePassword, canLogin, countSessions, pgConnect } from "./postgres";
import { applyAlternate, knownPassword, retireIfDrained, retirePending } from "./alternate";
import { Recorder, secretRef } from "../machinery/recorder";
import { scrub } from "../derived/status";
import { VaultKv } from "./vault";
import { contentHash } from "../model";

/**
 * Hook state is keyed by a slot: the hook's identity (what it acts on), not its position, so reordering or inserting
 * hooks in the policy does not hand one hook's applied fingerprint or last password to another (issue 21 §6).
 * State written by earlier versions under the position ("0", "1", ...) is moved to the slot at the next run.
 */
export function hookSlot(hook: HookSpec): string {
    const identity =
        hook.type === "postgres"
            ? { type: hook.type, host: hook.host, port: hook.port ?? 5432, database: hook.database ?? "postgres", user: hook.user }
            : { type: hook.type, job: hook.job ?? null, cronJob: hook.cronJob ?? null };
    // "h" + hex: never all digits, so a slot cannot be read as a legacy position.
    return `h${createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 12)}`;
}

const A_APPLIED = (slot: string) => `${PREFIX}hook-${slot}-applied`;
const A_STATUS = `${PREFIX}hook-status`;
const A_MESSAGE = `${PREFIX}hook-message`;
const D_PG_LAST = (slot: string) => `pg-${slot}-last`;
const D_JOB_TEMPLATE = (slot: string) => `job-${slot}-template`;

/** Moves state kept under hook positions (earlier versions) to the hooks' slots, in place; true when anything moved. */
export function migrateHookState(hooks: readonly HookSpec[], annotations: Record<string, string>, data: Record<string, string>): boolean {
    let moved = false;
    hooks.forEach((h, i) => {
        const slot = hookSlot(h);
        for (const [m, key] of [[annotations, A_APPLIED], [data, D_PG_LAST], [data, D_JOB_TEMPLATE]] as const) {
            const old = key(String(i));
            if (m[old] === undefined) continue;
            if (m[key(slot)] === undefined) m[key(slot)] = m[old]!;
            delete m[old];
            moved = true;
        }
    });
    return moved;
}

export class HookError extends Error {
    constructor(readonly object: string, message: string) {
        super(message);
        this.name = "HookError";
    }
}

/** The PostgreSQL operations a hook needs (reconciler/hooks/postgres.ts; replaceable in unit tests). */
export interface PgOps {
    canLogin: typeof canLogin;
    pgConnect: typeof pgConnect;
    alterRolePassword: typeof alterRolePassword;
    countSessions: typeof countSessions;
}

export interface HookDeps {
    client: KubeClient;
    recorder: Recorder;
    metrics: ReconcilerMetrics;
    logger: Logger;
    fingerprint: Fingerprinter;
    /** The reconciler's own namespace: hook state lives there, where no namespace tenant can write. */
    stateNamespace?: string;
    vault?: VaultKv;
    pg?: PgOps;
    /** Every wait of a hook (a deleted Job going away) goes through it; default the real clock. */
    clock?: Clock;
    /**
     * Confirms, right before a Job is deleted or created, that this replica still holds the Lease (a fresh read, not
     * the cached flag): a replica whose event loop stalled past its lease may not know it lost it, and a second
     * re-run of a bootstrap Job is not harmless. Absent: a single replica without leader election.
     */
    confirmLeadership?: () => Promise<boolean>;
}

const NOT_LEADING = "this replica no longer holds the reconciler's Lease; the Job re-run is left to the current leader";

type Outcome = { applied: true; ran: boolean; recheckMs?: number } | { applied: false; error: string };

const isAlternate = (h: HookSpec): h is PostgresHook => h.type === "postgres" && h.strategy === "alternate";

/** Name of the state secret of one source (a hash: any ns/name fits, and the name reveals nothing). */
export function hookStateName(sourceKey: string): string {
    return `hook-state-${createHash("sha256").update(sourceKey).digest("hex").slice(0, 24)}`;
}

/**
 * Runs a source's init-time hooks as the administrator declared them (the policy ConfigMap), keeping per-hook
 * state (applied fingerprints, the last applied password, a kept Job template) in a secret in the reconciler's own
 * namespace: a tenant can neither forge it nor read it.
 */
export class HookRunner {
    private readonly pg: PgOps;
    private readonly clock: Clock;

    constructor(private readonly d: HookDeps) {
        this.pg = d.pg ?? { canLogin, pgConnect, alterRolePassword, countSessions };
        this.clock = d.clock ?? realClock;
    }

    /** What a hook's "input changed" is measured on (keyed): the password for postgres, the whole content for jobs. */
    inputFingerprint(source: Secret, hook: HookSpec): string {
        switch (hook.type) {
            case "postgres":
                // alternate: the login is the pair (a new role with the same password is a change too).
                if (hook.strategy === "alternate") return this.d.fingerprint.of(`pga:${source.data?.[hook.usernameKey ?? "username"] ?? ""}:${source.data?.[hook.passwordKey ?? "password"] ?? ""}`);
                return this.d.fingerprint.of(`pg:${source.data?.[hook.passwordKey ?? "password"] ?? ""}`);
            case "job-rerun":
                return this.d.fingerprint.of(`job:${contentHash(source)}`);
            default: {
                const never: never = hook;
                throw new Error(`unknown hook ${JSON.stringify(never)}`);
            }
        }
    }

    private statePath(name?: string): string {
        if (!this.d.stateNamespace) throw new Error("hooks need the reconciler's own namespace (--own-namespace or POD_NAMESPACE) to keep their state");
        return `/api/v1/namespaces/${this.d.stateNamespace}/secrets${name ? `/${name}` : ""}`;
    }

    async getState(sourceKey: string): Promise<Secret | undefined> {
        let s: Secret;
        try {
            s = await this.d.client.request<Secret>("GET", this.statePath(hookStateName(sourceKey)), { object: sourceKey });
        } catch (e) {
            if (isKubeError(e, 404)) return undefined;
            throw e;
        }
        if (s.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE || s.metadata.annotations?.[ANNOTATION_HOOK_SOURCE] !== sourceKey) {
            throw new HookError(sourceKey, `hook state ${this.d.stateNamespace}/${s.metadata.name} is not ours for ${sourceKey}; delete it`);
        }
        return s;
    }

    /** Whether every hook is applied for the source's current content: consumers restart only then. */
    async applied(source: Secret, hooks: readonly HookSpec[]): Promise<boolean> {
        const state = await this.getState(`${source.metadata.namespace}/${source.metadata.name}`);
        const annotations = { ...(state?.metadata.annotations ?? {}) };
        migrateHookState(hooks, annotations, {});
        return hooks.every((h) => annotations[A_APPLIED(hookSlot(h))] === this.inputFingerprint(source, h));
    }

    /**
     * Runs pending hooks. Throws HookError (the queue retries with backoff) on failure. `recheckMs`: run again after
     * that long (an alternate hook waits for the previous role's sessions to drain before retiring it).
     */
    async run(source: Secret, hooks: readonly HookSpec[], opts: { holdRetire?: boolean } = {}): Promise<{ ranAny: boolean; recheckMs?: number }> {
        const srcKey = `${source.metadata.namespace}/${source.metadata.name}`;
        let state: Secret | undefined;
        try {
            state = await this.getState(srcKey);
        } catch (e) {
            if (e instanceof HookError) throw e;
            throw new HookError(srcKey, `${srcKey}: ${(e as Error).message}`);
        }
        const annotations: Record<string, string> = { ...(state?.metadata.annotations ?? {}) };
        const data: Record<string, string> = { ...(state?.data ?? {}) };
        const migrated = migrateHookState(hooks, annotations, data);
        const draining = !opts.holdRetire && hooks.some((h) => isAlternate(h) && retirePending(hookSlot(h), annotations));
        const content = contentHash(source);
        if (!migrated && !draining && annotations[ANNOTATION_HOOKS_APPLIED_CONTENT] === content && hooks.every((h) => annotations[A_APPLIED(hookSlot(h))] === this.inputFingerprint(source, h))) return { ranAny: false };
        let failure: string | undefined;
        let ranAny = false;
        let recheckMs: number | undefined;
        const soonest = (ms: number | undefined) => (recheckMs = ms === undefined ? recheckMs : Math.min(ms, recheckMs ?? ms));
        for (let i = 0; i < hooks.length; i++) {
            const hook = hooks[i];
            const fp = this.inputFingerprint(source, hook);
            const slot = hookSlot(hook);
            if (annotations[A_APPLIED(slot)] === fp) continue;
            let outcome: Outcome;
            try {
                outcome = await this.runOne(source, hook, slot, annotations[A_APPLIED(slot)] === undefined, data, annotations);
            } catch (e) {
                // Both forms: the Secret holds base64, but an error (a driver's, a server's) quotes the plaintext.
                const b64 = source.data?.[(hook as PostgresHook).passwordKey ?? "password"];
                outcome = { applied: false, error: scrub(String((e as Error).message ?? e), [b64, b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8")]) };
            }
            this.d.metrics.hookRuns.inc({ hook: hook.type, result: outcome.applied ? "ok" : "error" });
            if (outcome.applied) {
                annotations[A_APPLIED(slot)] = fp;
                ranAny ||= outcome.ran;
                soonest(outcome.recheckMs);
                this.d.recorder.audit("hook", srcKey, outcome.ran ? `${hook.type} hook applied` : `${hook.type} hook baseline recorded`, { hook: hook.type, fingerprint: fp });
            } else {
                failure = outcome.error;
                this.d.recorder.audit("hook", srcKey, `${hook.type} hook failed: ${outcome.error}`, { hook: hook.type, fingerprint: fp, result: "error" });
                this.d.recorder.event(secretRef(source), "Warning", "HookFailed", `${hook.type} hook: ${outcome.error}`);
                break;
            }
        }
        // While restarts are paused the consumers cannot have moved: the previous role stays until the pause ends
        // (a policy change queues every hooked source again).
        if (!failure && !opts.holdRetire) for (const h of hooks) if (isAlternate(h)) soonest(await this.retire(srcKey, h, annotations, data));
        if (failure) delete annotations[ANNOTATION_HOOKS_APPLIED_CONTENT];
        else annotations[ANNOTATION_HOOKS_APPLIED_CONTENT] = content;
        annotations[A_STATUS] = failure ? "error" : "ok";
        annotations[A_MESSAGE] = failure ?? "all hooks applied";
        annotations[ANNOTATION_HOOK_SOURCE] = srcKey;
        await this.saveState(srcKey, state, annotations, data);
        if (failure) throw new HookError(srcKey, `${srcKey}: ${failure}`);
        if (ranAny) this.d.recorder.event(secretRef(source), "Normal", "HooksApplied", "init-time hooks applied for the new content");
        return { ranAny, ...(recheckMs !== undefined ? { recheckMs } : {}) };
    }

    /** Retires an alternate hook's previous role once drained; the delay until the next check, if any. */
    private async retire(srcKey: string, hook: PostgresHook, annotations: Record<string, string>, data: Record<string, string>): Promise<number | undefined> {
        const slot = hookSlot(hook);
        let r;
        try {
            r = await retireIfDrained({ pg: this.pg, clock: this.clock, vault: this.d.vault }, hook, slot, { annotations, data });
        } catch (e) {
            this.d.logger.warn({ object: srcKey, err: scrub(String((e as Error).message ?? e), Object.values(data).flatMap((v) => [v, Buffer.from(v, "base64").toString("utf8")])) }, "postgres alternate: drain check failed; retried");
            return 2_000;
        }
        if (r.retired) this.d.recorder.audit("hook", srcKey, `postgres alternate: previous role ${r.retired} retired (its old password no longer logs in)`, { hook: "postgres" });
        if (r.error) {
            this.d.recorder.audit("hook", srcKey, `postgres alternate: ${r.error}`, { hook: "postgres", result: "error" });
            this.d.logger.warn({ object: srcKey, err: r.error }, "postgres alternate: previous role not retired yet");
        }
        return r.recheckMs;
    }

    private async saveState(srcKey: string, live: Secret | undefined, annotations: Record<string, string>, data: Record<string, string>): Promise<void> {
        const name = hookStateName(srcKey);
        const body: Secret = {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name, namespace: this.d.stateNamespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LABEL_HOOK_STATE]: "true" }, annotations, ...(live ? { resourceVersion: live.metadata.resourceVersion } : {}) },
            type: "Opaque",
            data,
        };
        if (live) await this.d.client.request("PUT", this.statePath(name), { body, object: srcKey });
        else await this.d.client.request("POST", this.statePath(), { body, object: srcKey });
    }

    private async runOne(source: Secret, hook: HookSpec, slot: string, firstSight: boolean, data: Record<string, string>, annotations: Record<string, string>): Promise<Outcome> {
        switch (hook.type) {
            case "postgres":
                return this.postgres(source, hook, slot, data, annotations);
            case "job-rerun":
                return this.jobRerun(source, hook, slot, firstSight, data);
            default: {
                const never: never = hook;
                throw new Error(`unknown hook ${JSON.stringify(never)}`);
            }
        }
    }

    /**
     * Makes the role's password equal the source's: no-op when the new one already logs in; otherwise log in with
     * the previous value (Vault KV v2 version current-1 of the hook's own path, or the value applied last) and
     * ALTER ROLE with a client-side SCRAM verifier. Only SCRAM authentication is ever answered (postgres.ts).
     */
    private async postgres(source: Secret, hook: PostgresHook, slot: string, data: Record<string, string>, annotations: Record<string, string>): Promise<Outcome> {
        if (hook.strategy === "alternate") return applyAlternate({ pg: this.pg, clock: this.clock, vault: this.d.vault }, source, hook, slot, { annotations, data }, data[D_PG_LAST(slot)]);
        const key = hook.passwordKey ?? "password";
        const b64 = source.data?.[key];
        if (!b64) return { applied: false, error: `source has no "${key}" key for the postgres hook (role ${hook.user})` };
        const next = Buffer.from(b64, "base64").toString("utf8");
        const where = `${hook.host}:${hook.port ?? 5432}`;
        const now = await this.pg.canLogin(hook, next);
        if (now === "error") return { applied: false, error: `cannot reach PostgreSQL at ${where} as ${hook.user} (or it refused SCRAM authentication); see the reconciler log` };
        if (now === true) {
            data[D_PG_LAST(slot)] = b64;
            return { applied: true, ran: false };
        }
        const { candidates, notes } = await this.previousPasswords(source, hook, key, slot, data);
        const tried: string[] = [];
        for (const c of candidates) {
            if (c.value === next) continue;
            tried.push(c.from);
            let client;
            try {
                client = await this.pg.pgConnect(hook, c.value);
            } catch {
                continue;
            }
            try {
                await this.pg.alterRolePassword(client, hook.user, next);
            } catch (e) {
                return { applied: false, error: scrub(`ALTER ROLE ${hook.user} failed (${(e as { code?: string }).code ?? "unknown"})`, [next, c.value]) };
            } finally {
                await client.end().catch(() => undefined);
            }
            if ((await this.pg.canLogin(hook, next)) !== true) return { applied: false, error: `ALTER ROLE ${hook.user} ran but the new password does not log in` };
            data[D_PG_LAST(slot)] = b64;
            return { applied: true, ran: true };
        }
        return { applied: false, error: `cannot log in as ${hook.user} at ${where} with the new password nor any previous one (tried: ${tried.join(", ") || "nothing"})${notes.length ? `; ${notes.join("; ")}` : ""}` };
    }

    /**
     * The values the role may still have, oldest first (Vault version current-1 and current of the hook's own path,
     * the value applied last, the value set when the role was retired), and why some could not be had (never a value).
     */
    private async previousPasswords(source: Secret, hook: PostgresHook, key: string, slot: string, data: Record<string, string>): Promise<{ candidates: { from: string; value: string }[]; notes: string[] }> {
        const candidates: { from: string; value: string }[] = [];
        // Why no candidate worked, for the operator (never a value).
        const notes: string[] = [];
        if (this.d.vault && hook.vault) {
            const mount = hook.vault.mount ?? "secret";
            const vkey = hook.vault.key ?? key;
            const vpath = `${mount}/${hook.vault.path}`;
            try {
                const cur = await this.d.vault.currentVersion(mount, hook.vault.path);
                if (cur === undefined) notes.push(`vault ${vpath} has no versions`);
                else {
                    for (const v of [cur - 1, cur]) {
                        const val = await this.d.vault.readVersion(mount, hook.vault.path, v, vkey);
                        if (val !== undefined) candidates.push({ from: `vault ${vpath} version ${v}`, value: val });
                        else if (v === cur - 1) {
                            notes.push(
                                `vault ${vpath} has no readable version before ${cur}: the password was created anew (a re-created stack or path), not rotated. ` +
                                    `Fix: set the role's password once by hand (ALTER ROLE ${hook.user} PASSWORD …, the value of ${vpath} version ${cur}); later rotations are applied`,
                            );
                        }
                    }
                }
            } catch (e) {
                notes.push(`vault ${vpath} could not be read (see the reconciler log)`);
                this.d.logger.warn({ object: `${source.metadata.namespace}/${source.metadata.name}`, err: String((e as Error).message) }, "vault read for the previous password failed");
            }
        } else {
            notes.push("no Vault path for this hook. Fix: give the reconciler Vault access to the password's path (reconcilerVault* settings)");
        }
        if (data[D_PG_LAST(slot)]) candidates.push({ from: "last applied value", value: Buffer.from(data[D_PG_LAST(slot)], "base64").toString("utf8") });
        // Back from strategy alternate: the group role's password is the one we left it when it was retired.
        const retired = knownPassword(slot, data, hook.user);
        if (retired !== undefined) candidates.push({ from: "value set when the role was retired", value: retired });
        return { candidates, notes };
    }

    /**
     * Re-runs an init-time Job in the source's own namespace. From a suspended CronJob: a new Job named after the
     * content fingerprint (idempotent). Otherwise the named Job is deleted and created again from the template kept
     * (in our state) at its first sighting — Jobs are immutable and are often removed after completion.
     */
    private async jobRerun(source: Secret, hook: JobRerunHook, slot: string, firstSight: boolean, data: Record<string, string>): Promise<Outcome> {
        const ns = source.metadata.namespace!;
        const fp = this.inputFingerprint(source, hook);
        if (hook.cronJob) return this.jobFromCronJobHook(ns, hook.cronJob, fp, firstSight);
        const jobName = hook.job!;
        const path = `/apis/batch/v1/namespaces/${ns}/jobs/${jobName}`;
        const object = `${ns}/${jobName}`;
        let live: { metadata: { uid?: string; name?: string; namespace?: string; annotations?: Record<string, string> } } | undefined;
        try {
            live = await this.d.client.request("GET", path, { object });
        } catch (e) {
            if (!isKubeError(e, 404)) throw e;
        }
        if (live && live.metadata.annotations?.[ANNOTATION_HOOK_SOURCE_HASH] === fp) return { applied: true, ran: false };
        // The template is the Job as first seen (before any re-run of ours); later Jobs never replace it.
        if (live && data[D_JOB_TEMPLATE(slot)] === undefined) data[D_JOB_TEMPLATE(slot)] = Buffer.from(JSON.stringify(jobTemplateFrom(live))).toString("base64");
        if (firstSight && live) return { applied: true, ran: false };
        const stored = data[D_JOB_TEMPLATE(slot)];
        if (!stored) return { applied: false, error: `job ${object} does not exist and no template was kept; create the Job once, or declare the hook with a suspended CronJob ("cronJob")` };
        const template = JSON.parse(Buffer.from(stored, "base64").toString("utf8"));
        if (this.d.confirmLeadership && !(await this.d.confirmLeadership())) return { applied: false, error: NOT_LEADING };
        if (live && !(await this.deleteAndWait(path, object, live.metadata.uid))) return { applied: false, error: `job ${object} still exists 30 s after deletion` };
        template.metadata = { ...template.metadata, namespace: ns, name: jobName, annotations: { ...(template.metadata.annotations ?? {}), [ANNOTATION_HOOK_SOURCE_HASH]: fp } };
        await this.d.client.request("POST", `/apis/batch/v1/namespaces/${ns}/jobs`, { body: template, object });
        this.d.recorder.audit("hook", object, "job re-created for new source content", { fingerprint: fp });
        return { applied: true, ran: true };
    }

    /** From a suspended CronJob: a new Job named after the content fingerprint (idempotent: a 409 is this content's Job). */
    private async jobFromCronJobHook(ns: string, cronJob: string, fp: string, firstSight: boolean): Promise<Outcome> {
        if (firstSight) return { applied: true, ran: false };
        let cj: { metadata?: { name?: string; namespace?: string; uid?: string }; spec?: { suspend?: boolean; jobTemplate?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown } } };
        try {
            cj = await this.d.client.request("GET", `/apis/batch/v1/namespaces/${ns}/cronjobs/${cronJob}`, { object: `${ns}/${cronJob}` });
        } catch (e) {
            if (isKubeError(e, 404)) return { applied: false, error: `CronJob ${ns}/${cronJob} not found; create it (suspend: true) with the bootstrap Job as its jobTemplate` };
            throw e;
        }
        // A running schedule would run the bootstrap on its own too; the template is meant to be a template.
        if (cj.spec?.suspend !== true) return { applied: false, error: `CronJob ${ns}/${cronJob} is not suspended; set spec.suspend: true (it only holds the bootstrap Job template)` };
        const name = `${cronJob.slice(0, 52)}-${fp.slice(0, 10)}`;
        const job = jobFromCronJob(cj, name);
        if (this.d.confirmLeadership && !(await this.d.confirmLeadership())) return { applied: false, error: NOT_LEADING };
        job.metadata = { ...job.metadata, annotations: { ...(job.metadata?.annotations ?? {}), [ANNOTATION_HOOK_SOURCE_HASH]: fp } };
        (job.metadata as Record<string, unknown>).ownerReferences = [{ apiVersion: "batch/v1", kind: "CronJob", name: cronJob, uid: cj.metadata?.uid, controller: true }];
        try {
            await this.d.client.request("POST", `/apis/batch/v1/namespaces/${ns}/jobs`, { body: job, object: `${ns}/${name}` });
        } catch (e) {
            if (!isKubeError(e, 409)) throw e; // already created for this content
        }
        this.d.recorder.audit("hook", `${ns}/${name}`, `job created from CronJob ${cronJob} for new source content`, { fingerprint: fp });
        return { applied: true, ran: true };
    }

    /** Deletes the Job (this uid only) and waits, on the injected clock, until it is gone; false after 30 s. */
    private async deleteAndWait(path: string, object: string, uid: string | undefined): Promise<boolean> {
        await this.d.client.request("DELETE", path, { body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background", preconditions: { uid } }, object });
        const deadline = this.clock.now() + 30_000;
        for (;;) {
            try {
                await this.d.client.request("GET", path, { object });
            } catch (e) {
                if (isKubeError(e, 404)) return true;
                throw e;
            }
            if (this.clock.now() > deadline) return false;
            await sleep(this.clock, 100);
        }
    }
}
