import { ANNOTATION_ALLOW_NAMESPACE_SELECTOR, ANNOTATION_ALLOW_NAMESPACES, ANNOTATION_FAN_OUT, ANNOTATION_OPTIONS, fanOutFromSource, grantedNamespaces, grantFix, isDerived, recipeFromSecret, sourceGrants } from "../derive";
import { KubeClient } from "../lib/kube";
import { ANNOTATION_FAN_OUT_OWNER, ANNOTATION_FAN_OUT_STATUS, ANNOTATION_SYNC_REQUESTED, hooksFor, HookSpec, parsePolicy, POLICY_CONFIGMAP_NAME, POLICY_KEY, WORKLOAD_KINDS } from "../reconciler/api";
import { RawWorkload, workloadInfo } from "./collect";
import { AccessError, describeError, DERIVED_SELECTOR, getSlimSecret, isForbidden, isNotFound, listSecrets, printable, SlimSecret } from "./kube";
import { FanOutStatusDoc, parseFanOutStatus, rowOf, StatusRow } from "./model";

/** `explain NS/NAME`: one secret's recipe, source and grant, consumers, hooks, last events and what to do next. */

export interface Explanation {
    object: string;
    role: "derived" | "source" | "plain";
    row?: StatusRow;
    recipe?: { format: string; source: string; options: string };
    source?: { key: string; state: "present" | "missing" | "not-permitted"; grant: string };
    fanOut?: { declared: string; status?: FanOutStatusDoc };
    dependants: { items: string[]; note?: string };
    consumers: { items: string[]; note?: string };
    hooks: { items: string[]; note?: string };
    events: { items: { time: string; type: string; reason: string; message: string }[]; note?: string };
    next: string[];
}

export function describeHook(h: HookSpec): string {
    if (h.type === "postgres") return `postgres: ALTER ROLE ${h.user} at ${h.host}:${h.port ?? 5432} (TLS ${h.tls?.mode ?? "require"})`;
    return h.cronJob ? `job-rerun: a new Job from suspended CronJob ${h.cronJob}` : `job-rerun: re-create Job ${h.job}`;
}

async function readOr<T>(what: string, fn: () => Promise<T>): Promise<{ value?: T; note?: string }> {
    try {
        return { value: await fn() };
    } catch (e) {
        return { note: isForbidden(e) ? `${what}: not permitted for your credentials` : describeError(e, what) };
    }
}

/** The administrator policy's hooks for a source, or a note saying why they cannot be shown. */
async function hooksOf(client: KubeClient, reconcilerNamespace: string, sourceKey: string): Promise<Explanation["hooks"]> {
    const path = `/api/v1/namespaces/${reconcilerNamespace}/configmaps/${POLICY_CONFIGMAP_NAME}`;
    try {
        const cm = await client.request<{ data?: Record<string, string> }>("GET", path);
        const policy = parsePolicy(cm.data?.[POLICY_KEY], `configmap ${reconcilerNamespace}/${POLICY_CONFIGMAP_NAME}`);
        return { items: hooksFor(policy, sourceKey).map(describeHook) };
    } catch (e) {
        if (isForbidden(e)) return { items: [], note: `not shown: reading the administrator policy (configmap ${reconcilerNamespace}/${POLICY_CONFIGMAP_NAME}) is not permitted for your credentials` };
        if (isNotFound(e)) return { items: [], note: `no administrator policy (configmap ${reconcilerNamespace}/${POLICY_CONFIGMAP_NAME}) found; pass --reconciler-namespace if the reconciler runs elsewhere` };
        return { items: [], note: (e as Error).name === "PolicyError" ? `the administrator policy is invalid: ${(e as Error).message}` : describeError(e, "reading the administrator policy") };
    }
}

async function consumersOf(client: KubeClient, namespace: string, name: string): Promise<Explanation["consumers"]> {
    const items: string[] = [];
    const notes: string[] = [];
    for (const kind of WORKLOAD_KINDS) {
        const r = await readOr(`listing ${kind} in namespace ${namespace}`, () => client.request<{ items?: RawWorkload[] }>("GET", `/apis/apps/v1/namespaces/${namespace}/${kind}`));
        if (r.note) notes.push(r.note);
        for (const w of r.value?.items ?? []) {
            const info = workloadInfo(kind, w);
            if (info.problem) notes.push(info.problem);
            else if (info.consumes.includes(name)) items.push(`${kind.replace(/s$/, "")} ${namespace}/${info.name} (restarted when the content changes)`);
        }
    }
    return { items, note: notes.length ? notes.join("; ") : undefined };
}

/** The fields of an Event that are shown (each coerced to a string and made printable). */
interface RawEvent {
    lastTimestamp?: unknown;
    eventTime?: unknown;
    metadata?: { creationTimestamp?: unknown };
    type?: unknown;
    reason?: unknown;
    message?: unknown;
}

