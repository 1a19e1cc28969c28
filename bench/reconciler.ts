/**
 * Reconciler scale benchmark on a real apiserver (prints one table; run on demand, not a test).
 *
 *   npm run bench:reconciler                       # full: 10,000 sources+derived, 20,000 unrelated, 1,000 Deployments
 *   npm run bench:reconciler -- --sources=1000 --unrelated=2000 --deployments=100 --sample=50   # quick run
 *
 * Flags (all optional):
 *   --sources=N          managed sources, each with one derived secret (default 10000)
 *   --unrelated=N        unrelated Secrets with ~1 KiB of data each (default 20000)
 *   --unrelated-bytes=N  data bytes per unrelated Secret (default 1024)
 *   --deployments=N      Deployments annotated restart-on: auto, each consuming one secret (default 1000)
 *   --sample=N           rotations / restarts measured at debounce 0, and floor PUTs (default 200)
 *   --debounce-sample=N  restarts measured at the default 2000 ms debounce (default 20)
 *   --count-rotations=N  rotations whose apiserver requests are counted (default 20)
 *   --concurrency=N      parallel creates during set-up (default 32)
 *   --node-flags="..."   V8 flags for the reconciler (default: those of reconciler/Dockerfile's ENTRYPOINT)
 *   --reconciler-args="..." extra reconciler flags, e.g. "--rate=5000 --burst=5000 --workers=8" (default none:
 *                        the deployed defaults, rate 500/s, burst 1000, 8 workers)
 *   --hostile-big=N      run C: tenant Secrets of --hostile-big-bytes nobody depends on (default 200; 0 skips run C)
 *   --hostile-big-bytes=N  (default 716800, ~700 KiB)
 *   --hostile-forged=N   run C: forged derived secrets naming the plain namespace's sources (default 500)
 *   --kubeconfig=PATH    use that cluster instead of starting test/env (objects go to a fresh namespace, deleted
 *                        at the end unless --keep)
 *   --help
 *
 * What it does: starts the Kubernetes part of the test environment (bench/env.ts: etcd, kube-apiserver,
 * kube-controller-manager from test/env's cached binaries; no Vault/PostgreSQL, which it does not use), builds
 * dist/ (npm run build:dist), creates the content (bench/cluster.ts; sources carry NO label of ours, derived
 * secrets are deriveSecret output POSTed as the provider does), then runs the reconciler twice as a child process
 * `node <Dockerfile V8 flags> dist/reconciler/main.js` (bench/child.ts):
 *   run A, direct to the apiserver, --debounce-ms=0: cold start-up (list, first full reconcile), rotation latency
 *          and the raw PUT→watch floor, restart latency, then RSS after settling;
 *   run B, through a counting proxy (bench/proxy.ts), default --debounce-ms=2000: warm start-up, apiserver
 *          requests per rotation, restart latency at the default debounce;
 *   run C, direct, --debounce-ms=0, after a hostile tenant's mix is added (bench/hostile.ts): the same figures as
 *          run A side by side (start-up, rotation and restart latency of the plain namespace, RSS).
 * The reconciler's log (warn and above) goes to a file named at the end.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { KubeClient } from "../lib/kube";
import { loadKubeconfigFile } from "../lib/kube";
import { dockerfileNodeFlags, ReconcilerProcess, ROOT } from "./child";
import { APP_LABEL, createClusterContent, Sizes } from "./cluster";
import { startKubeEnv } from "./env";
import { flag, intFlag, log, ms, pct, Sample, secs, sleep, sumOf, table, triple } from "./lib";
import { split, templateHashOf, Watcher } from "./observe";
import { countRequests, floorSample, restartSample, rotationSample } from "./phases";
import { describeCounts, startCountingProxy } from "./proxy";
import { createHostileContent } from "./hostile";

if (process.argv.includes("--help")) {
    const text = fs.readFileSync(__filename, "utf8");
    process.stdout.write(`${text.slice(text.indexOf("/**") + 3, text.indexOf("*/")).replace(/^ \* ?/gm, "").trim()}\n`);
    process.exit(0);
}

interface Row {
    figure: string;
    measured: string;
    target: string;
    pass: boolean | undefined;
}

