import { escapeXml } from "./svg";

/**
 * The dashboard's one page (pure). Data arrives from /api/status as JSON and is written with textContent only; the
 * graph SVG is rendered and escaped server-side. Script and style carry the response's CSP nonce.
 */
export function renderPage(o: { nonce: string; refreshMs: number; context: string; scope: string }): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>platform-secrets · ${escapeXml(o.context)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
` + pageStyles(o.nonce) + pageBody(o) + pageScript(o.nonce, o.refreshMs) + `</body></html>
`;
}

/** The page's <style> block (closing <head>), carrying the CSP nonce. */
function pageStyles(nonce: string): string {
    return `<style nonce="${nonce}">
body{font-family:system-ui,sans-serif;margin:1.2rem;color:#222}
h1{font-size:1.3rem;margin:0 0 .3rem}
.meta{color:#666;font-size:.85rem;margin-bottom:.8rem}
.controls{display:flex;gap:.6rem;align-items:center;margin:.6rem 0}
.banner{padding:.5rem .8rem;border-radius:4px;margin:.4rem 0}
.banner.error{background:#fde7e9;border:1px solid #c53030}
.banner.warn{background:#fff4d6;border:1px solid #b7791f}
.banner.ok{background:#e6f4ea;border:1px solid #1e7e34}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
tr.group td{background:#f5f5f7;font-weight:600;border-top:2px solid #ddd}
.badge{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.8rem}
.s-in-sync{background:#e6f4ea;color:#1e7e34}.s-stale,.s-pending,.s-unknown,.s-syncing{background:#fff4d6;color:#8a5a00}
.s-refused,.s-error,.s-source-missing,.s-missing,.s-not-permitted{background:#fde7e9;color:#c53030}
.msg{color:#444;max-width:46rem}.msg.err{color:#c53030;font-weight:600}
h2{font-size:1.05rem;margin-top:1.4rem}
#graph{overflow:auto;border:1px solid #eee;margin-top:.6rem}
button{cursor:pointer}
</style></head>
`;
}

/** The page's static markup: heading, verdict and banners, filter controls, the table, the rotation and graph panels. */
function pageBody(o: { context: string; scope: string }): string {
    return `<body>
<h1>Is everything in sync?</h1>
<div class="meta">context <b>${escapeXml(o.context)}</b> · ${escapeXml(o.scope)} · your own credentials (RBAC decides what you see) · <span id="updated" data-testid="updated">loading…</span></div>
<div id="verdict" data-testid="verdict" class="banner warn">loading…</div>
<div id="banners"></div>
<div class="controls">
<label>Filter <input id="filter" data-testid="filter" placeholder="namespace, name, source, reason"></label>
<label>State <select id="state" data-testid="state-filter"><option value="">all</option><option value="not-in-sync">not in sync</option><option>in-sync</option><option>stale</option><option>source-missing</option><option>refused</option><option>error</option><option>pending</option><option>unknown</option></select></label>
</div>
<table><thead><tr><th>Source / target</th><th>Kind</th><th>Format</th><th>State</th><th>Age</th><th>Reason</th><th></th></tr></thead><tbody id="rows" data-testid="rows"></tbody></table>
<h2>Rotation</h2>
<div id="rotation" data-testid="rotation" class="msg">Choose “Rotation” on a source to follow its last rotation from Vault to the last Pod.</div>
<h2>Dependency graph</h2>
<div id="graph" data-testid="graph"></div>
`;
}

/** The page's <script> element, carrying the CSP nonce; its body is split in parts only to keep each function short. */
function pageScript(nonce: string, refreshMs: number): string {
    return `<script nonce="${nonce}">
` + scriptHelpers(refreshMs) + scriptRotation() + scriptRender() + scriptLoadAndSync() + `</script>
`;
}

/** Script part: the refresh interval, page state and small DOM helpers (element, age, banner, filter, buttons). */
function scriptHelpers(refreshMs: number): string {
    return `"use strict";
const REFRESH_MS = ${Number(refreshMs)};
let data = null;
const syncing = new Map(); // target -> {text, error}
const $ = (id) => document.getElementById(id);
function el(tag, attrs, text) { const e = document.createElement(tag); for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; return e; }
function age(s) { if (s === undefined || s === null) return "-"; if (s < 120) return s + "s"; if (s < 7200) return Math.floor(s / 60) + "m"; if (s < 172800) return Math.floor(s / 3600) + "h"; return Math.floor(s / 86400) + "d"; }
function banner(kind, text) { const b = el("div", { class: "banner " + kind, "data-testid": "banner-" + kind }, text); $("banners").appendChild(b); return b; }
function matches(row, group) {
  const q = $("filter").value.trim().toLowerCase(), st = $("state").value;
  if (st === "not-in-sync" && row.state === "in-sync") return false;
  if (st && st !== "not-in-sync" && row.state !== st) return false;
  return !q || [row.target, group.source, row.message, row.format || "", row.kind].join(" ").toLowerCase().includes(q);
}
function fresh(s) { return s && (!s.done || Date.now() - s.at < 20000) ? s : undefined; }
function syncButton(target, label) {
  const b = el("button", { "data-testid": "sync", "data-target": target }, label);
  b.addEventListener("click", () => sync(target, b));
  return b;
}
function rotationButton(source) {
  const b = el("button", { "data-testid": "rotation-button", "data-source": source }, "Rotation");
  b.addEventListener("click", () => rotation(source));
  return b;
}
`;
}

/** Script part: the rotation panel, read from /api/rotation. */
function scriptRotation(): string {
    return `async function rotation(source) {
  const box = $("rotation");
  box.textContent = "reading the rotation of " + source + "…";
  try {
    const res = await fetch("/api/rotation?source=" + encodeURIComponent(source), { cache: "no-store" });
    const j = await res.json();
    if (!res.ok) throw new Error(j.error || ("HTTP " + res.status));
    box.textContent = "";
    box.appendChild(el("div", { class: "banner " + (j.complete ? "ok" : "error"), "data-testid": "rotation-verdict" }, j.complete ? j.subject + ": every step has the new version" : j.subject + ": first missing step: " + j.firstMissing.kind + " " + j.firstMissing.object + ": " + j.firstMissing.detail));
    const t = el("table", {});
    for (const s of j.steps) {
      const tr = el("tr", { "data-testid": "rotation-step", "data-kind": s.kind, "data-state": s.state });
      const st = el("td", {}); st.appendChild(el("span", { class: "badge s-" + (s.state === "done" ? "in-sync" : s.state === "failed" ? "error" : "pending") }, s.state));
      tr.append(el("td", {}, s.kind), el("td", {}, s.object), st, el("td", { class: "msg" }, s.detail));
      t.appendChild(tr);
    }
    box.appendChild(t);
  } catch (e) {
    box.textContent = "rotation view failed: " + e.message;
  }
}
`;
}

/** Script part: render(), which redraws the verdict, banners, table rows and graph from the last status. */
function scriptRender(): string {
    return `function render() {
  if (!data) return;
  const r = data.report, tbody = $("rows");
  tbody.textContent = "";
  $("banners").textContent = "";
  const v = $("verdict");
  v.className = "banner " + (r.inSync ? "ok" : "error");
  v.textContent = (r.inSync ? "Everything in sync" : "NOT everything is in sync") + " — " + Object.entries(r.totals).filter(([, n]) => n > 0).map(([s, n]) => n + " " + s).join(", ");
  for (const n of r.notPermitted) banner("warn", "Not permitted: " + n + " (your RBAC does not allow reading them)");
  for (const p of r.problems) banner("error", "Could not read: " + p);
  for (const g of r.groups) {
    const rows = g.rows.filter((row) => matches(row, g));
    if (rows.length === 0 && ($("filter").value || $("state").value)) continue;
    const head = el("tr", { class: "group", "data-testid": "group", "data-source": g.source });
    const c1 = el("td", { colspan: "3" }, g.source);
    const c2 = el("td", {}); c2.appendChild(el("span", { class: "badge s-" + g.sourceState }, g.sourceState === "present" ? "source" : g.sourceState));
    const c3 = el("td", { colspan: "2", class: "msg" }, g.fanOut ? "fan-out: " + Object.entries(g.fanOut.counts).map(([s, n]) => n + " " + s).join(", ") + (g.fanOut.truncated ? " (" + g.fanOut.truncated + " not listed)" : "") : "");
    const c4 = el("td", {}); if (g.sourceState === "present") { c4.appendChild(syncButton(g.source, "Sync source")); c4.appendChild(rotationButton(g.source)); }
    head.append(c1, c2, c3, c4);
    tbody.appendChild(head);
    for (const row of rows) {
      const s = fresh(syncing.get(row.target));
      const tr = el("tr", { "data-testid": "row", "data-target": row.target, "data-source": g.source, "data-state": row.state });
      const stateCell = el("td", { "data-testid": "state" });
      stateCell.appendChild(el("span", { class: "badge s-" + (s && !s.done ? "syncing" : row.state) }, s && !s.done ? "syncing…" : row.state));
      const msg = el("td", { class: "msg" + (s && s.error ? " err" : ""), "data-testid": "message" }, s && s.text ? s.text : row.message);
      const act = el("td", {});
      if (row.visible) act.appendChild(syncButton(row.target, "Sync now"));
      tr.append(el("td", { "data-testid": "target" }, "  " + row.target), el("td", {}, row.kind), el("td", {}, row.format || "-"), stateCell, el("td", {}, age(row.ageSeconds)), msg, act);
      tbody.appendChild(tr);
    }
  }
  $("graph").innerHTML = data.graphSvg; // rendered and escaped by the server
}
`;
}

/** Script part: load() from /api/status, sync() via POST /api/sync, the filter listeners and the refresh timer. */
function scriptLoadAndSync(): string {
    return `async function load() {
  try {
    const res = await fetch("/api/status", { cache: "no-store" });
    const j = await res.json();
    if (!res.ok) throw new Error(j.error || ("HTTP " + res.status));
    data = j;
    render();
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("updated").textContent = "refresh failed: " + e.message;
  }
}
async function sync(target, button) {
  button.disabled = true;
  syncing.set(target, { text: "sync requested…" });
  render();
  let entry;
  try {
    const res = await fetch("/api/sync", { method: "POST", headers: { "Content-Type": "application/json", "X-Requested-By": "platform-secrets-dashboard" }, body: JSON.stringify({ target }) });
    const j = await res.json();
    if (!res.ok) entry = { done: true, error: true, text: "✗ " + (j.error || ("HTTP " + res.status)) };
    else entry = { done: true, error: !(j.handled && j.state === "in-sync"), text: (j.handled ? "✓ sync handled in " + (j.waitedMs / 1000).toFixed(1) + " s: " : "✗ ") + j.state + ": " + j.message };
  } catch (e) {
    entry = { done: true, error: true, text: "✗ " + e.message };
  }
  entry.at = Date.now();
  syncing.set(target, entry);
  if (entry.error) { render(); banner("error", target + ": " + entry.text); }
  await load();
  if (entry.error) banner("error", target + ": " + entry.text);
}
$("filter").addEventListener("input", render);
$("state").addEventListener("change", render);
load();
setInterval(load, REFRESH_MS);
`;
}