async function eventsOf(client: KubeClient, namespace: string, name: string): Promise<Explanation["events"]> {
    const r = await readOr(`reading events in namespace ${namespace}`, () =>
        client.request<{ items?: RawEvent[] }>("GET", `/api/v1/namespaces/${namespace}/events`, { query: { fieldSelector: `involvedObject.kind=Secret,involvedObject.name=${name}` } }),
    );
    const items = (r.value?.items ?? [])
        .map((e) => ({ time: String(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? ""), type: String(e.type ?? ""), reason: printable(String(e.reason ?? "")), message: printable(String(e.message ?? "").slice(0, 400)) }))
        .sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))
        .slice(0, 5);
    return { items, note: r.note };
}

/** Why a derived secret may read its source (pure). */
export function grantText(target: SlimSecret, sourceKey: string, source: SlimSecret | undefined, nsLabels: Record<string, string> | undefined): string {
    const [srcNs] = sourceKey.split("/");
    if (srcNs === target.namespace) return "same namespace: no grant needed";
    if (target.annotations[ANNOTATION_FAN_OUT_OWNER] === sourceKey) return `created by the fan-out of ${sourceKey}, which the administrator's policy allows into namespace ${target.namespace}`;
    if (!source) return `not known: the source is not readable with your credentials. The reconciler needs ${sourceKey} to grant namespace ${target.namespace}`;
    if (grantedNamespaces({ metadata: source }).includes(target.namespace)) return `granted: ${sourceKey} lists ${target.namespace} in ${ANNOTATION_ALLOW_NAMESPACES}`;
    if (sourceGrants({ metadata: source }, target.namespace, nsLabels)) return `granted: namespace ${target.namespace} matches ${ANNOTATION_ALLOW_NAMESPACE_SELECTOR} of ${sourceKey}`;
    return `NOT granted. Fix: ${grantFix(sourceKey, target.namespace)}`;
}

/** What to do next (pure). */
export function nextSteps(x: Omit<Explanation, "next">): string[] {
    const out: string[] = [];
    const r = x.row;
    if (r) {
        if (r.syncPending) out.push("A sync was requested and not yet acknowledged: is the reconciler running and watching this namespace?");
        switch (r.state) {
            case "in-sync":
                out.push("Nothing to do: it is in sync with its source.");
                break;
            case "stale":
                out.push(`Look at the Warning events on ${r.source} (\`platform-secrets explain ${r.source}\`): an init-time hook is failing; the reconciler retries on its own.`);
                break;
            case "source-missing":
                out.push(`Create ${r.source} (or fix the source-namespace/source-name annotations); the last derived value is kept meanwhile.`);
                break;
            case "refused":
                out.push(`Follow the fix in the reason above (the source's owner must grant namespace ${r.namespace}, or the administrator must allow the fan-out), then \`platform-secrets sync ${r.target}\`.`);
                break;
            case "error":
                if (x.recipe) out.push(`Check the source: \`platform-secrets validate --format ${x.recipe.format} --options '${x.recipe.options}' ${x.recipe.source}\`, fix it, and the reconciler rewrites this secret.`);
                else out.push("Re-create this secret through the stack: its recipe annotations are unreadable.");
                break;
            default:
                out.push("The reconciler has not reported yet: check that it runs and watches this namespace (its /healthz and logs).");
        }
    } else if (x.role === "source") {
        const bad = x.fanOut?.status?.targets.filter((t) => t.state !== "in-sync") ?? [];
        if (bad.length) out.push(`Fan-out targets not in sync: ${bad.map((t) => `${t.target} (${t.state})`).join(", ")}; see the reasons above.`);
        out.push(`\`platform-secrets sync ${x.object}\` rewrites every dependant now; \`platform-secrets status --source ${x.object}\` lists them.`);
    } else {
        out.push(`Nothing derives from ${x.object} as far as your credentials show. To derive from it, create a derived secret (stack/provider) or add a ${ANNOTATION_FAN_OUT} declaration.`);
    }
    return out;
}

