/**
 * The reconciler under test as a separate process, exactly as the image runs it:
 * `node <V8 flags of reconciler/Dockerfile> dist/reconciler/main.js …` (compiled by `npm run build:dist`),
 * so its RSS is its own. Start-up and settling are read from its /readyz and /metrics.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, parseProm, rssMiB, Sample, sleep, sumOf } from "./lib";

export const ROOT = path.resolve(__dirname, "..");

/** The ENTRYPOINT's node flags, read from reconciler/Dockerfile (so the bench follows the image). */
export function dockerfileNodeFlags(): string[] {
    const text = fs.readFileSync(path.join(ROOT, "reconciler/Dockerfile"), "utf8");
    const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text);
    if (!m) throw new Error("reconciler/Dockerfile: no exec-form ENTRYPOINT; pass --node-flags");
    const argv = JSON.parse(m[1]) as string[];
    return argv.slice(1).filter((a) => a.startsWith("--"));
}

export interface ChildOptions {
    kubeconfig: string;
    debounceMs: number;
    nodeFlags: string[];
    /** Extra reconciler flags (e.g. --rate=5000); default none: the deployed defaults. */
    extraArgs: string[];
    logFile: string;
}

/** What "first full reconcile done" waits for. */
export interface Expectation {
    derived: number;
    deployments: number;
}

export class ReconcilerProcess {
    private exited = false;
    private constructor(
        readonly proc: ChildProcess,
        readonly port: number,
        readonly spawnedAt: number,
        readonly logFile: string,
    ) {
        proc.once("exit", () => (this.exited = true));
    }

    static async start(o: ChildOptions): Promise<ReconcilerProcess> {
        const port = await freePort();
        const out = fs.openSync(o.logFile, "a");
        const args = [...o.nodeFlags, "dist/reconciler/main.js", `--kubeconfig=${o.kubeconfig}`, "--leader-election=false", `--metrics-port=${port}`, `--debounce-ms=${o.debounceMs}`, "--log-level=warn", ...o.extraArgs];
        const t = performance.now();
        const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", out, out] });
        fs.closeSync(out);
        return new ReconcilerProcess(proc, port, t, o.logFile);
    }

    get pid(): number {
        return this.proc.pid!;
    }

    private assertAlive(): void {
        if (this.exited) throw new Error(`reconciler exited (code ${this.proc.exitCode}); log: ${this.logFile}\n${tail(this.logFile)}`);
    }

    async metrics(): Promise<Sample[]> {
        this.assertAlive();
        return parseProm(await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text());
    }

    /** ms from spawn until /readyz answers 200 (every informer listed: caches synced). */
    async waitReady(timeoutMs = 600_000): Promise<number> {
        for (;;) {
            this.assertAlive();
            try {
                if ((await fetch(`http://127.0.0.1:${this.port}/readyz`)).ok) return performance.now() - this.spawnedAt;
            } catch {
                /* not listening yet */
            }
            if (performance.now() - this.spawnedAt > timeoutMs) throw new Error(`reconciler not ready after ${timeoutMs} ms; log: ${this.logFile}`);
            await sleep(50);
        }
    }

    /**
     * ms from spawn until the first full reconcile is done: queue empty, every expected derived secret counted
     * `in-sync`, every Deployment reconciled at least once, and no reconcile finishing between two scrapes
     * (the time reported is the first of those two scrapes).
     */
    async waitFirstFullReconcile(e: Expectation, timeoutMs = 1_800_000): Promise<{ ms: number; samples: Sample[] }> {
        let candidate: { at: number; total: number } | undefined;
        for (;;) {
            const at = performance.now();
            const m = await this.metrics();
            const depth = sumOf(m, "platform_secrets_queue_depth");
            const inSync = sumOf(m, "platform_secrets_derived_secrets", { status: "in-sync" });
            const deployments = sumOf(m, "platform_secrets_reconcile_duration_seconds_count", { kind: "deployments" });
            const total = sumOf(m, "platform_secrets_reconcile_duration_seconds_count");
            if (depth === 0 && inSync >= e.derived && deployments >= e.deployments) {
                if (candidate && candidate.total === total) return { ms: candidate.at - this.spawnedAt, samples: m };
                if (!candidate || candidate.total !== total) candidate = { at, total };
            } else candidate = undefined;
            if (at - this.spawnedAt > timeoutMs) throw new Error(`first full reconcile not done after ${timeoutMs} ms (queue ${depth}, in-sync ${inSync}/${e.derived}, deployments ${deployments}/${e.deployments}); log: ${this.logFile}`);
            await sleep(200);
        }
    }

    /** Waits until the queue is empty and no reconcile or write happened for `quietMs`. */
    async settle(quietMs = 2000, timeoutMs = 600_000): Promise<void> {
        const t0 = performance.now();
        let last = "";
        let since = performance.now();
        for (;;) {
            const m = await this.metrics();
            const sig = `${sumOf(m, "platform_secrets_queue_depth")}:${sumOf(m, "platform_secrets_reconcile_duration_seconds_count")}:${sumOf(m, "platform_secrets_writes_total")}`;
            if (sig !== last) {
                last = sig;
                since = performance.now();
            } else if (sumOf(m, "platform_secrets_queue_depth") === 0 && performance.now() - since >= quietMs) return;
            if (performance.now() - t0 > timeoutMs) throw new Error(`reconciler did not settle within ${timeoutMs} ms`);
            await sleep(250);
        }
    }

    rss(): { rss: number; hwm: number } {
        this.assertAlive();
        return rssMiB(this.pid);
    }

    /** SIGTERM (graceful drain), SIGKILL after 15 s; only this child, by its pid. */
    async stop(): Promise<void> {
        if (this.exited) return;
        const exit = new Promise((r) => this.proc.once("exit", r));
        this.proc.kill("SIGTERM");
        const timer = setTimeout(() => this.proc.kill("SIGKILL"), 15_000);
        await exit;
        clearTimeout(timer);
    }

    /** Log lines at warn or above (the child runs with --log-level=warn). */
    logLines(): number {
        try {
            return fs.readFileSync(this.logFile, "utf8").split("\n").filter(Boolean).length;
        } catch {
            return 0;
        }
    }
}

function tail(file: string, n = 20): string {
    try {
        return fs.readFileSync(file, "utf8").split("\n").slice(-n).join("\n");
    } catch {
        return "";
    }
}
