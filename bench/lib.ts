/** Small helpers shared by the benchmark modules: flags, pools, percentiles, ports, /proc, Prometheus text, tables. */
import * as fs from "node:fs";
import * as net from "node:net";

/** `--name=value` from argv, else `def`. */
export function flag(name: string, def: string): string {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? a.slice(name.length + 3) : def;
}

/** A non-negative integer flag; exits with usage code 2 on anything else. */
export function intFlag(name: string, def: number): number {
    const v = flag(name, String(def));
    if (!/^\d+$/.test(v)) {
        process.stderr.write(`bench: --${name} must be a non-negative integer, got "${v}"\n`);
        process.exit(2);
    }
    return Number(v);
}

export const b64 = (s: string | Buffer) => (typeof s === "string" ? Buffer.from(s) : s).toString("base64");
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** Runs `fn` over `items` with at most `n` in flight; the first failure rejects (after in-flight ones end). */
export async function pool<T>(items: readonly T[], n: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
    let i = 0;
    let failed: unknown;
    await Promise.all(
        Array.from({ length: Math.min(n, items.length) }, async () => {
            while (i < items.length && failed === undefined) {
                const k = i++;
                try {
                    await fn(items[k], k);
                } catch (e) {
                    failed ??= e;
                }
            }
        }),
    );
    if (failed !== undefined) throw failed;
}

/** Retries `fn` on transient apiserver errors (429, 5xx, socket resets) with a short backoff. */
export async function retry<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
    for (let a = 0; ; a++) {
        try {
            return await fn();
        } catch (e) {
            const code = (e as { code?: unknown }).code;
            const transient = code === 429 || (typeof code === "number" && code >= 500) || typeof code === "string";
            if (!transient || a + 1 >= attempts) throw e;
            await sleep(100 * 2 ** a);
        }
    }
}

/** Nearest-rank percentile. */
export function pct(xs: readonly number[], p: number): number {
    if (xs.length === 0) return NaN;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
        s.on("error", reject);
    });
}

/** Resident set and its high-water mark of a process, MiB. */
export function rssMiB(pid: number): { rss: number; hwm: number } {
    const st = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

/** One Prometheus sample: metric name, raw label text (`a="b",c="d"` or ""), value. */
export interface Sample {
    name: string;
    labels: string;
    value: number;
}

export function parseProm(text: string): Sample[] {
    const out: Sample[] = [];
    for (const line of text.split("\n")) {
        if (!line || line.startsWith("#")) continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
        if (m) out.push({ name: m[1], labels: m[3] ?? "", value: Number(m[4]) });
    }
    return out;
}

/** Sum of the samples named `name` whose labels contain every `label="value"` given. */
export function sumOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const s of samples) if (s.name === name && want.every((w) => s.labels.includes(w))) sum += s.value;
    return sum;
}

/** A plain markdown-ish table, columns padded. */
export function table(head: string[], rows: string[][]): string {
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (r: string[]) => `| ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join(" | ")} |`;
    return `${line(head)}\n|${w.map((x) => "-".repeat(x + 2)).join("|")}|\n${rows.map(line).join("\n")}`;
}

export const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "n/a");
export const secs = (msVal: number) => (msVal / 1000).toFixed(1);

/** "p50 / p95 / p99 ms (n=…)" for a latency row. */
export function triple(xs: readonly number[]): string {
    return `${ms(pct(xs, 50))} / ${ms(pct(xs, 95))} / ${ms(pct(xs, 99))} ms (n=${xs.length})`;
}
