import { isDnsSubdomain } from "../../derive";
/** TLS to PostgreSQL: `disable` (loopback/sandbox only), `require` (encrypted, server not verified), `verify-full` (CA + host name). */
export type PgTlsMode = "disable" | "require" | "verify-full";
export const PG_TLS_MODES: readonly PgTlsMode[] = ["disable", "require", "verify-full"];
/**
 * Default TLS mode when a hook names none: the session is encrypted (the verifier and query results are not on the
 * wire in clear) without requiring every database to have a CA the stack knows; verify-full (with `ca`) also
 * authenticates the server. See reconciler/README.md ("Administrator policy") and docs/security.md.
 */
export const DEFAULT_PG_TLS_MODE: PgTlsMode = "require";

/**
 * How a postgres hook rotates: `single` (default) changes the one login role's password, so Pods that still hold the
 * old value fail new logins until they restart; `alternate` keeps two login roles and moves consumers from one to
 * the other, retiring the previous role only once its sessions are gone (reconciler/hooks/alternate.ts).
 */
export type PgStrategy = "single" | "alternate";
export const PG_STRATEGIES: readonly PgStrategy[] = ["single", "alternate"];
/** alternate: the longest the previous role keeps working while sessions of it remain (seconds). */
export const DEFAULT_PG_DRAIN_SECONDS = 600;
export const MAX_PG_DRAIN_SECONDS = 86_400;

export interface PostgresHook {
    type: "postgres";
    host: string;
    /** default 5432 */
    port?: number;
    /** default "postgres" */
    database?: string;
    /**
     * `single`: the role whose password the source holds. `alternate`: the NOLOGIN group role that owns the
     * privileges (the two login roles are its members), and the login role of the era before the first alternate
     * rotation (a `single` hook's user), whose password migrates the first time.
     */
    user: string;
    /** default "single" */
    strategy?: PgStrategy;
    /** alternate only: the two login roles, members of `user`; the source's `usernameKey` names the active one. */
    roles?: [string, string];
    /** alternate only: data key of the active login role's name in the source; default "username". */
    usernameKey?: string;
    /** alternate only: seconds the previous role keeps working at most while it has sessions; default DEFAULT_PG_DRAIN_SECONDS. */
    drainSeconds?: number;
    /** Data key of the password in the source; default "password". */
    passwordKey?: string;
    /**
     * The KV v2 path the password itself is stored at (mount default "secret"; key defaults to passwordKey): the
     * previous version of THIS path logs in to run ALTER ROLE. The stack renders it from the password's own path.
     */
    vault?: { mount?: string; path: string; key?: string };
    /** TLS; default { mode: DEFAULT_PG_TLS_MODE }. `ca` (PEM) is required for verify-full. */
    tls?: { mode: PgTlsMode; ca?: string };
}

/**
 * Re-run an init-time Job in the SOURCE's namespace (never another): either re-create `job` from the template kept
 * at its first sighting, or create a new Job from the suspended CronJob `cronJob` (what
 * `kubectl create job --from=cronjob/<name>` does), which outlives Jobs removed after completion.
 */
export interface JobRerunHook {
    type: "job-rerun";
    job?: string;
    cronJob?: string;
}

export type HookSpec = PostgresHook | JobRerunHook;

