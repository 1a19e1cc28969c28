import { canonicalJson, isDnsLabel, isDnsSubdomain, matchesLabelSelector, parseLabelSelector } from "../../derive";
import { HookSpec, parseHookList } from "../hooks/hookspec";

/**
 * Administrator policy: what the reconciler may do on someone's behalf beyond that someone's own namespace. It lives
 * in ONE ConfigMap in the reconciler's own namespace (only the stack owner can write there; the stack renders it
 * from config), never in annotations a namespace tenant controls. See docs/security.md.
 *
 * ```json
 * { "fanOut": [{ "sourceNamespace": "platform", "namespaces": ["team-a"], "namespaceSelector": "fan-out=docker" }],
 *   "hooks":  [{ "source": { "namespace": "db", "name": "app-db" },
 *                "hooks": [{ "type": "postgres", "host": "pg.db.svc", "user": "app", "vault": { "path": "db/app" } }] }] }
 * ```
 */
export interface FanOutGrant {
    /** Namespace whose sources may fan out. */
    sourceNamespace: string;
    /** Target namespaces allowed by name. */
    namespaces?: string[];
    /** Target namespaces allowed by label selector (namespace labels are cluster-admin territory). */
    namespaceSelector?: string;
}

export interface HookBinding {
    source: { namespace: string; name: string };
    hooks: HookSpec[];
}

export interface ReconcilerPolicy {
    fanOut: FanOutGrant[];
    hooks: HookBinding[];
    /**
     * Cluster-wide pause of rollouts for an incident (issue 22 §2): while set, no workload is restarted (baselines
     * are still recorded, derived secrets and hooks still converge, an alternate hook keeps the previous role until
     * the pause ends); lifting it rolls every workload whose secrets changed meanwhile, once, with the content then.
     */
    pauseRestarts?: { reason: string };
}

export const POLICY_CONFIGMAP_NAME = "platform-secrets-policy";
export const POLICY_KEY = "policy.json";
export const EMPTY_POLICY: ReconcilerPolicy = Object.freeze({ fanOut: [], hooks: [] }) as ReconcilerPolicy;

export class PolicyError extends Error {
    constructor(object: string, key: string, problem: string, fix: string) {
        super(`${object} key "${key}": ${problem}. Fix: ${fix}`);
        this.name = "PolicyError";
    }
}


