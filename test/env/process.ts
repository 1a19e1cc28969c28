import { ChildProcess, spawn } from "node:child_process";
import { createWriteStream, readFileSync, WriteStream } from "node:fs";

/**
 * A server process this environment started. It is only ever stopped by its own pid (SIGTERM, then SIGKILL after
 * a grace period); the process-exit hooks below guarantee that even when the test run dies.
 */
export class ManagedProcess {
    readonly child: ChildProcess;
    private exited = false;
    private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    private readonly exitPromise: Promise<void>;
    private readonly log: WriteStream;
    private readonly stopSignal: NodeJS.Signals;
    private readonly closed: Promise<void>;

    constructor(
        readonly name: string,
        cmd: string,
        args: string[],
        readonly logFile: string,
        opts: { env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number; stopSignal?: NodeJS.Signals } = {},
    ) {
        this.stopSignal = opts.stopSignal ?? "SIGTERM";
        this.log = createWriteStream(logFile, { flags: "a" });
        // Output can trail the exit; a late write after end() must not crash the test run.
        this.log.on("error", () => undefined);
        // detached: the server gets its own process group, so a Ctrl-C in the terminal reaches only us, and we
        // shut it down in order instead of racing it.
        this.child = spawn(cmd, args, {
            env: opts.env ?? process.env,
            cwd: opts.cwd,
            uid: opts.uid,
            gid: opts.gid,
            stdio: ["ignore", "pipe", "pipe"],
            detached: true,
        });
        this.child.stdout?.pipe(this.log, { end: false });
        this.child.stderr?.pipe(this.log, { end: false });
        this.exitPromise = new Promise((resolve) => {
            this.child.once("exit", (code, signal) => {
                this.exited = true;
                this.exitInfo = { code, signal };
                resolve();
            });
            this.child.once("error", (err) => {
                this.log.write(`\n[test-env] spawn failed: ${err.message}\n`);
                this.exited = true;
                this.exitInfo = { code: -1, signal: null };
                resolve();
            });
        });
        this.closed = new Promise((resolve) => this.child.once("close", () => resolve()));
        liveProcesses.add(this);
        installExitHooks();
    }

    get pid(): number | undefined {
        return this.child.pid;
    }

    get running(): boolean {
        return !this.exited;
    }

    /** Throws (with the log tail) when the process has died: readiness loops call it so they fail fast. */
    assertRunning(): void {
        if (!this.exited) return;
        const info = this.exitInfo ? `code ${this.exitInfo.code}, signal ${this.exitInfo.signal}` : "unknown";
        throw new Error(`${this.name} exited during start-up (${info}); log ${this.logFile}:\n${this.logTail()}`);
    }

    logTail(lines = 30): string {
        try {
            return readFileSync(this.logFile, "utf8").trim().split("\n").slice(-lines).join("\n");
        } catch {
            return "(no log)";
        }
    }

    /** The stop signal (SIGTERM unless configured), then SIGKILL after `graceMs`; resolves once it is gone. */
    async stop(graceMs = 5000): Promise<void> {
        if (!this.exited && this.child.pid !== undefined) {
            signal(this.child.pid, this.stopSignal);
            const timer = setTimeout(() => {
                if (!this.exited && this.child.pid !== undefined) signal(this.child.pid, "SIGKILL");
            }, graceMs);
            await this.exitPromise;
            clearTimeout(timer);
        }
        liveProcesses.delete(this);
        // Let buffered output drain (bounded: a grandchild may hold the pipe open).
        await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1000))]);
        await new Promise<void>((r) => this.log.end(r));
    }

    /** Synchronous last-resort kill for process 'exit' handlers, where nothing async runs. */
    killNow(): void {
        if (!this.exited && this.child.pid !== undefined) signal(this.child.pid, "SIGKILL");
    }
}

function signal(pid: number, sig: NodeJS.Signals): void {
    try {
        process.kill(pid, sig);
    } catch {
        /* already gone */
    }
}

const liveProcesses = new Set<ManagedProcess>();
const cleanups = new Set<() => void>();
let hooksInstalled = false;

/** Registers a synchronous cleanup (temp dir removal) that also runs when the process exits abnormally; `first`: before the others. */
export function onProcessExit(fn: () => void, opts: { first?: boolean } = {}): () => void {
    if (opts.first) {
        // Runs before the cleanups registered earlier (the node's teardown needs the dirs the environment's removes).
        const rest = [...cleanups];
        cleanups.clear();
        cleanups.add(fn);
        for (const r of rest) cleanups.add(r);
    } else {
        cleanups.add(fn);
    }
    installExitHooks();
    return () => cleanups.delete(fn);
}

function killEverything(): void {
    for (const p of liveProcesses) p.killNow();
    liveProcesses.clear();
    for (const fn of cleanups) {
        try {
            fn();
        } catch {
            /* best effort at exit */
        }
    }
    cleanups.clear();
}

function installExitHooks(): void {
    if (hooksInstalled) return;
    hooksInstalled = true;
    process.once("exit", killEverything);
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(sig, () => {
            // Someone else (the sandbox CLI, mocha) handles this signal and will tear down in order; the 'exit'
            // hook stays as the safety net.
            if (process.listenerCount(sig) > 0) return;
            killEverything();
            // Re-raise the default behaviour: exit with 128+signal like a shell would.
            process.exit(sig === "SIGINT" ? 130 : sig === "SIGTERM" ? 143 : 129);
        });
    }
}

/** Processes started and not yet stopped; exported for tests of the teardown itself. */
export function liveProcessCount(): number {
    return liveProcesses.size;
}

/** Whether a process with `pid` exists (EPERM: it exists but is someone else's). */
export function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * Resolves on the first SIGINT/SIGTERM. The handler stays registered: while it is, the library's own signal hook
 * defers to the caller's orderly teardown. A second Ctrl-C exits at once (the exit hook still SIGKILLs the servers
 * by pid and removes the temp dirs).
 */
export function waitForSignal(): Promise<NodeJS.Signals> {
    return new Promise((resolve) => {
        let fired = false;
        const handler = (sig: NodeJS.Signals): void => {
            if (fired) process.exit(130);
            fired = true;
            resolve(sig);
        };
        process.on("SIGINT", handler);
        process.on("SIGTERM", handler);
    });
}
