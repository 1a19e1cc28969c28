import { ANNOTATION_HOOKS } from "../derive";

export interface PostgresHook {
    type: "postgres";
    host: string;
    port?: number;
    database?: string;
    /** The role whose password the source holds. */
    user: string;
    /** Data key of the password in the source; default "password". */
    passwordKey?: string;
    /** Where the previous password is kept (KV v2): mount (default "secret") and path; the value key defaults to passwordKey. */
    vault?: { mount?: string; path: string; key?: string };
    ssl?: boolean;
}

export interface JobRerunHook {
    type: "job-rerun";
    /** Job name; its namespace defaults to the source's. */
    job: string;
    namespace?: string;
}

export type HookSpec = PostgresHook | JobRerunHook;

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses the source's hooks annotation (a JSON array of hook objects). Throws naming the source and the fix. */
export function parseHooks(annotations: Record<string, string> | undefined, object: string): HookSpec[] {
    const raw = annotations?.[ANNOTATION_HOOKS];
    if (raw === undefined || raw.trim() === "") return [];
    const bad = (problem: string): never => {
        throw new Error(`${object}: annotation ${ANNOTATION_HOOKS} ${problem}; fix: set it to a JSON array like [{"type":"postgres","host":"db","user":"app","vault":{"path":"db/app"}}] or [{"type":"job-rerun","job":"bootstrap"}]`);
    };
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch {
        return bad("is not valid JSON");
    }
    if (!Array.isArray(parsed)) return bad("is not a JSON array");
    return parsed.map((h: any, i): HookSpec => {
        if (typeof h !== "object" || h === null) return bad(`entry ${i} is not an object`);
        switch (h.type) {
            case "postgres":
                if (typeof h.host !== "string" || !h.host) return bad(`entry ${i} (postgres) needs "host"`);
                if (typeof h.user !== "string" || !h.user) return bad(`entry ${i} (postgres) needs "user"`);
                if (h.port !== undefined && !(Number.isInteger(h.port) && h.port > 0 && h.port < 65536)) return bad(`entry ${i} (postgres) has an invalid "port"`);
                if (h.vault !== undefined && (typeof h.vault !== "object" || typeof h.vault?.path !== "string")) return bad(`entry ${i} (postgres) "vault" needs a "path"`);
                return { type: "postgres", host: h.host, port: h.port, database: h.database, user: h.user, passwordKey: h.passwordKey, vault: h.vault, ssl: h.ssl === true };
            case "job-rerun":
                if (typeof h.job !== "string" || !NAME.test(h.job)) return bad(`entry ${i} (job-rerun) needs "job", a Job name`);
                if (h.namespace !== undefined && (typeof h.namespace !== "string" || !NAME.test(h.namespace))) return bad(`entry ${i} (job-rerun) has an invalid "namespace"`);
                return { type: "job-rerun", job: h.job, namespace: h.namespace };
            default:
                return bad(`entry ${i} has unknown type ${JSON.stringify(h.type)} (expected "postgres" or "job-rerun")`);
        }
    });
}

/** Name of the companion secret that keeps a source's hook state (dots are legal in secret names). */
export function hookStateName(sourceName: string): string {
    const name = `${sourceName}.hook-state`;
    if (name.length > 253) throw new Error(`source name "${sourceName}" is too long for its hook-state companion secret; shorten it`);
    return name;
}

/** Labels the Job controller stamps; a re-created Job must not carry them (the selector is regenerated). */
const GENERATED_LABELS = ["controller-uid", "job-name", "batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name"];

/** A Job manifest that can be created again: controller-generated fields removed (pure). */
export function jobTemplateFrom(job: any): any {
    const strip = (labels: Record<string, string> | undefined) => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(labels ?? {})) if (!GENERATED_LABELS.includes(k)) out[k] = v;
        return out;
    };
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(job?.metadata?.annotations ?? {})) {
        if (!k.startsWith("batch.kubernetes.io/") && k !== "kubectl.kubernetes.io/last-applied-configuration") annotations[k] = v as string;
    }
    const spec = JSON.parse(JSON.stringify(job?.spec ?? {}));
    delete spec.selector;
    delete spec.manualSelector;
    spec.template = spec.template ?? {};
    spec.template.metadata = { ...(spec.template.metadata ?? {}), labels: strip(spec.template.metadata?.labels) };
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: job.metadata.name, namespace: job.metadata.namespace, labels: strip(job.metadata.labels), annotations },
        spec,
    };
}