function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses the policy document (pure). Throws PolicyError naming the ConfigMap, the key and the fix. */
export function parsePolicy(raw: string | undefined, object: string): ReconcilerPolicy {
    if (raw === undefined || raw.trim() === "") return { fanOut: [], hooks: [] };
    const bad = (key: string, problem: string, fix: string): never => {
        throw new PolicyError(object, key, problem, fix);
    };
    let doc: unknown;
    try {
        doc = JSON.parse(raw);
    } catch {
        return bad(POLICY_KEY, "not valid JSON", 'write {"fanOut":[],"hooks":[]} (the stack renders it from config)');
    }
    if (!isRecord(doc)) return bad(POLICY_KEY, "not a JSON object", 'write {"fanOut":[],"hooks":[]}');
    for (const k of Object.keys(doc)) if (k !== "fanOut" && k !== "hooks" && k !== "pauseRestarts") bad(k, "unknown field", 'use only "fanOut", "hooks" and "pauseRestarts"');
    let pauseRestarts: ReconcilerPolicy["pauseRestarts"];
    if (doc.pauseRestarts !== undefined) {
        const pr = doc.pauseRestarts;
        // The reason lands in logs and in `platform-secrets status`: one printable line.
        if (!isRecord(pr) || typeof pr.reason !== "string" || !/^[^\p{Cc}]{1,200}$/u.test(pr.reason) || Object.keys(pr).some((k) => k !== "reason")) {
            return bad("pauseRestarts", "not {reason: <1-200 printable characters>}", 'write {"reason": "INC-123: no rollouts"} (the stack renders it from platform-secrets:reconcilerPauseRestarts), or drop it to resume');
        }
        pauseRestarts = { reason: pr.reason };
    }
    const fanOutRaw = doc.fanOut ?? [];
    const hooksRaw = doc.hooks ?? [];
    if (!Array.isArray(fanOutRaw)) return bad("fanOut", "not an array", "make it a list of {sourceNamespace, namespaces?, namespaceSelector?}");
    if (!Array.isArray(hooksRaw)) return bad("hooks", "not an array", "make it a list of {source: {namespace, name}, hooks: [...]}");
    const fanOut = fanOutRaw.map((g, i): FanOutGrant => {
        const key = `fanOut[${i}]`;
        if (!isRecord(g)) return bad(key, "not an object", "use {sourceNamespace, namespaces?, namespaceSelector?}");
        for (const k of Object.keys(g)) if (!["sourceNamespace", "namespaces", "namespaceSelector"].includes(k)) bad(`${key}.${k}`, "unknown field", "use only sourceNamespace, namespaces and namespaceSelector");
        if (!isDnsLabel(g.sourceNamespace)) return bad(`${key}.sourceNamespace`, "not a namespace name", "name the namespace whose sources may fan out");
        if (g.namespaces !== undefined && (!Array.isArray(g.namespaces) || g.namespaces.some((n) => !isDnsLabel(n)))) {
            return bad(`${key}.namespaces`, "not a list of namespace names", "list target namespaces by name");
        }
        if (g.namespaceSelector !== undefined) {
            if (typeof g.namespaceSelector !== "string") return bad(`${key}.namespaceSelector`, "not a string", 'write a label selector like "team=a"');
            try {
                parseLabelSelector(g.namespaceSelector);
            } catch (e) {
                return bad(`${key}.namespaceSelector`, (e as Error).message, 'write a label selector like "team=a"');
            }
        }
        if (g.namespaces === undefined && g.namespaceSelector === undefined) return bad(key, "allows no namespace", "set namespaces and/or namespaceSelector");
        return { sourceNamespace: g.sourceNamespace, namespaces: g.namespaces as string[] | undefined, namespaceSelector: g.namespaceSelector as string | undefined };
    });
    const seen = new Set<string>();
    const hooks = hooksRaw.map((b, i): HookBinding => {
        const key = `hooks[${i}]`;
        if (!isRecord(b) || !isRecord(b.source)) return bad(key, "needs source: {namespace, name}", "name the source secret the hooks belong to");
        for (const k of Object.keys(b)) if (k !== "source" && k !== "hooks") bad(`${key}.${k}`, "unknown field", "use only source and hooks");
        const { namespace, name } = b.source;
        if (!isDnsLabel(namespace)) return bad(`${key}.source.namespace`, "not a namespace name", "name the source's namespace");
        if (!isDnsSubdomain(name)) return bad(`${key}.source.name`, "not a secret name", "name the source secret");
        const id = `${namespace}/${name}`;
        if (seen.has(id)) bad(key, `source ${id} is listed twice`, "merge its hooks into one entry");
        seen.add(id);
        let specs: HookSpec[];
        try {
            specs = parseHookList(b.hooks, `${key}.hooks of ${id}`);
        } catch (e) {
            // parseHookList's message already names the entry and the fix.
            throw new PolicyError(object, `${key}.hooks`, (e as Error).message.replace(/; fix: .*$/, ""), (e as Error).message.replace(/^.*; fix: /, ""));
        }
        return { source: { namespace, name }, hooks: specs };
    });
    return { fanOut, hooks, ...(pauseRestarts ? { pauseRestarts } : {}) };
}

/**
 * Whether the administrator lets sources in `sourceNamespace` write into `targetNamespace` (pure). A source's own
 * namespace needs no grant: whoever can annotate the source can already write Secrets there.
 */
export function fanOutAllowed(policy: ReconcilerPolicy, sourceNamespace: string, targetNamespace: string, targetLabels: Record<string, string> | undefined): boolean {
    if (sourceNamespace === targetNamespace) return true;
    return policy.fanOut.some(
        (g) =>
            g.sourceNamespace === sourceNamespace &&
            ((g.namespaces ?? []).includes(targetNamespace) || (g.namespaceSelector !== undefined && matchesLabelSelector(targetLabels, g.namespaceSelector))),
    );
}

/** The hooks the administrator declared for one source ("ns/name"); [] when none. */
export function hooksFor(policy: ReconcilerPolicy, sourceKey: string): HookSpec[] {
    return policy.hooks.find((b) => `${b.source.namespace}/${b.source.name}` === sourceKey)?.hooks ?? [];
}

/** Canonical text of a policy, for the ConfigMap the stack renders (stable key order: no diff on a no-op preview). */
export function renderPolicy(policy: ReconcilerPolicy): string {
    // Total order (two grants may share a sourceNamespace) and canonical key order: the text depends only on content.
    const byKey = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
    const sortedFanOut = [...policy.fanOut].sort(byKey((g) => `${g.sourceNamespace}\n${canonicalJson(g)}`));
    const sortedHooks = [...policy.hooks].sort(byKey((b) => `${b.source.namespace}/${b.source.name}`));
    return canonicalJson({ fanOut: sortedFanOut, hooks: sortedHooks, ...(policy.pauseRestarts ? { pauseRestarts: policy.pauseRestarts } : {}) });
}