const HOOK_EXAMPLE = '[{"type":"postgres","host":"db","user":"app","vault":{"path":"db/app"}}] or [{"type":"job-rerun","cronJob":"bootstrap"}]';

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates a list of hook objects (pure). Throws an Error naming `object`, the entry and the fix. */
export function parseHookList(list: unknown, object: string): HookSpec[] {
    const bad = (problem: string): never => {
        throw new Error(`${object}: ${problem}; fix: use a JSON array like ${HOOK_EXAMPLE}`);
    };
    if (!Array.isArray(list)) return bad("is not an array");
    return list.map((h: unknown, i): HookSpec => {
        if (!isRecord(h)) return bad(`entry ${i} is not an object`);
        switch (h.type) {
            case "postgres": {
                if (typeof h.host !== "string" || !h.host) return bad(`entry ${i} (postgres) needs "host"`);
                if (typeof h.user !== "string" || !h.user) return bad(`entry ${i} (postgres) needs "user"`);
                if (h.port !== undefined && !(Number.isInteger(h.port) && (h.port as number) > 0 && (h.port as number) < 65536)) return bad(`entry ${i} (postgres) has an invalid "port"`);
                if (h.database !== undefined && (typeof h.database !== "string" || !h.database)) return bad(`entry ${i} (postgres) has an invalid "database"`);
                if (h.passwordKey !== undefined && (typeof h.passwordKey !== "string" || !h.passwordKey)) return bad(`entry ${i} (postgres) has an invalid "passwordKey"`);
                const alt = parseStrategy(h, i, bad);
                let vault: PostgresHook["vault"];
                if (h.vault !== undefined) {
                    const v = h.vault;
                    if (!isRecord(v) || typeof v.path !== "string" || !v.path) return bad(`entry ${i} (postgres) "vault" needs a "path"`);
                    if (v.mount !== undefined && (typeof v.mount !== "string" || !v.mount)) return bad(`entry ${i} (postgres) "vault.mount" must be a non-empty string`);
                    if (v.key !== undefined && (typeof v.key !== "string" || !v.key)) return bad(`entry ${i} (postgres) "vault.key" must be a non-empty string`);
                    vault = { path: v.path, ...(v.mount ? { mount: v.mount as string } : {}), ...(v.key ? { key: v.key as string } : {}) };
                }
                let tls: PostgresHook["tls"];
                if (h.tls !== undefined) {
                    const t = h.tls;
                    if (!isRecord(t) || !(PG_TLS_MODES as readonly unknown[]).includes(t.mode)) return bad(`entry ${i} (postgres) "tls.mode" must be one of ${PG_TLS_MODES.join(", ")}`);
                    if (t.ca !== undefined && (typeof t.ca !== "string" || !t.ca.includes("-----BEGIN CERTIFICATE-----"))) return bad(`entry ${i} (postgres) "tls.ca" must be a PEM certificate`);
                    if (t.mode === "verify-full" && t.ca === undefined) return bad(`entry ${i} (postgres) "tls.mode" verify-full needs "tls.ca"`);
                    tls = { mode: t.mode as PgTlsMode, ...(t.ca ? { ca: t.ca as string } : {}) };
                }
                return {
                    type: "postgres",
                    host: h.host,
                    user: h.user,
                    ...(h.port !== undefined ? { port: h.port as number } : {}),
                    ...(h.database !== undefined ? { database: h.database as string } : {}),
                    ...(h.passwordKey !== undefined ? { passwordKey: h.passwordKey as string } : {}),
                    ...(vault ? { vault } : {}),
                    ...(tls ? { tls } : {}),
                    ...alt,
                };
            }
            case "job-rerun": {
                if (h.namespace !== undefined) return bad(`entry ${i} (job-rerun) names a namespace; a job-rerun hook acts only in its source's namespace, drop "namespace"`);
                if (h.job !== undefined && (!isDnsSubdomain(h.job))) return bad(`entry ${i} (job-rerun) "job" is not a Job name`);
                if (h.cronJob !== undefined && (!isDnsSubdomain(h.cronJob))) return bad(`entry ${i} (job-rerun) "cronJob" is not a CronJob name`);
                if (h.job === undefined && h.cronJob === undefined) return bad(`entry ${i} (job-rerun) needs "job" (a Job to re-create) or "cronJob" (a suspended CronJob to create Jobs from)`);
                return { type: "job-rerun", ...(h.job ? { job: h.job as string } : {}), ...(h.cronJob ? { cronJob: h.cronJob as string } : {}) };
            }
            default:
                return bad(`entry ${i} has unknown type ${JSON.stringify(h.type)} (expected "postgres" or "job-rerun")`);
        }
    });
}

