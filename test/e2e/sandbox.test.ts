import { strict as assert } from "node:assert";
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, promises as fs, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { Client } from "pg";
import { ROOT } from "../env/engine";
import { request } from "../env/http";
import { READY_LINE, SandboxState, SANDBOX_STATE_ENV } from "../env/sandbox";
import { eventually } from "../support";
import { timings } from "./fixture";

/**
 * The README's main job run headlessly: the real `npm run sandbox` as a child (its own servers, engine and
 * reconciler), to its ready line; then the rotate command it printed, run as from a second terminal; then Ctrl-C
 * (SIGINT to its process group, as a terminal sends it) and the teardown. Independent of the suite's own
 * environment (fixture.ts), which it does not touch.
 */
const START_MS = 20 * 60_000;
// The main job runs its own real node (the reconciler and a consumer as Pods): root, as the e2e fixture's node.

/** Processes whose argv names one of `needles` (the sandbox's dirs and Vault's listen address), by pid. */
function processesNaming(needles: string[]): { pid: number; cmd: string }[] {
    const out: { pid: number; cmd: string }[] = [];
    for (const d of readdirSync("/proc")) {
        if (!/^\d+$/.test(d)) continue;
        let cmd: string;
        try {
            cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ");
        } catch {
            continue;
        }
        if (needles.some((n) => cmd.includes(n))) out.push({ pid: Number(d), cmd });
    }
    return out;
}

/** This file's argument order (what first) over test/support's poller. */
const until = <T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> => eventually(fn, ms, what, 250);

async function pgLogin(host: string, port: number, user: string, password: string): Promise<boolean> {
    const c = new Client({ host, port, user, password, database: "postgres", ssl: { rejectUnauthorized: false }, connectionTimeoutMillis: 5000 });
    try {
        await c.connect();
        return true;
    } catch {
        return false;
    } finally {
        await c.end().catch(() => undefined);
    }
}

