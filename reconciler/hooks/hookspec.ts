import { isDnsSubdomain } from "../../derive";
import { closedObject, FIX_SEPARATOR, formatPath, parseWith, withFix, z } from "../../lib/schema";
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
const LIST_FIX = `use a JSON array like ${HOOK_EXAMPLE}`;
const PG_ROLE = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Every message below is whole ("needs ..." / "... must be ..."): the list parser prefixes the entry it is about. */
const nonEmpty = (problem: string, fix: string) => z.string({ error: withFix(problem, fix) }).min(1, { error: withFix(problem, fix) });
const required = (field: string, fix: string) => nonEmpty(`needs "${field}"`, fix);
const invalid = (field: string, fix: string) => nonEmpty(`has an invalid "${field}"`, fix);

const tlsSchema = closedObject({
    mode: z.enum(PG_TLS_MODES as [PgTlsMode, ...PgTlsMode[]], { error: withFix(`"tls.mode" must be one of ${PG_TLS_MODES.join(", ")}`, 'write e.g. "tls": {"mode": "require"}') }),
    ca: z
        .string({ error: withFix('"tls.ca" must be a PEM certificate', "paste the CA certificate (-----BEGIN CERTIFICATE-----...)") })
        .refine((ca) => ca.includes("-----BEGIN CERTIFICATE-----"), { error: withFix('"tls.ca" must be a PEM certificate', "paste the CA certificate (-----BEGIN CERTIFICATE-----...)") })
        .optional(),
}).refine((t) => t.mode !== "verify-full" || t.ca !== undefined, { error: withFix('"tls.mode" verify-full needs "tls.ca"', "add the server's CA as tls.ca, or use mode require") });

const vaultRefSchema = closedObject(
    {
        path: nonEmpty('"vault" needs a "path"', "set vault.path: the KV v2 path of this password (the stack renders it)"),
        mount: nonEmpty('"vault.mount" must be a non-empty string', "drop it (default secret) or name the KV v2 mount").optional(),
        key: nonEmpty('"vault.key" must be a non-empty string', "drop it (default passwordKey) or name the key").optional(),
    },
    withFix('"vault" needs a "path"', 'write "vault": {"path": "db/app"}'),
);

const postgresSchema = closedObject({
    type: z.literal("postgres"),
    host: required("host", 'set "host": the PostgreSQL server name'),
    user: required("user", 'set "user": the role whose password the source holds'),
    port: z
        .int({ error: withFix('has an invalid "port"', "use 1-65535 (default 5432)") })
        .min(1, { error: withFix('has an invalid "port"', "use 1-65535 (default 5432)") })
        .max(65535, { error: withFix('has an invalid "port"', "use 1-65535 (default 5432)") })
        .optional(),
    database: invalid("database", 'drop it (default "postgres") or name the database').optional(),
    passwordKey: invalid("passwordKey", 'drop it (default "password") or name the data key').optional(),
    strategy: z.enum(PG_STRATEGIES as [PgStrategy, ...PgStrategy[]], { error: withFix(`"strategy" must be one of ${PG_STRATEGIES.join(", ")}`, "drop it (default single) or write alternate") }).optional(),
    roles: z.array(z.string()).optional(),
    usernameKey: invalid("usernameKey", 'drop it (default "username") or name the data key').optional(),
    drainSeconds: z
        .int({ error: withFix(`"drainSeconds" must be a whole number of seconds from 0 to ${MAX_PG_DRAIN_SECONDS}`, `drop it (default ${DEFAULT_PG_DRAIN_SECONDS})`) })
        .min(0, { error: withFix(`"drainSeconds" must be a whole number of seconds from 0 to ${MAX_PG_DRAIN_SECONDS}`, `drop it (default ${DEFAULT_PG_DRAIN_SECONDS})`) })
        .max(MAX_PG_DRAIN_SECONDS, { error: withFix(`"drainSeconds" must be a whole number of seconds from 0 to ${MAX_PG_DRAIN_SECONDS}`, `drop it (default ${DEFAULT_PG_DRAIN_SECONDS})`) })
        .optional(),
    vault: vaultRefSchema.optional(),
    tls: tlsSchema.optional(),
}).check((ctx) => strategyProblems(ctx.value, (message) => ctx.issues.push({ code: "custom", message, input: ctx.value })));

