import { ANNOTATION_FAN_OUT, ANNOTATION_FORMAT, ANNOTATION_SOURCE_NAME, ANNOTATION_SOURCE_NAMESPACE, recipeFromSecret } from "../derive";
import {
    ANNOTATION_FAN_OUT_OWNER,
    ANNOTATION_FAN_OUT_STATUS,
    ANNOTATION_STATUS,
    ANNOTATION_STATUS_MESSAGE,
    ANNOTATION_STATUS_TIME,
    ANNOTATION_SYNC_HANDLED,
    ANNOTATION_SYNC_REQUESTED,
    SYNC_STATUSES,
    SyncStatus,
} from "../reconciler/api";
import type { ClusterView, SourceInfo, WorkloadInfo } from "./collect";
import { key, printable, SlimSecret } from "./kube";

/** What `status`, `explain` and the dashboard report (pure functions over a ClusterView; names and states only). */

export type RowState = SyncStatus | "pending" | "unknown";
export const ROW_STATES: readonly RowState[] = [...SYNC_STATUSES, "pending", "unknown"];

export interface StatusRow {
    /** "ns/name" of the derived secret or fan-out target. */
    target: string;
    namespace: string;
    name: string;
    source: string;
    /** "derived" (named its source itself) or "fan-out" (created by the source's fan-out declaration). */
    kind: "derived" | "fan-out";
    format?: string;
    state: RowState;
    message: string;
    /** When the status last changed (ISO), if recorded. */
    since?: string;
    /** Seconds since `since`. */
    ageSeconds?: number;
    /** false: known only from the source's fan-out status (the target itself was not readable or not listed). */
    visible: boolean;
    /** A sync request not yet acknowledged by the reconciler. */
    syncPending: boolean;
}

export interface SourceGroup {
    source: string;
    sourceState: SourceInfo["state"] | "unknown";
    /** Counts of the source's fan-out status, when it declares a fan-out. */
    fanOut?: { counts: Record<string, number>; truncated: number };
    syncPending: boolean;
    rows: StatusRow[];
}

export interface StatusReport {
    generatedAt: string;
    scope: string;
    groups: SourceGroup[];
    totals: Record<RowState, number>;
    notPermitted: string[];
    problems: string[];
    /** Every row in sync (and at least nothing known to be out of sync). */
    inSync: boolean;
}

export interface FanOutStatusDoc {
    counts: Record<string, number>;
    targets: { target: string; state: string; reason?: string }[];
    truncated: number;
}

/** The source's fan-out status annotation, or undefined when absent or unreadable (pure). */
export function parseFanOutStatus(raw: string | undefined): FanOutStatusDoc | undefined {
    if (!raw) return undefined;
    try {
        const d = JSON.parse(raw);
        if (typeof d !== "object" || d === null || !Array.isArray(d.targets)) return undefined;
        // JSON escapes (\u001b) decode to raw control characters: made printable again after the parse.
        const targets = (d.targets as { target?: unknown; state?: unknown; reason?: unknown }[])
            .filter((t) => typeof t?.target === "string")
            .map((t) => ({ target: printable(String(t.target)), state: printable(String(t.state ?? "")), ...(t.reason !== undefined ? { reason: printable(String(t.reason)) } : {}) }));
        const counts = typeof d.counts === "object" && d.counts ? Object.fromEntries(Object.entries(d.counts as Record<string, unknown>).map(([k, n]) => [printable(k), Number(n) || 0])) : {};
        return { counts, targets, truncated: Number(d.truncated) || 0 };
    } catch {
        return undefined;
    }
}

function asState(s: string | undefined): RowState {
    return s !== undefined && (ROW_STATES as readonly string[]).includes(s) ? (s as RowState) : "unknown";
}

function syncPending(a: Record<string, string>): boolean {
    return a[ANNOTATION_SYNC_REQUESTED] !== undefined && a[ANNOTATION_SYNC_REQUESTED] !== a[ANNOTATION_SYNC_HANDLED];
}