describe("e2e: npm run sandbox (the main job), headless", function () {
    // Start (servers, engine, up, reconciler) + rotation + teardown; the suite's 15 min are tight on a loaded machine.
    this.timeout(START_MS + 10 * 60_000);
    let child: ChildProcess | undefined;
    let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
    let home: string;
    let stdout = "";
    let stderr = "";

    before(async () => {
        home = await fs.mkdtemp(path.join(tmpdir(), "ps-e2e-sandbox-"));
    });

    after(async () => {
        // A failed test must not leave the sandbox running: SIGINT (orderly), then SIGKILL of the group.
        if (child?.pid !== undefined && child.exitCode === null) {
            try {
                process.kill(-child.pid, "SIGINT");
            } catch {
                /* gone */
            }
            const t = setTimeout(() => {
                try {
                    process.kill(-child!.pid!, "SIGKILL");
                } catch {
                    /* gone */
                }
            }, 120_000);
            await exited;
            clearTimeout(t);
        }
        await fs.rm(home, { recursive: true, force: true });
    });

    it("starts to its ready line, the printed rotate command rotates end to end, and Ctrl-C removes every process and temp dir", async () => {
        const stateFile = path.join(home, "sandbox.json");
        const t0 = Date.now();
        // detached: its own process group, which then gets the SIGINT a terminal's Ctrl-C sends.
        child = spawn("npm", ["run", "--silent", "sandbox"], { cwd: ROOT, env: { ...process.env, [SANDBOX_STATE_ENV]: stateFile }, stdio: ["ignore", "pipe", "pipe"], detached: true });
        exited = new Promise((resolve) => child!.once("exit", (code, signal) => resolve({ code, signal })));
        child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        const tail = (): string => `\n--- stdout tail ---\n${stdout.slice(-3000)}\n--- stderr tail ---\n${stderr.slice(-3000)}`;

        await until("the sandbox's ready line", START_MS, async () => {
            if (child!.exitCode !== null) throw new Error(`npm run sandbox exited with ${child!.exitCode}${tail()}`);
            return stdout.includes(READY_LINE) ? true : undefined;
        }).catch((e: Error) => {
            throw new Error(`${e.message}${tail()}`);
        });
        timings.sandboxReady = (Date.now() - t0) / 1000;
        const ready = new RegExp(`${READY_LINE} in ([\\d.]+) s \\((\\{[^)]*\\})\\)`).exec(stdout);
        assert.ok(ready, `ready line format${tail()}`);
        timings.sandboxReadyReported = Number(ready[1]);
        process.stderr.write(`[e2e] sandbox ready: ${ready[1]} s ${ready[2]}\n`);

        // What it printed: the inventory, how to look at it, and the rotate command.
        for (const want of ["namespaces created by the stack: platform-secrets", "derived Secrets (3)", "tekton-pipelines/platform-repo-git", "export KUBECONFIG=", "npx platform-secrets status -A", "ServiceAccount platform-secrets/platform-secrets-reconciler"]) {
            assert.ok(stdout.includes(want), `the sandbox did not print "${want}"${tail()}`);
        }
        const lines = stdout.split("\n");
        const at = lines.findIndex((l) => /^Rotate \S+ \(from a second terminal/.test(l));
        assert.ok(at >= 0, `no rotate instructions${tail()}`);
        const rotateCmd = lines[at + 1].trim();
        assert.match(rotateCmd, /^npm run sandbox -- rotate app-db-password$/);

        const state = JSON.parse(readFileSync(stateFile, "utf8")) as SandboxState;
        assert.equal(state.pid > 0, true);
        const envDir = path.dirname(state.kubeconfigPath);
        const pgProcs = processesNaming([`-p ${state.postgres.port} `]);
        const pgDir = /-D (\S+)\/data/.exec(pgProcs[0]?.cmd ?? "")?.[1];
        const vaultListen = `-dev-listen-address=${new URL(state.vault.addr).host}`;
        const needles = [envDir, state.dir, vaultListen, ...(pgDir ? [pgDir] : [])];
        const before = processesNaming(needles);
        for (const what of ["etcd", "kube-apiserver", "kube-controller-manager", "vault", "postgres", "kubelet", "containerd"]) {
            assert.ok(before.some((p) => p.cmd.includes(what)), `no ${what} process found before Ctrl-C: ${JSON.stringify(before)}`);
        }
        const kc = new KubeConfig();
        kc.loadFromFile(state.kubeconfigPath);
        const core = kc.makeApiClient(CoreV1Api);
        // The reconciler runs as the stack deployed it: 2 Pods of its Deployment from the built image, processes of
        // uid 65532 in containers (found by the POD_NAME the Deployment gives them), in-cluster config, no Vault token.
        const recPods = (await core.listNamespacedPod({ namespace: state.reconciler.namespace, labelSelector: state.reconciler.selector })).items;
        assert.equal(recPods.filter((p) => p.status?.phase === "Running").length, 2, JSON.stringify(recPods.map((p) => [p.metadata?.name, p.status?.phase])));
        const recProcs = processesNaming(["/app/reconciler.js"]).filter((p) => recPods.some((pod) => readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0").includes(`POD_NAME=${pod.metadata!.name}`)));
        assert.equal(recProcs.length, 2, `reconciler container processes: ${JSON.stringify(recProcs)}`);
        for (const rec of recProcs) {
            assert.match(readFileSync(`/proc/${rec.pid}/status`, "utf8"), /^Uid:\s+65532\s/m, `${rec.cmd} runs as 65532`);
            const recEnv = readFileSync(`/proc/${rec.pid}/environ`, "utf8").split("\0");
            assert.ok(!recEnv.some((e) => e.startsWith("VAULT_TOKEN=") || e.startsWith("KUBECONFIG=")), "a Vault token or a kubeconfig in the reconciler's env");
            assert.ok(recEnv.includes("VAULT_AUTH_METHOD=kubernetes"), "the reconciler logs in to Vault with Kubernetes auth");
        }
        before.push(...recProcs);
        const vaultGet = async (p: string): Promise<any> => JSON.parse((await request(`${state.vault.addr}/v1/secret/${p}`, { headers: { "x-vault-token": state.vault.token } })).body);
        const v1 = (await vaultGet("data/local/sandbox/app-db")).data as { data: { password: string }; metadata: { version: number } };
        assert.equal(v1.metadata.version, 1);
        const synced = async (): Promise<string> => Buffer.from((await core.readNamespacedSecret({ name: "app-db", namespace: "app" })).data!.password, "base64").toString("utf8");
        assert.equal(await synced(), v1.data.password);
        assert.equal(await pgLogin(state.postgres.host, state.postgres.port, "app_user", v1.data.password), true, "the hooked role does not log in with the first password");

        // A second terminal: exactly the printed command.
        const t1 = Date.now();
        const rot = await new Promise<{ code: number | null; out: string }>((resolve) => {
            const c = spawn("sh", ["-c", rotateCmd], { cwd: ROOT, env: { ...process.env, [SANDBOX_STATE_ENV]: stateFile }, stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            c.stdout.on("data", (d: Buffer) => (out += d.toString()));
            c.stderr.on("data", (d: Buffer) => (out += d.toString()));
            c.on("close", (code) => resolve({ code, out }));
        });
        timings.sandboxRotate = (Date.now() - t1) / 1000;
        assert.equal(rot.code, 0, rot.out.slice(-4000));
        assert.match(rot.out, /Vault secret\/local\/sandbox\/app-db version 1 -> 2/);
        assert.match(rot.out, /app\/app-db: restarted by the reconciler; its new Pod \S+ read the new value/);

        // Checked here independently of what the command reported.
        const meta = (await vaultGet("metadata/local/sandbox/app-db")).data;
        assert.equal(meta.current_version, 2);
        const v2 = (await vaultGet("data/local/sandbox/app-db?version=2")).data.data.password as string;
        assert.notEqual(v2, v1.data.password);
        assert.equal((await vaultGet("data/local/sandbox/app-db?version=1")).data.data.password, v1.data.password, "the previous version stays readable");
        await until("ESO to re-sync app/app-db", 60_000, async () => ((await synced()) === v2 ? true : undefined));
        await until("the reconciler's postgres hook (ALTER ROLE app_user)", 60_000, async () => ((await pgLogin(state.postgres.host, state.postgres.port, "app_user", v2)) ? true : undefined));
        assert.equal(await pgLogin(state.postgres.host, state.postgres.port, "app_user", v1.data.password), false, "the old password still logs in");
        await until("the reconciler's audit line for the hook", 30_000, async () => (/audit hook app\/app-db: postgres hook applied/.test(stdout) ? true : undefined));
        // No value in what the sandbox or the rotate command printed.
        for (const v of [v1.data.password, v2]) {
            assert.ok(!stdout.includes(v) && !stderr.includes(v) && !rot.out.includes(v), "a password value was printed");
        }

        // Ctrl-C.
        const t2 = Date.now();
        process.kill(-child.pid!, "SIGINT");
        const end = await Promise.race([exited!, new Promise<string>((r) => setTimeout(() => r("timeout"), 180_000))]);
        timings.sandboxTeardown = (Date.now() - t2) / 1000;
        // npm waits for the script, then re-raises the SIGINT it got (exit by signal); the script itself exits 0.
        assert.ok(typeof end === "object" && (end.code === 0 || end.signal === "SIGINT"), `npm run sandbox did not end cleanly after SIGINT (${JSON.stringify(end)})${tail()}`);
        assert.match(stderr, /stopping the reconciler, then the servers/);
        assert.match(stderr, /stopped; temp dirs removed/);
        const left = processesNaming(needles).filter((p) => before.some((b) => b.pid === p.pid));
        assert.deepEqual(left, [], "processes left after teardown");
        for (const d of [envDir, state.dir, ...(pgDir ? [pgDir] : [])]) assert.equal(existsSync(d), false, `${d} was not removed`);
        assert.equal(existsSync(stateFile), false, "the state file was not removed");
    });
});