/** The alternate-strategy rules that span fields of a postgres hook (pure); `report` records one problem. */
function strategyProblems(h: { user: string; strategy?: PgStrategy; roles?: string[]; usernameKey?: string; drainSeconds?: number }, report: (message: string) => void): void {
    if (h.strategy !== "alternate") {
        for (const k of ["roles", "usernameKey", "drainSeconds"] as const) {
            if (h[k] !== undefined) return report(withFix(`"${k}" applies only to strategy "alternate"`, `add "strategy": "alternate" or drop "${k}"`));
        }
        return;
    }
    const roles = h.roles;
    if (!roles || roles.length !== 2 || !roles.every((r) => PG_ROLE.test(r)) || roles[0] === roles[1]) {
        return report(withFix(`strategy "alternate" needs "roles": two different login role names (e.g. ["${h.user}_a", "${h.user}_b"]), members of "${h.user}"`, "list the two login roles that take turns"));
    }
    if (roles.includes(h.user)) report(withFix(`"roles" must not include "user" (${h.user})`, "user is the group role owning the privileges; the two roles log in"));
}

const jobName = (field: "job" | "cronJob", kind: string) =>
    z.string({ error: withFix(`"${field}" is not a ${kind} name`, `name the ${kind} (a DNS-1123 subdomain)`) }).refine((v) => isDnsSubdomain(v), { error: withFix(`"${field}" is not a ${kind} name`, `name the ${kind} (a DNS-1123 subdomain)`) });

const jobRerunSchema = closedObject({
    type: z.literal("job-rerun"),
    // A hook acts in its source's namespace only: a field that names another would be a way out of it.
    namespace: z.never({ error: withFix("names a namespace; a job-rerun hook acts only in its source's namespace", 'drop "namespace"') }).optional(),
    job: jobName("job", "Job").optional(),
    cronJob: jobName("cronJob", "CronJob").optional(),
}).refine((h) => h.job !== undefined || h.cronJob !== undefined, {
    error: withFix('needs "job" (a Job to re-create) or "cronJob" (a suspended CronJob to create Jobs from)', 'set "cronJob": "<name>" (it outlives Jobs removed after completion) or "job"'),
});

const KNOWN_TYPES = ["postgres", "job-rerun"];

/** One hook entry: its `type` picks the schema. */
export const hookSchema = z.discriminatedUnion("type", [postgresSchema, jobRerunSchema], {
    error: (iss) => {
        if (typeof iss.input !== "object" || iss.input === null || Array.isArray(iss.input)) return withFix("is not an object", LIST_FIX);
        const type = (iss.input as { type?: unknown } | undefined)?.type;
        return withFix(`has unknown type ${JSON.stringify(type) ?? "undefined"} (expected "postgres" or "job-rerun")`, LIST_FIX);
    },
});

/** A list of hooks, as the policy document and the stack config hold it. */
export const hookListSchema = z.array(hookSchema, { error: withFix("is not an array", LIST_FIX) });

/** Validates a list of hook objects (pure). Throws an Error naming `object`, the entry and the fix. */
export function parseHookList(list: unknown, object: string): HookSpec[] {
    const hooks = parseWith(hookListSchema, list, ({ path, problem, fix }) => {
        const [i, ...rest] = path;
        const entry = Array.isArray(list) ? (list[i as number] as { type?: unknown } | undefined) : undefined;
        const typed = typeof entry?.type === "string" && KNOWN_TYPES.includes(entry.type) ? ` (${entry.type})` : "";
        const what = i === undefined ? problem : problem === "unknown field" ? `entry ${String(i)}${typed} has an unknown field "${formatPath(rest)}"` : `entry ${String(i)}${typed} ${problem}`;
        throw new Error(`${object}: ${what}${FIX_SEPARATOR}${fix}`);
    });
    return hooks.map((h): HookSpec => {
        if (h.type === "job-rerun") return { type: h.type, ...(h.job ? { job: h.job } : {}), ...(h.cronJob ? { cronJob: h.cronJob } : {}) };
        // The check above made roles a pair.
        const { roles, ...rest } = h;
        return roles ? { ...rest, roles: [roles[0], roles[1]] } : rest;
    });
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