/** "secret 20000 (mean 3.1 ms), deployments 2000 (mean 4.0 ms), writes 10000" from a scrape. */
function reconciles(m: Sample[]): string {
    const part = (kind: string) => {
        const n = sumOf(m, "platform_secrets_reconcile_duration_seconds_count", { kind });
        const s = sumOf(m, "platform_secrets_reconcile_duration_seconds_sum", { kind });
        return `${kind} ${n} (mean ${n ? ((1000 * s) / n).toFixed(1) : "-"} ms)`;
    };
    return `${part("secret")}, ${part("deployments")}, writes ${sumOf(m, "platform_secrets_writes_total")}`;
}

async function main(): Promise<void> {
    const sizes: Sizes = {
        sources: intFlag("sources", 10_000),
        unrelated: intFlag("unrelated", 20_000),
        deployments: intFlag("deployments", 1000),
        unrelatedBytes: intFlag("unrelated-bytes", 1024),
        concurrency: Math.max(1, intFlag("concurrency", 32)),
    };
    const sample = intFlag("sample", 200);
    const debounceSample = intFlag("debounce-sample", 20);
    const countRotations = intFlag("count-rotations", 20);
    const nodeFlags = flag("node-flags", dockerfileNodeFlags().join(" ")).split(" ").filter(Boolean);
    const extraArgs = flag("reconciler-args", "").split(" ").filter(Boolean);
    const keep = process.argv.includes("--keep");
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "ps-bench-"));
    const timings: Record<string, number> = {};
    let buildWarning = "";

    let kubeconfigPath = flag("kubeconfig", "");
    let stopEnv: (() => Promise<void>) | undefined;
    const cleanup: (() => Promise<void>)[] = [];
    try {
        if (!kubeconfigPath) {
            log("starting etcd + kube-apiserver + kube-controller-manager (test/env building blocks)...");
            const t = performance.now();
            const env = await startKubeEnv();
            timings.env = performance.now() - t;
            kubeconfigPath = env.kubeconfigPath;
            stopEnv = () => env.stop();
        }
        log("compiling dist/ (npm run build:dist)...");
        const tb = performance.now();
        try {
            execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
        } catch (e) {
            // tsc still emits on type errors (noEmitOnError is off): go on with a loud note, stop only without output.
            const out = String((e as { stdout?: Buffer }).stdout ?? "").trim();
            if (!fs.existsSync(path.join(ROOT, "dist/reconciler/main.js"))) throw new Error(`build:dist failed:\n${out}`);
            buildWarning = `build:dist reported type errors (dist/ emitted anyway): ${out.split("\n").slice(0, 3).join(" | ")}`;
            log(buildWarning);
        }
        timings.build = performance.now() - tb;

        const client = KubeClient.fromConfig(loadKubeconfigFile(kubeconfigPath));
        cleanup.push(async () => client.close());
        const ns = `bench-${Date.now() % 1_000_000}`;
        if (flag("kubeconfig", "") && !keep) cleanup.unshift(async () => void (await client.request("DELETE", `/api/v1/namespaces/${ns}`).catch(() => undefined)));
        const setup = await createClusterContent(client, ns, sizes);
        log(`set-up: ${setup.objects} objects in ${secs(setup.totalMs)} s`);

        const derived = await Watcher.start(client, `/api/v1/namespaces/${ns}/secrets`, "platform-secrets.io/derived=true");
        const apps = await Watcher.start(client, `/apis/apps/v1/namespaces/${ns}/deployments`, `${APP_LABEL}=true`, true);
        cleanup.unshift(async () => {
            derived.stop();
            apps.stop();
        });
        const c = { client, ns, sizes, derived, apps, timeoutMs: 30_000 };
        // As deployed: an own namespace (POD_NAMESPACE) keeps the fingerprint key across restarts (without one the
        // key is per process and a restarted reconciler rolls every restart-on workload) and holds the policy.
        const ownNs = `${ns}-system`;
        await client.request("POST", "/api/v1/namespaces", { body: { metadata: { name: ownNs } } });
        if (flag("kubeconfig", "") && !keep) cleanup.unshift(async () => void (await client.request("DELETE", `/api/v1/namespaces/${ownNs}`).catch(() => undefined)));
        const args = [`--own-namespace=${ownNs}`, ...extraArgs];
        const templates = () => new Map([...apps.objects].map(([k, o]) => [k, templateHashOf(o)]));
        const rolledSince = (before: Map<string, string | undefined>) => [...apps.objects].filter(([k, o]) => before.has(k) && before.get(k) !== templateHashOf(o)).length;
        const expect = { derived: sizes.sources, deployments: sizes.deployments };

        // ---- run A: direct, debounce 0 ----
        log(`run A: reconciler direct to the apiserver, --debounce-ms=0, node ${nodeFlags.join(" ")} ${extraArgs.join(" ")}`);
        const beforeA = templates();
        const a = await ReconcilerProcess.start({ kubeconfig: kubeconfigPath, debounceMs: 0, nodeFlags, extraArgs: args, logFile: path.join(work, "reconciler-a.log") });
        cleanup.unshift(() => a.stop());
        const listMs = await a.waitReady();
        log(`  caches synced after ${secs(listMs)} s; waiting for the first full reconcile...`);
        const cold = await a.waitFirstFullReconcile(expect);
        log(`  first full reconcile done after ${secs(cold.ms)} s`);
        const peakStart = a.rss().hwm;
        await a.settle();
        const rolledA = rolledSince(beforeA);

        log(`  ${sample} rotations (source PUT → derived rewritten)...`);
        const rot = split(await rotationSample(c, sample));
        log(`  ${sample} raw PUT → watch floor...`);
        const floor = split(await floorSample(c, sample));
        log(`  ${sample} restarts at debounce 0 (secret PUT → pod template changed)...`);
        const rst = split(await restartSample(c, sample, false));
        const chainN = Math.min(sample, 50);
        log(`  ${chainN} restarts via a derived secret at debounce 0 (source PUT → derived → pod template changed)...`);
        const chain = split(await restartSample(c, chainN, true));
        await a.settle();
        await sleep(5000);
        const memA = a.rss();
        const logA = a.logLines();
        await a.stop();

        // ---- run B: through the counting proxy, default debounce ----
        const proxy = await startCountingProxy(kubeconfigPath, work);
        cleanup.unshift(() => proxy.close());
        log("run B: reconciler through the counting proxy, --debounce-ms=2000");
        const beforeB = templates();
        const b = await ReconcilerProcess.start({ kubeconfig: proxy.kubeconfigPath, debounceMs: 2000, nodeFlags, extraArgs: args, logFile: path.join(work, "reconciler-b.log") });
        cleanup.unshift(() => b.stop());
        const warmListMs = await b.waitReady();
        const warm = await b.waitFirstFullReconcile(expect);
        await b.settle();
        const rolledB = rolledSince(beforeB);
        const startCounts = proxy.counts();
        log(`  warm start-up ${secs(warm.ms)} s (${describeCounts(startCounts)})`);
        log(`  counting requests of ${countRotations} rotations...`);
        const req = await countRequests(c, proxy, countRotations, false, 750);
        const reqConsumed = await countRequests(c, proxy, Math.min(5, countRotations), true, 750);
        log(`  ${debounceSample} restarts at the default 2000 ms debounce...`);
        const rstDefault = split(await restartSample(c, debounceSample, false));
        await b.settle();
        const memB = b.rss();
        const logB = b.logLines();
        await b.stop();

        // ---- run C: direct, debounce 0, with a hostile tenant's mix added ----
        const hostile = { big: intFlag("hostile-big", 200), bigBytes: intFlag("hostile-big-bytes", 716_800), forged: intFlag("hostile-forged", 500) };
        let runC: { synced: number; full: number; rot: ReturnType<typeof split>; rst: ReturnType<typeof split>; mem: { rss: number; hwm: number }; peakStart: number; log: number; setupMs: number; objects: number } | undefined;
        if (hostile.big > 0) {
            const tenantNs = `${ns}-tenant`;
            if (flag("kubeconfig", "") && !keep) cleanup.unshift(async () => void (await client.request("DELETE", `/api/v1/namespaces/${tenantNs}`).catch(() => undefined)));
            const h = await createHostileContent(client, tenantNs, ns, sizes.sources, hostile, sizes.concurrency);
            log(`run C: the hostile tenant's ${h.objects} objects added in ${secs(h.ms)} s; reconciler direct, --debounce-ms=0`);
            const cProc = await ReconcilerProcess.start({ kubeconfig: kubeconfigPath, debounceMs: 0, nodeFlags, extraArgs: args, logFile: path.join(work, "reconciler-c.log") });
            cleanup.unshift(() => cProc.stop());
            const synced = await cProc.waitReady();
            const full = await cProc.waitFirstFullReconcile(expect);
            const peakC = cProc.rss().hwm;
            await cProc.settle();
            log(`  ${sample} rotations and ${sample} restarts of the plain namespace next to the tenant...`);
            const rotC = split(await rotationSample(c, sample));
            const rstC = split(await restartSample(c, sample, false));
            await cProc.settle();
            await sleep(5000);
            runC = { synced, full: full.ms, rot: rotC, rst: rstC, mem: cProc.rss(), peakStart: peakC, log: cProc.logLines(), setupMs: h.ms, objects: h.objects };
            await cProc.stop();
        }

        // ---- the table ----
        const miss = (x: { missed: number }) => (x.missed ? `, ${x.missed} timed out` : "");
        const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
        const rows: Row[] = [
            { figure: "(1) source rotation → derived rewritten, p50/p95/p99", measured: triple(rot.ok) + miss(rot), target: "p50 ≤ 50, p99 ≤ 250 ms", pass: rot.missed === 0 && pct(rot.ok, 50) <= 50 && pct(rot.ok, 99) <= 250 },
            { figure: "    floor: raw PUT → watch event (same run)", measured: triple(floor.ok) + miss(floor), target: "(reference)", pass: undefined },
            { figure: "(2) secret change → pod template changed, debounce 0", measured: triple(rst.ok) + miss(rst), target: "p50 ≤ 100 ms", pass: rst.missed === 0 && pct(rst.ok, 50) <= 100 },
            { figure: "    source rotation → derived → pod template, debounce 0", measured: triple(chain.ok) + miss(chain), target: "(info)", pass: undefined },
            { figure: "    secret change → pod template changed, debounce 2000", measured: triple(rstDefault.ok) + miss(rstDefault), target: "(info: ≈ 2000 + debounce-0 figure)", pass: undefined },
            { figure: "(3) RSS after settling (run A) / peak", measured: `${memA.rss.toFixed(1)} / ${memA.hwm.toFixed(1)} MiB`, target: "RSS ≤ 150 MiB", pass: memA.rss <= 150 },
            { figure: "    RSS after settling (run B, warm start) / peak", measured: `${memB.rss.toFixed(1)} / ${memB.hwm.toFixed(1)} MiB`, target: "(info)", pass: undefined },
            { figure: "(4) start-up, cold: caches synced / first full reconcile", measured: `${secs(listMs)} / ${secs(cold.ms)} s`, target: "≤ 30 s", pass: cold.ms <= 30_000 },
            { figure: "    start-up, warm (all in sync): synced / full reconcile", measured: `${secs(warmListMs)} / ${secs(warm.ms)} s`, target: "(info)", pass: undefined },
            { figure: "    Deployments rolled by a reconciler start: cold / warm", measured: `${rolledA} / ${rolledB} of ${sizes.deployments}`, target: "0 / 0", pass: rolledA === 0 && rolledB === 0 },
            { figure: "(5) apiserver requests per rotation, 1 derived: mean / max", measured: `${mean(req.perRotation).toFixed(2)} / ${Math.max(...req.perRotation)} (n=${req.perRotation.length})`, target: "≤ 2", pass: Math.max(...req.perRotation) <= 2 },
            { figure: "    same, derived read by 1 Deployment (restart incl.)", measured: `${mean(reqConsumed.perRotation).toFixed(2)} / ${Math.max(...reqConsumed.perRotation)} (n=${reqConsumed.perRotation.length})`, target: "(info)", pass: undefined },
        ];
        const out = table(
            ["figure", "measured", "target", "pass"],
            rows.map((r) => [r.figure, r.measured, r.target, r.pass === undefined ? "" : r.pass ? "PASS" : "FAIL"]),
        );
        const side = runC
            ? table(
                  ["figure (plain namespace)", "run A: plain", "run C: + hostile tenant", "target (run C)", "pass"],
                  [
                      ["start-up: caches synced / first full reconcile", `${secs(listMs)} / ${secs(cold.ms)} s`, `${secs(runC.synced)} / ${secs(runC.full)} s`, "(info: C is a warm start)", ""],
                      ["source rotation → derived rewritten, p50/p95/p99", triple(rot.ok) + miss(rot), triple(runC.rot.ok) + miss(runC.rot), "p50 ≤ 50, p99 ≤ 250 ms", runC.rot.missed === 0 && pct(runC.rot.ok, 50) <= 50 && pct(runC.rot.ok, 99) <= 250 ? "PASS" : "FAIL"],
                      ["secret change → pod template changed, debounce 0", triple(rst.ok) + miss(rst), triple(runC.rst.ok) + miss(runC.rst), "p50 ≤ 100 ms", runC.rst.missed === 0 && pct(runC.rst.ok, 50) <= 100 ? "PASS" : "FAIL"],
                      ["RSS after settling / peak", `${memA.rss.toFixed(1)} / ${memA.hwm.toFixed(1)} MiB`, `${runC.mem.rss.toFixed(1)} / ${runC.mem.hwm.toFixed(1)} MiB`, "peak ≤ 150 MiB", runC.mem.hwm <= 150 ? "PASS" : "FAIL"],
                      ["peak RSS until the first full reconcile", `${peakStart.toFixed(1)} MiB`, `${runC.peakStart.toFixed(1)} MiB`, "(info)", ""],
                  ],
              )
            : "";
        const lines = [
            "",
            `reconciler benchmark: ${sizes.sources} sources + ${sizes.sources} derived, ${sizes.unrelated} unrelated Secrets (${sizes.unrelatedBytes} B data), ${sizes.deployments} restart-on Deployments; node ${process.version}, ${os.cpus().length} CPUs`,
            `reconciler: node ${nodeFlags.join(" ")} dist/reconciler/main.js ${args.join(" ")}${extraArgs.length ? "" : " (deployed defaults: --rate=500 --burst=1000 --workers=8)"}`,
            "",
            out,
            "",
            ...(runC ? [`side by side: run C adds a hostile tenant's ${hostile.big} × ${Math.round(hostile.bigBytes / 1024)} KiB Secrets nobody depends on, a fan-out annotation at the caps and ${hostile.forged} forged derived secrets (bench/hostile.ts; created in ${secs(runC.setupMs)} s)`, "", side, ""] : []),
            `set-up: ${setup.objects} objects in ${secs(setup.totalMs)} s (sources+derived ${secs(setup.sourcesMs)} s, unrelated ${secs(setup.unrelatedMs)} s, deployments ${secs(setup.deploymentsMs)} s; concurrency ${sizes.concurrency})` +
                (timings.env !== undefined ? `; test env start ${secs(timings.env)} s` : "") +
                `; build:dist ${secs(timings.build)} s`,
            `peak RSS during the cold start-up: ${peakStart.toFixed(1)} MiB; reconciles until the first full reconcile: cold ${reconciles(cold.samples)}; warm ${reconciles(warm.samples)}`,
            `requests per rotation (1 derived), all ${req.perRotation.length} rotations: ${describeCounts(req.breakdown)}; per rotation: ${req.perRotation.join(" ")}`,
            `requests per rotation (derived read by a Deployment): ${describeCounts(reqConsumed.breakdown)}`,
            `requests at the warm start-up (run B): ${describeCounts(startCounts)}`,
            `latencies: PUT sent → the bench's own watch sees the state (floor and rotation ms p50 ${ms(pct(floor.ok, 50))} vs ${ms(pct(rot.ok, 50))})`,
            ...(buildWarning ? [`NOTE: ${buildWarning}`] : []),
            `reconciler logs (warn+): run A ${logA} lines ${path.join(work, "reconciler-a.log")}; run B ${logB} lines ${path.join(work, "reconciler-b.log")}${runC ? `; run C ${runC.log} lines ${path.join(work, "reconciler-c.log")}` : ""}`,
        ];
        process.stdout.write(`${lines.join("\n")}\n`);
    } finally {
        for (const f of cleanup) await f().catch((e) => log(`cleanup: ${String(e)}`));
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