/** One derived secret as a row (pure). */
export function rowOf(d: SlimSecret, now: number): StatusRow {
    const a = d.annotations;
    const source = a[ANNOTATION_SOURCE_NAMESPACE] && a[ANNOTATION_SOURCE_NAME] ? `${a[ANNOTATION_SOURCE_NAMESPACE]}/${a[ANNOTATION_SOURCE_NAME]}` : "?";
    const recipeOk = recipeFromSecret({ metadata: d }) !== undefined;
    const since = a[ANNOTATION_STATUS_TIME];
    const t = since ? Date.parse(since) : NaN;
    let state = asState(a[ANNOTATION_STATUS]);
    let message = a[ANNOTATION_STATUS_MESSAGE] ?? "the reconciler has not reported on this secret yet (is it running, and does it watch this namespace?)";
    if (!recipeOk && a[ANNOTATION_STATUS] === undefined) {
        state = "error";
        message = `the recipe annotations of ${key(d)} are missing or malformed; re-create it through the stack`;
    }
    return {
        target: key(d),
        namespace: d.namespace,
        name: d.name,
        source,
        kind: a[ANNOTATION_FAN_OUT_OWNER] ? "fan-out" : "derived",
        format: a[ANNOTATION_FORMAT],
        state,
        message,
        since,
        ageSeconds: Number.isFinite(t) ? Math.max(0, Math.round((now - t) / 1000)) : undefined,
        visible: true,
        syncPending: syncPending(a),
    };
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function scopeText(v: ClusterView): string {
    return v.scope.kind === "all" ? "all namespaces" : `namespace ${v.scope.namespace}`;
}

/** The status report of a view, optionally only for one source ("ns/name") (pure). */
export function buildStatus(view: ClusterView, now: number, onlySource?: string): StatusReport {
    const groups = new Map<string, SourceGroup>();
    const group = (src: string): SourceGroup => {
        let g = groups.get(src);
        if (!g) {
            const info = view.sources.get(src);
            const fan = parseFanOutStatus(info?.secret?.annotations[ANNOTATION_FAN_OUT_STATUS]);
            g = { source: src, sourceState: info?.state ?? "unknown", syncPending: info?.secret ? syncPending(info.secret.annotations) : false, rows: [], ...(fan ? { fanOut: { counts: fan.counts, truncated: fan.truncated } } : {}) };
            groups.set(src, g);
        }
        return g;
    };
    for (const d of view.derived) {
        const r = rowOf(d, now);
        group(r.source).rows.push(r);
    }
    // Fan-out targets known only from their source's status (refused, pending, or in namespaces the user cannot read).
    for (const info of view.sources.values()) {
        const fan = parseFanOutStatus(info.secret?.annotations[ANNOTATION_FAN_OUT_STATUS]);
        if (!info.secret || (!fan && info.secret.annotations[ANNOTATION_FAN_OUT] === undefined)) continue;
        const g = group(info.key);
        for (const t of fan?.targets ?? []) {
            if (g.rows.some((r) => r.target === t.target)) continue;
            const [namespace, name] = t.target.split("/");
            const state = asState(t.state);
            g.rows.push({
                target: t.target,
                namespace,
                name,
                source: info.key,
                kind: "fan-out",
                state,
                message: t.reason ?? (state === "in-sync" ? `in sync with source ${info.key}` : state),
                visible: false,
                syncPending: false,
            });
        }
    }
    if (onlySource) group(onlySource);
    let list = [...groups.values()].sort((a, b) => byKey(a.source, b.source));
    if (onlySource) list = list.filter((g) => g.source === onlySource);
    for (const g of list) g.rows.sort((a, b) => byKey(a.target, b.target));
    const totals = Object.fromEntries(ROW_STATES.map((s) => [s, 0])) as Record<RowState, number>;
    for (const g of list) for (const r of g.rows) totals[r.state]++;
    const inSync = list.every(groupInSync);
    return { generatedAt: new Date(now).toISOString(), scope: onlySource ? `source ${onlySource}` : scopeText(view), groups: list, totals, notPermitted: [...view.notPermitted].sort(), problems: view.problems, inSync };
}

/** Every row in sync, and the fan-out counts (which include targets beyond the listed 50) agree. */
export function groupInSync(g: SourceGroup): boolean {
    if (!g.rows.every((r) => r.state === "in-sync")) return false;
    const c = g.fanOut?.counts ?? {};
    return Object.entries(c).every(([s, n]) => s === "in-sync" || !n);
}

/** Exit code of `status`: 1 when anything is known not in sync, 3 when something could not be read, else 0. */
export function statusExitCode(r: StatusReport): number {
    if (!r.inSync) return 1;
    if (r.notPermitted.length > 0 || r.problems.length > 0) return 3;
    return 0;
}

/** "45s", "5m", "3h", "2d" (pure). */
export function formatAge(seconds: number | undefined): string {
    if (seconds === undefined) return "-";
    if (seconds < 120) return `${seconds}s`;
    if (seconds < 2 * 3600) return `${Math.floor(seconds / 60)}m`;
    if (seconds < 2 * 86400) return `${Math.floor(seconds / 3600)}h`;
    return `${Math.floor(seconds / 86400)}d`;
}

// ---- dependency graph: sources → derived secrets → workloads ----

export interface GraphNode {
    id: string;
    kind: "source" | "derived" | "workload";
    label: string;
    state?: RowState | SourceInfo["state"];
}

export interface GraphEdge {
    from: string;
    to: string;
}

export interface Graph {
    nodes: GraphNode[];
    edges: GraphEdge[];
}

const secretId = (k: string) => `secret:${k}`;
const workloadId = (w: WorkloadInfo) => `${w.kind}:${w.namespace}/${w.name}`;
const singular: Record<WorkloadInfo["kind"], string> = { deployments: "deployment", statefulsets: "statefulset", daemonsets: "daemonset", rollouts: "rollout" };

/** Sources → derived secrets → the workloads that restart on them (pure). */
export function buildGraph(report: StatusReport, workloads: readonly WorkloadInfo[]): Graph {
    const nodes = new Map<string, GraphNode>();
    const edges: GraphEdge[] = [];
    const secretNodes = new Set<string>();
    for (const g of report.groups) {
        nodes.set(secretId(g.source), { id: secretId(g.source), kind: "source", label: g.source, state: g.sourceState });
        secretNodes.add(g.source);
        for (const r of g.rows) {
            if (!nodes.has(secretId(r.target))) nodes.set(secretId(r.target), { id: secretId(r.target), kind: "derived", label: r.target, state: r.state });
            secretNodes.add(r.target);
            edges.push({ from: secretId(g.source), to: secretId(r.target) });
        }
    }
    for (const w of workloads) {
        const consumed = w.consumes.map((n) => `${w.namespace}/${n}`).filter((k) => secretNodes.has(k));
        if (consumed.length === 0) continue;
        nodes.set(workloadId(w), { id: workloadId(w), kind: "workload", label: `${singular[w.kind]} ${w.namespace}/${w.name}` });
        for (const k of consumed) edges.push({ from: secretId(k), to: workloadId(w) });
    }
    return { nodes: [...nodes.values()], edges };
}
