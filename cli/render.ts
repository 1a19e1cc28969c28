import * as YAML from "yaml";
import { formatAge, Graph, GraphNode, groupInSync, RowState, StatusReport } from "./model";

/** Text renderings (pure). Colours are ANSI and only applied when the caller says so (a TTY without NO_COLOR). */

export interface Style {
    color: boolean;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export function paint(s: string, c: keyof typeof CODES, style: Style): string {
    return style.color ? `\u001b[${CODES[c]}m${s}\u001b[0m` : s;
}

export function stateColor(s: string): keyof typeof CODES {
    if (s === "in-sync" || s === "present") return "green";
    if (s === "stale" || s === "pending" || s === "unknown") return "yellow";
    return "red";
}

/** Columns padded on plain text, then coloured (so escape codes never break the alignment). */
function table(header: string[], rows: { cells: string[]; colors?: (keyof typeof CODES | undefined)[]; note?: string }[], style: Style): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i].length)));
    const line = (cells: string[], colors?: (keyof typeof CODES | undefined)[]) =>
        cells
            .map((c, i) => {
                const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]);
                const col = colors?.[i];
                return col ? paint(padded, col, style) : padded;
            })
            .join("  ")
            .trimEnd();
    const out = [paint(line(header), "bold", style)];
    for (const r of rows) {
        out.push(line(r.cells, r.colors));
        if (r.note) out.push(paint(`    ↳ ${r.note}`, "dim", style));
    }
    return out;
}

function countsText(counts: Record<string, number>): string {
    return Object.entries(counts)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${s}`)
        .join(", ") || "none";
}

/** `status -o table`: one line per target, grouped by source; the reason under every row that is not in sync. */
export function renderStatusTable(r: StatusReport, style: Style): string {
    const out: string[] = [];
    const rows: Parameters<typeof table>[1] = [];
    for (const g of r.groups) {
        const srcNote = g.sourceState === "present" || g.sourceState === "unknown" ? "" : ` (${g.sourceState === "not-permitted" ? "not permitted to read" : "not found"})`;
        if (g.rows.length === 0) rows.push({ cells: [`${g.source}${srcNote}`, "-", "-", "-", "-", "-"], note: g.fanOut ? `fan-out declared; no target yet (${countsText(g.fanOut.counts)})` : undefined });
        g.rows.forEach((row, i) => {
            const state = row.syncPending ? `${row.state} (sync requested)` : row.state;
            rows.push({
                cells: [i === 0 ? `${g.source}${srcNote}` : "", row.target, row.kind, row.format ?? "-", state, formatAge(row.ageSeconds)],
                colors: [undefined, undefined, undefined, undefined, stateColor(row.state), undefined],
                note: row.state === "in-sync" ? undefined : row.message,
            });
        });
        if (g.fanOut && g.fanOut.truncated > 0) rows.push({ cells: ["", `… ${g.fanOut.truncated} more fan-out targets`, "", "", groupInSync(g) ? "in-sync" : "see counts", ""], note: `fan-out of ${g.source}: ${countsText(g.fanOut.counts)}` });
    }
    if (rows.length === 0) out.push(r.notPermitted.length ? `Nothing you may read in ${r.scope}.` : `No derived secrets in ${r.scope}.`);
    else out.push(...table(["SOURCE", "TARGET", "KIND", "FORMAT", "STATE", "AGE"], rows, style));
    out.push("");
    out.push(summaryLine(r, style));
    for (const n of r.notPermitted) out.push(paint(`not permitted: ${n} — your RBAC does not allow reading them, so they are not counted`, "yellow", style));
    for (const p of r.problems) out.push(paint(`could not read: ${p}`, "red", style));
    return out.join("\n") + "\n";
}

export function summaryLine(r: StatusReport, style: Style): string {
    const n = Object.values(r.totals).reduce((a, b) => a + b, 0);
    const parts = (Object.entries(r.totals) as [RowState, number][]).filter(([, c]) => c > 0).map(([s, c]) => paint(`${c} ${s}`, stateColor(s), style));
    const verdict = !r.inSync
        ? paint("NOT everything is in sync", "red", style)
        : r.notPermitted.length || r.problems.length
          ? paint(n ? "everything you may read is in sync (some could not be read)" : "nothing could be read", "yellow", style)
          : paint("everything in sync", "green", style);
    return `${r.scope}: ${n} target${n === 1 ? "" : "s"} (${parts.join(", ") || "none"}): ${verdict}`;
}

export function renderStatus(r: StatusReport, output: "table" | "json" | "yaml", style: Style): string {
    if (output === "json") return JSON.stringify(r, null, 2) + "\n";
    if (output === "yaml") return YAML.stringify(r);
    return renderStatusTable(r, style);
}

// ---- graph ----

function nodeText(n: GraphNode): string {
    if (n.kind === "workload") return n.label;
    if (n.kind === "source") return n.state === "missing" ? `${n.label} [not found]` : n.state === "not-permitted" ? `${n.label} [not permitted to read]` : n.label;
    return `${n.label}${n.state ? ` [${n.state}]` : ""}`;
}

/** Text tree: each source, its derived secrets, the workloads restarting on each (pure). */
export function renderGraphText(g: Graph, style: Style): string {
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    const children = (id: string) => g.edges.filter((e) => e.from === id).map((e) => byId.get(e.to)!).filter(Boolean);
    const out: string[] = [];
    const draw = (n: GraphNode, prefix: string, last: boolean, depth: number) => {
        const text = nodeText(n);
        const painted = n.state && n.kind !== "source" ? paint(text, stateColor(n.state), style) : text;
        out.push(depth === 0 ? `${paint("source", "bold", style)} ${painted}` : `${prefix}${last ? "└─ " : "├─ "}${painted}`);
        const kids = children(n.id);
        kids.forEach((k, i) => draw(k, depth === 0 ? "" : prefix + (last ? "   " : "│  "), i === kids.length - 1, depth + 1));
    };
    const sources = g.nodes.filter((n) => n.kind === "source");
    for (const s of sources) draw(s, "", true, 0);
    // Workloads restarting on a source directly appear under it; nothing else is drawn twice.
    if (sources.length === 0) out.push("No derived secrets in scope.");
    return out.join("\n") + "\n";
}

const dotEscape = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

/** Graphviz DOT (pure). */
export function renderGraphDot(g: Graph): string {
    const color = (n: GraphNode) => (n.state ? { green: "darkgreen", yellow: "darkorange", red: "red3", dim: "gray", bold: "black" }[stateColor(n.state)] : "gray30");
    const shape = { source: "folder", derived: "box", workload: "component" } as const;
    const lines = ["digraph platform_secrets {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];'];
    for (const n of g.nodes) lines.push(`  "${dotEscape(n.id)}" [label="${dotEscape(nodeText(n))}", shape=${shape[n.kind]}, color=${color(n)}];`);
    for (const e of g.edges) lines.push(`  "${dotEscape(e.from)}" -> "${dotEscape(e.to)}";`);
    lines.push("}");
    return lines.join("\n") + "\n";
}
