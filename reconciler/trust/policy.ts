import { canonicalJson, isDnsLabel, isDnsSubdomain, matchesLabelSelector, parseLabelSelector } from "../../derive";
import { HookSpec, parseHookList } from "../hooks/hookspec";
import { closedObject, FIX_SEPARATOR, formatPath, parseWith, SchemaProblem, withFix, z } from "../../lib/schema";

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


const GRANT_FORM = "{sourceNamespace, namespaces?, namespaceSelector?}";
const SELECTOR_FIX = 'write a label selector like "team=a"';

const fanOutGrantSchema = closedObject(
    {
        sourceNamespace: z.unknown().refine((v) => isDnsLabel(v), { error: withFix("not a namespace name", "name the namespace whose sources may fan out") }),
        namespaces: z
            .array(z.string(), { error: withFix("not a list of namespace names", "list target namespaces by name") })
            .refine((l) => l.every((n) => isDnsLabel(n)), { error: withFix("not a list of namespace names", "list target namespaces by name") })
            .optional(),
        namespaceSelector: z
            .string({ error: withFix("not a string", SELECTOR_FIX) })
            .check((ctx) => {
                try {
                    parseLabelSelector(ctx.value);
                } catch (e) {
                    ctx.issues.push({ code: "custom", message: withFix((e as Error).message, SELECTOR_FIX), input: ctx.value });
                }
            })
            .optional(),
    },
    withFix("not an object", `use ${GRANT_FORM}`),
).refine((g) => g.namespaces !== undefined || g.namespaceSelector !== undefined, { error: withFix("allows no namespace", "set namespaces and/or namespaceSelector") });

const bindingSchema = closedObject(
    {
        source: closedObject(
            {
                namespace: z.unknown().refine((v) => isDnsLabel(v), { error: withFix("not a namespace name", "name the source's namespace") }),
                name: z.unknown().refine((v) => isDnsSubdomain(v), { error: withFix("not a secret name", "name the source secret") }),
            },
            withFix("needs source: {namespace, name}", "name the source secret the hooks belong to"),
        ),
        // Parsed by the hook list's own parser below, whose messages name the entry.
        hooks: z.unknown().optional(),
    },
    withFix("needs source: {namespace, name}", "name the source secret the hooks belong to"),
);

const PAUSE_PROBLEM = withFix("not {reason: <1-200 printable characters>}", 'write {"reason": "INC-123: no rollouts"} (the stack renders it from platform-secrets:reconcilerPauseRestarts), or drop it to resume');

/** The policy document's envelope; the hook lists are checked per binding (parseHookList). */
export const policySchema = closedObject(
    {
        fanOut: z.array(fanOutGrantSchema, { error: withFix("not an array", `make it a list of ${GRANT_FORM}`) }).default([]),
        hooks: z.array(bindingSchema, { error: withFix("not an array", "make it a list of {source: {namespace, name}, hooks: [...]}") }).default([]),
        // The reason lands in logs and in `platform-secrets status`: one printable line.
        pauseRestarts: z.strictObject({ reason: z.string().regex(/^[^\p{Cc}]{1,200}$/u) }, { error: PAUSE_PROBLEM }).optional(),
    },
    withFix("not a JSON object", 'write {"fanOut":[],"hooks":[]}'),
);

/** Parses the policy document (pure). Throws PolicyError naming the ConfigMap, the key and the fix. */
export function parsePolicy(raw: string | undefined, object: string): ReconcilerPolicy {
    if (raw === undefined || raw.trim() === "") return { fanOut: [], hooks: [] };
    let doc: unknown;
    try {
        doc = JSON.parse(raw);
    } catch {
        throw new PolicyError(object, POLICY_KEY, "not valid JSON", 'write {"fanOut":[],"hooks":[]} (the stack renders it from config)');
    }
    const fail = ({ path, problem, fix }: SchemaProblem): never => {
        // Inside pauseRestarts every problem is the one form it has.
        if (path[0] === "pauseRestarts") throw new PolicyError(object, "pauseRestarts", ...(PAUSE_PROBLEM.split(FIX_SEPARATOR) as [string, string]));
        throw new PolicyError(object, formatPath(path) || POLICY_KEY, problem, fix);
    };
    const parsed = parseWith(policySchema, doc, fail);
    const fanOut = parsed.fanOut.map((g): FanOutGrant => ({ sourceNamespace: g.sourceNamespace as string, namespaces: g.namespaces, namespaceSelector: g.namespaceSelector }));
    const seen = new Set<string>();
    const hooks = parsed.hooks.map((b, i): HookBinding => {
        const key = `hooks[${i}]`;
        const namespace = b.source.namespace as string;
        const name = b.source.name as string;
        const id = `${namespace}/${name}`;
        if (seen.has(id)) throw new PolicyError(object, key, `source ${id} is listed twice`, "merge its hooks into one entry");
        seen.add(id);
        let specs: HookSpec[];
        try {
            specs = parseHookList(b.hooks, `${key}.hooks of ${id}`);
        } catch (e) {
            // parseHookList's message already names the entry and the fix.
            const [problem, fix] = (e as Error).message.split(FIX_SEPARATOR);
            throw new PolicyError(object, `${key}.hooks`, problem, fix);
        }
        return { source: { namespace, name }, hooks: specs };
    });
    return { fanOut, hooks, ...(parsed.pauseRestarts ? { pauseRestarts: { reason: parsed.pauseRestarts.reason } } : {}) };
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