export async function explain(client: KubeClient, namespace: string, name: string, reconcilerNamespace: string, now: number): Promise<Explanation> {
    const object = `${namespace}/${name}`;
    const secret = await getSlimSecret(client, namespace, name); // 403/404 handled by the caller
    if (!secret) throw new AccessError(`secret ${object} not found (or not visible to you)`);
    const derived = isDerived({ metadata: secret });
    let base: Omit<Explanation, "next" | "hooks" | "consumers" | "events" | "dependants">;
    let sourceKey = object;
    if (derived) {
        const row = rowOf(secret, now);
        const recipe = recipeFromSecret({ metadata: secret });
        sourceKey = row.source;
        const [srcNs, srcName] = sourceKey.split("/");
        let source: Explanation["source"] = { key: sourceKey, state: "missing", grant: "" };
        let srcMeta: SlimSecret | undefined;
        try {
            srcMeta = await getSlimSecret(client, srcNs, srcName);
            source.state = srcMeta ? "present" : "missing";
        } catch (e) {
            if (!isForbidden(e)) throw e;
            source.state = "not-permitted";
        }
        const nsLabels = srcNs === namespace ? undefined : (await readOr("namespace labels", () => client.request<{ metadata?: { labels?: Record<string, string> } }>("GET", `/api/v1/namespaces/${namespace}`))).value?.metadata?.labels;
        source = { ...source, grant: grantText(secret, sourceKey, srcMeta, nsLabels) };
        base = { object, role: "derived", row, source, ...(recipe ? { recipe: { format: recipe.format, source: sourceKey, options: secret.annotations[ANNOTATION_OPTIONS] ?? "{}" } } : {}) };
    } else {
        let declared: string | undefined;
        if (secret.annotations[ANNOTATION_FAN_OUT] !== undefined) {
            try {
                declared = fanOutFromSource({ metadata: secret }).map((s) => `${s.format} → ${[...(s.namespaces ?? []), ...(s.namespaceSelector ? [`namespaces matching "${s.namespaceSelector}"`] : [])].join(", ")} as ${s.targetName ?? name}`).join("; ");
            } catch (e) {
                declared = `INVALID: ${(e as Error).message}`;
            }
        }
        base = { object, role: declared !== undefined || secret.annotations[ANNOTATION_FAN_OUT_STATUS] || secret.annotations[ANNOTATION_SYNC_REQUESTED] ? "source" : "plain", ...(declared !== undefined ? { fanOut: { declared, status: parseFanOutStatus(secret.annotations[ANNOTATION_FAN_OUT_STATUS]) } } : {}) };
    }
    // Derived secrets naming this one as their source (cluster-wide if the user may, else its own namespace).
    const dependants: Explanation["dependants"] = { items: [] };
    if (!derived) {
        let all: SlimSecret[] | undefined;
        try {
            all = await listSecrets(client, "/api/v1/secrets", DERIVED_SELECTOR);
        } catch (e) {
            if (!isForbidden(e)) throw e;
            dependants.note = `only namespace ${namespace} searched: listing secrets in all namespaces is not permitted for your credentials`;
            all = await listSecrets(client, `/api/v1/namespaces/${namespace}/secrets`, DERIVED_SELECTOR);
        }
        for (const d of all) {
            const r = rowOf(d, now);
            if (r.source === object) dependants.items.push(`${r.target} [${r.state}]`);
        }
        if (dependants.items.length && base.role === "plain") base = { ...base, role: "source" };
    }
    const [hooks, consumers, events] = await Promise.all([
        base.role === "plain" ? Promise.resolve({ items: [] }) : hooksOf(client, reconcilerNamespace, sourceKey),
        consumersOf(client, namespace, name),
        eventsOf(client, namespace, name),
    ]);
    const x = { ...base, dependants, hooks, consumers, events };
    return { ...x, next: nextSteps(x) };
}

export function explainExitCode(x: Explanation): number {
    if (x.row) return x.row.state === "in-sync" ? 0 : 1;
    if (x.fanOut?.status?.targets.some((t) => t.state !== "in-sync")) return 1;
    return 0;
}

/** Plain-text rendering (pure). */
export function renderExplanation(x: Explanation, paintState: (s: string) => string): string {
    const out: string[] = [];
    const sec = (title: string, items: string[], note?: string) => {
        out.push(`${title}:`);
        if (items.length === 0 && !note) out.push("  none");
        for (const i of items) out.push(`  - ${i}`);
        if (note) out.push(`  (${note})`);
    };
    out.push(`${x.object}: ${x.role === "derived" ? `derived secret (${x.row?.kind})` : x.role === "source" ? "source secret" : "a secret platform-secrets does not manage"}`);
    if (x.row) {
        out.push(`status: ${paintState(x.row.state)}${x.row.since ? ` since ${x.row.since}` : ""}${x.row.syncPending ? " (sync requested, not yet handled)" : ""}`);
        out.push(`reason: ${x.row.message}`);
    }
    if (x.recipe) out.push(`recipe: format ${x.recipe.format}, source ${x.recipe.source}, options ${x.recipe.options}`);
    if (x.source) {
        out.push(`source: ${x.source.key} (${x.source.state === "not-permitted" ? "not permitted to read" : x.source.state})`);
        out.push(`grant: ${x.source.grant}`);
    }
    if (x.fanOut) {
        out.push(`fan-out: ${x.fanOut.declared}`);
        const s = x.fanOut.status;
        if (s) {
            out.push(`fan-out status: ${Object.entries(s.counts).map(([k, n]) => `${n} ${k}`).join(", ")}${s.truncated ? ` (${s.truncated} targets not listed)` : ""}`);
            for (const t of s.targets) out.push(`  - ${t.target}: ${paintState(t.state)}${t.reason ? ` — ${t.reason}` : ""}`);
        }
    }
    if (x.role !== "derived") sec("derived from it", x.dependants.items, x.dependants.note);
    sec("consumers", x.consumers.items, x.consumers.note);
    sec(`hooks (administrator policy${x.source ? ` for ${x.source.key}` : ""})`, x.hooks.items, x.hooks.note);
    sec("last events", x.events.items.map((e) => `${e.time} ${e.type} ${e.reason}: ${e.message}`), x.events.note);
    out.push("next:");
    for (const n of x.next) out.push(`  → ${n}`);
    return out.join("\n") + "\n";
}