const PG_ROLE = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** The alternate-strategy fields of a postgres hook entry (pure); `bad` throws. */
function parseStrategy(h: Record<string, unknown>, i: number, bad: (problem: string) => never): Pick<PostgresHook, "strategy" | "roles" | "usernameKey" | "drainSeconds"> {
    const where = `entry ${i} (postgres)`;
    if (h.strategy !== undefined && !(PG_STRATEGIES as readonly unknown[]).includes(h.strategy)) return bad(`${where} "strategy" must be one of ${PG_STRATEGIES.join(", ")}`);
    if (h.strategy !== "alternate") {
        for (const k of ["roles", "usernameKey", "drainSeconds"]) if (h[k] !== undefined) return bad(`${where} "${k}" applies only to strategy "alternate"; add "strategy": "alternate" or drop "${k}"`);
        return h.strategy === "single" ? { strategy: "single" } : {};
    }
    const roles = h.roles;
    if (!Array.isArray(roles) || roles.length !== 2 || !roles.every((r) => typeof r === "string" && PG_ROLE.test(r)) || roles[0] === roles[1]) {
        return bad(`${where} strategy "alternate" needs "roles": two different login role names (e.g. ["${String(h.user)}_a", "${String(h.user)}_b"]), members of "${String(h.user)}"`);
    }
    if (roles.includes(h.user)) return bad(`${where} "roles" must not include "user" (${String(h.user)}): user is the group role owning the privileges; the two roles log in`);
    if (h.usernameKey !== undefined && (typeof h.usernameKey !== "string" || !h.usernameKey)) return bad(`${where} has an invalid "usernameKey"`);
    const d = h.drainSeconds;
    if (d !== undefined && !(Number.isInteger(d) && (d as number) >= 0 && (d as number) <= MAX_PG_DRAIN_SECONDS)) return bad(`${where} "drainSeconds" must be a whole number of seconds from 0 to ${MAX_PG_DRAIN_SECONDS}`);
    return {
        strategy: "alternate",
        roles: [roles[0], roles[1]],
        ...(h.usernameKey !== undefined ? { usernameKey: h.usernameKey as string } : {}),
        ...(d !== undefined ? { drainSeconds: d as number } : {}),
    };
}

/** Labels the Job controller stamps; a re-created Job must not carry them (the selector is regenerated). */
const GENERATED_LABELS = ["controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name"];

interface JobLike {
    metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: Record<string, unknown> & { template?: { metadata?: { labels?: Record<string, string> } & Record<string, unknown> } & Record<string, unknown> };
}

/** A Job manifest that can be created again: controller-generated fields removed (pure). */
export function jobTemplateFrom(job: JobLike): JobLike {
    const strip = (labels: Record<string, string> | undefined) => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(labels ?? {})) if (!GENERATED_LABELS.includes(k)) out[k] = v;
        return out;
    };
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(job?.metadata?.annotations ?? {})) {
        if (!k.startsWith("batch.kubernetes.io/") && k !== "kubectl.kubernetes.io/last-applied-configuration") annotations[k] = v;
    }
    const spec = JSON.parse(JSON.stringify(job?.spec ?? {}));
    delete spec.selector;
    delete spec.manualSelector;
    spec.template = spec.template ?? {};
    spec.template.metadata = { ...(spec.template.metadata ?? {}), labels: strip(spec.template.metadata?.labels) };
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: job.metadata?.name, namespace: job.metadata?.namespace, labels: strip(job.metadata?.labels), annotations },
        spec,
    } as JobLike;
}

/** The Job `kubectl create job --from=cronjob/<name>` would create (pure): the CronJob's jobTemplate, named `name`. */
export function jobFromCronJob(cronJob: { metadata?: { name?: string; namespace?: string; uid?: string }; spec?: { jobTemplate?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown } } }, name: string): JobLike & { apiVersion: string; kind: string } {
    const t = cronJob.spec?.jobTemplate ?? {};
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
            name,
            namespace: cronJob.metadata?.namespace,
            labels: { ...(t.metadata?.labels ?? {}) },
            annotations: { ...(t.metadata?.annotations ?? {}), "cronjob.kubernetes.io/instantiate": "manual" },
        },
        spec: JSON.parse(JSON.stringify(t.spec ?? {})),
    };
}
