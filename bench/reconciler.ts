/**
 * Reconciler benchmark on a real apiserver (prints a table; not a test).
 *   npm run bench:reconciler -- [--sizes=1000,10000] [--sample=200] [--copies=1000] [--kubeconfig=PATH]
 * Without --kubeconfig it starts its own environment (test/env). The reconciler runs as a separate process
 * (compiled dist/reconciler/main.js, as in the image) so its RSS is its own.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { ANNOTATION_FAN_OUT, deriveSecret, LABEL_SOURCE } from "../derive";
import { KubeClient } from "../reconciler/kube";
import { startTestEnv } from "../test/env";

const ROOT = path.resolve(__dirname, "..");

function flag(name: string, def: string): string {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? a.slice(name.length + 3) : def;
}

/** The same V8 flags as the image's ENTRYPOINT (reconciler/Dockerfile): a small young generation keeps RSS down. */
const NODE_FLAGS = flag("node-flags", "--max-semi-space-size=2 --optimize-for-size").split(" ").filter(Boolean);

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
    let i = 0;
    await Promise.all(Array.from({ length: n }, async () => {
        while (i < items.length) await fn(items[i++]);
    }));
}

function pct(xs: number[], p: number): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const p = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(p));
        });
    });
}

function rssMiB(pid: number): { rss: number; hwm: number } {
    const st = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

async function metric(port: number, name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let sum = 0;
    for (const l of text.split("\n")) if (l.startsWith(name)) sum += Number(l.split(" ").pop());
    return sum;
}

/** A watch that resolves a waiter when a secret's `password` becomes the expected value. */
class Observer {
    private waiters = new Map<string, { value: string; resolve: (t: number) => void }>();
    private count = 0;
    private countWaiter?: { n: number; resolve: () => void };
    constructor(private readonly client: KubeClient) {}
    async start(path: string, labelSelector: string): Promise<() => void> {
        const list = await this.client.request("GET", path, { query: { labelSelector, limit: 1 } });
        const h = await this.client.watch(path, { labelSelector, resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 3600 }, (ev) => {
            const t = performance.now();
            const o = ev.object;
            if (ev.type === "ADDED") {
                this.count++;
                if (this.countWaiter && this.count >= this.countWaiter.n) this.countWaiter.resolve();
            }
            const key = `${o?.metadata?.namespace}/${o?.metadata?.name}`;
            const w = this.waiters.get(key);
            if (w && o?.data?.password === w.value) {
                this.waiters.delete(key);
                w.resolve(t);
            }
        }, () => undefined);
        return () => h.abort();
    }
    expect(key: string, value: string): Promise<number> {
        return new Promise((resolve) => this.waiters.set(key, { value: b64(value), resolve }));
    }
    resetCount(): void {
        this.count = 0;
    }
    waitAdded(n: number): Promise<void> {
        if (this.count >= n) return Promise.resolve();
        return new Promise((resolve) => (this.countWaiter = { n, resolve }));
    }
}

async function main(): Promise<void> {
    const sizes = flag("sizes", "1000,10000").split(",").map(Number);
    const sample = Number(flag("sample", "200"));
    const copies = Number(flag("copies", "1000"));
    let kubeconfigPath = flag("kubeconfig", "");
    let stopEnv: (() => Promise<void>) | undefined;
    if (!kubeconfigPath) {
        process.stderr.write("[bench] starting test environment...\n");
        const env = await startTestEnv();
        kubeconfigPath = env.kubeconfigPath;
        stopEnv = () => env.stop();
    }
    process.stderr.write("[bench] compiling dist/ (npm run build:dist)...\n");
    execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const client = await KubeClient.create(kc);
    const rows: string[][] = [];
    let child: ChildProcess | undefined;
    let port = 0;

    const startReconciler = async () => {
        port = await freePort();
        child = spawn(process.execPath, [...NODE_FLAGS, "dist/reconciler/main.js", `--kubeconfig=${kubeconfigPath}`, "--leader-election=false", `--metrics-port=${port}`, "--rate=5000", "--burst=5000", "--workers=8", "--log-level=warn"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
        for (;;) {
            try {
                if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) break;
            } catch {
                /* not listening yet */
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    };
    const settle = async () => {
        let last = -1;
        for (;;) {
            const depth = await metric(port, "platform_secrets_queue_depth");
            const writes = await metric(port, "platform_secrets_writes_total");
            if (depth === 0 && writes === last) return;
            last = writes;
            await new Promise((r) => setTimeout(r, 1500));
        }
    };
    const stopReconciler = async () => {
        if (!child) return;
        const c = child;
        child = undefined;
        c.kill("SIGTERM");
        await new Promise((r) => c.once("exit", r));
    };

    try {
        for (const n of sizes) {
            const ns = `bench-${n}-${Date.now() % 100000}`;
            await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ns } } });
            process.stderr.write(`[bench] creating ${n} sources + ${n} derived in ${ns}...\n`);
            const t0 = performance.now();
            await pool([...Array(n).keys()], 32, async (i) => {
                const src = { apiVersion: "v1", kind: "Secret", metadata: { name: `src-${i}`, namespace: ns, labels: { [LABEL_SOURCE]: "true" } }, type: "Opaque", data: { password: b64(`v0-${i}`) } };
                const created = await client.request("POST", `/api/v1/namespaces/${ns}/secrets`, { body: src });
                const desired = deriveSecret(created, { format: "mirror", source: { namespace: ns, name: `src-${i}` }, target: { namespace: ns, name: `dst-${i}` } });
                await client.request("POST", `/api/v1/namespaces/${ns}/secrets`, { body: { apiVersion: "v1", kind: "Secret", ...desired } });
            });
            process.stderr.write(`[bench] created in ${((performance.now() - t0) / 1000).toFixed(1)} s; starting reconciler\n`);
            const s0 = performance.now();
            await startReconciler();
            await settle();
            const startup = (performance.now() - s0) / 1000;
            const obs = new Observer(client);
            const stopWatch = await obs.start(`/api/v1/namespaces/${ns}/secrets`, "platform-secrets.io/derived=true");
            const lat: number[] = [];
            for (let j = 0; j < sample; j++) {
                const i = Math.floor((j * n) / sample);
                const v = `rot-${j}-${Date.now()}`;
                const seen = obs.expect(`${ns}/dst-${i}`, v);
                const s = await client.request("GET", `/api/v1/namespaces/${ns}/secrets/src-${i}`);
                s.data.password = b64(v);
                const tw = performance.now();
                await client.request("PUT", `/api/v1/namespaces/${ns}/secrets/src-${i}`, { body: s });
                lat.push((await seen) - tw);
            }
            // Floor: a raw PUT of a watched secret and its watch event, no reconciler in between.
            await client.request("POST", `/api/v1/namespaces/${ns}/secrets`, { body: { metadata: { name: "floor", labels: { "bench-floor": "true" } }, type: "Opaque", data: { password: b64("f") } } });
            const fobs = new Observer(client);
            const stopFloor = await fobs.start(`/api/v1/namespaces/${ns}/secrets`, "bench-floor=true");
            const floor: number[] = [];
            for (let j = 0; j < sample; j++) {
                const v = `floor-${j}-${Date.now()}`;
                const seen = fobs.expect(`${ns}/floor`, v);
                const d = await client.request("GET", `/api/v1/namespaces/${ns}/secrets/floor`);
                d.data.password = b64(v);
                const tw = performance.now();
                await client.request("PUT", `/api/v1/namespaces/${ns}/secrets/floor`, { body: d });
                floor.push((await seen) - tw);
            }
            stopFloor();
            stopWatch();
            await settle();
            const mem = rssMiB(child!.pid!);
            const f = (x: number) => x.toFixed(1);
            rows.push([`${n}`, f(pct(lat, 50)), f(pct(lat, 95)), f(pct(lat, 99)), f(pct(floor, 50)), f(pct(floor, 99)), f(mem.rss), f(mem.hwm), startup.toFixed(1)]);
            if (n !== sizes[sizes.length - 1]) await stopReconciler();
        }
        let copyRow = "skipped";
        if (copies > 0) {
            if (!child) await startReconciler();
            const label = `bench-copy-${Date.now() % 100000}`;
            process.stderr.write(`[bench] creating ${copies} namespaces...\n`);
            const nss = [...Array(copies).keys()].map((i) => `${label}-${i}`);
            await pool(nss, 32, async (name) => {
                await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name, labels: { [label]: "yes" } } } });
            });
            const srcNs = `${label}-src`;
            await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: srcNs } } });
            await client.request("POST", `/api/v1/namespaces/${srcNs}/secrets`, { body: { metadata: { name: "shared", labels: { [LABEL_SOURCE]: "true" } }, type: "Opaque", data: { password: b64("copy-me") } } });
            await settle();
            const obs = new Observer(client);
            const stopWatch = await obs.start("/api/v1/secrets", "platform-secrets.io/derived=true");
            obs.resetCount();
            const s = await client.request("GET", `/api/v1/namespaces/${srcNs}/secrets/shared`);
            s.metadata.annotations = { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaceSelector: `${label}=yes` }]) };
            const t0 = performance.now();
            await client.request("PUT", `/api/v1/namespaces/${srcNs}/secrets/shared`, { body: s });
            await obs.waitAdded(copies);
            copyRow = `${((performance.now() - t0) / 1000).toFixed(2)} s`;
            stopWatch();
            await settle();
            const mem = rssMiB(child!.pid!);
            rows.push([`copies`, "", "", "", "", "", mem.rss.toFixed(1), mem.hwm.toFixed(1), ""]);
        }
        const head = ["sources", "p50 ms", "p95 ms", "p99 ms", "floor p50", "floor p99", "RSS MiB", "peak MiB", "startup s"];
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(w[i])).join(" | ")} |`;
        process.stdout.write(`\n${line(head)}\n|${w.map((x) => "-".repeat(x + 2)).join("|")}|\n${rows.map(line).join("\n")}\n`);
        process.stdout.write(`\nsample ${sample} rotations per size (source PUT → derived MODIFIED seen by a separate watch); floor = raw PUT → watch event\n`);
        process.stdout.write(`${copies} namespace copies (fan-out annotation set → all copies ADDED): ${copyRow}\n`);
        process.stdout.write(`targets: p50 <= 50 ms, p99 <= 250 ms at 10,000; RSS <= 100 MiB; 1,000 copies <= 5 s\n`);
    } finally {
        await stopReconciler();
        client.close();
        await stopEnv?.();
    }
}

main().then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`bench failed: ${String(e?.stack ?? e)}\n`);
        process.exit(1);
    },
);
