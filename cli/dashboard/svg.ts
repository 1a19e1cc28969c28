import { Graph, GraphNode } from "../model";
import { stateColor } from "../render";

/** The dependency graph as inline SVG (pure): three columns, sources → derived secrets → workloads. Names only. */

export const escapeXml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const COL_X = { source: 10, derived: 350, workload: 690 } as const;
const NODE_W = 300;
const NODE_H = 24;
const ROW_H = 32;
const FILL = { green: "#e6f4ea", yellow: "#fff4d6", red: "#fde7e9", dim: "#eeeeee", bold: "#eeeeee" } as const;
const STROKE = { green: "#1e7e34", yellow: "#b7791f", red: "#c53030", dim: "#888888", bold: "#333333" } as const;

function truncate(s: string, n: number): string {
    return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export function renderGraphSvg(g: Graph): string {
    if (g.nodes.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40" role="img" aria-label="dependency graph"><text x="10" y="24" font-family="sans-serif" font-size="13">Nothing to draw: no derived secrets in scope.</text></svg>`;
    // Order: sources as listed; derived secrets in the order of their first source; workloads in the order of their first secret.
    const order: Record<GraphNode["kind"], GraphNode[]> = { source: [], derived: [], workload: [] };
    const placed = new Set<string>();
    const place = (n: GraphNode | undefined) => {
        if (n && !placed.has(n.id)) {
            placed.add(n.id);
            order[n.kind].push(n);
        }
    };
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    for (const n of g.nodes) if (n.kind === "source") place(n);
    for (const s of order.source) for (const e of g.edges) if (e.from === s.id) place(byId.get(e.to));
    for (const n of g.nodes) if (n.kind === "derived") place(n);
    for (const d of [...order.source, ...order.derived]) for (const e of g.edges) if (e.from === d.id && byId.get(e.to)?.kind === "workload") place(byId.get(e.to));
    for (const n of g.nodes) place(n);
    const pos = new Map<string, { x: number; y: number }>();
    for (const kind of ["source", "derived", "workload"] as const) order[kind].forEach((n, i) => pos.set(n.id, { x: COL_X[kind], y: 34 + i * ROW_H }));
    const rows = Math.max(order.source.length, order.derived.length, order.workload.length);
    const height = 34 + rows * ROW_H + 8;
    const parts: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="${height}" viewBox="0 0 1000 ${height}" role="img" aria-label="dependency graph" font-family="sans-serif" font-size="12">`,
        `<g fill="#555" font-weight="bold"><text x="${COL_X.source}" y="18">Sources</text><text x="${COL_X.derived}" y="18">Derived secrets</text><text x="${COL_X.workload}" y="18">Workloads (restart-on)</text></g>`,
    ];
    for (const e of g.edges) {
        const a = pos.get(e.from);
        const b = pos.get(e.to);
        if (!a || !b) continue;
        const x1 = a.x + NODE_W;
        const y1 = a.y + NODE_H / 2;
        const x2 = b.x;
        const y2 = b.y + NODE_H / 2;
        const mid = (x1 + x2) / 2;
        parts.push(`<path d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}" fill="none" stroke="#999" stroke-width="1.2" data-from="${escapeXml(e.from)}" data-to="${escapeXml(e.to)}"/>`);
    }
    for (const n of g.nodes) {
        const p = pos.get(n.id)!;
        const sourceProblem = n.kind === "source" && (n.state === "missing" || n.state === "not-permitted");
        const c = n.kind === "derived" && n.state ? stateColor(n.state) : sourceProblem ? "red" : "dim";
        const label = n.kind === "derived" || sourceProblem ? `${n.label} · ${n.state === "missing" ? "not found" : n.state}` : n.label;
        parts.push(
            `<g data-node="${escapeXml(n.id)}" data-kind="${n.kind}"><title>${escapeXml(label)}</title>` +
                `<rect x="${p.x}" y="${p.y}" width="${NODE_W}" height="${NODE_H}" rx="4" fill="${FILL[c]}" stroke="${STROKE[c]}"/>` +
                `<text x="${p.x + 6}" y="${p.y + 16}" fill="#222">${escapeXml(truncate(label, 46))}</text></g>`,
        );
    }
    parts.push("</svg>");
    return parts.join("");
}
