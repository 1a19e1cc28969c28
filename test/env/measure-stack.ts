import * as auto from "@pulumi/pulumi/automation";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { openLocalStack } from "./local-stack";
import { readSandboxState, SandboxState } from "./sandbox";

/**
 * Figures of the engine on the running sandbox (`npm run sandbox` in another terminal):
 *
 *   npm run sandbox:measure [-- --runs N --destroy]   (= npx ts-node --transpile-only test/env/measure-stack.ts)
 *
 * no-op `preview` (N runs), `refresh`, a preview of an EMPTY inline program with the same engine and backend (the
 * fixed cost of CLI + Automation API), and one verbose (-v=9) no-op preview broken down from the engine's own log:
 * CLI start → program, program load (until the program's event loop answers the Stack registration: SDKs, ts-node,
 * project modules), each plugin's start (launch → handshake), each resource's Check+Diff. `--destroy` then
 * destroys the stack and runs `up` again (the sandbox stays usable: the up recreates everything, and the sandbox's
 * reconciler gets a token for the recreated ServiceAccount within 30 s). Prints one JSON object. Measure on a quiet
 * machine: every phase scales with CPU contention (the output carries the load average before and after).
 */
type Obj = Record<string, any>;

function seconds(ms: number): number {
    return Math.round(ms / 10) / 100;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
    const t0 = Date.now();
    const r = await fn();
    return [seconds(Date.now() - t0), r];
}

function ts(iso: string): number {
    return Date.parse(iso);
}

/** Phases of one preview from the CLI's JSON log lines (-v=9 --logtostderr). */
export function breakdown(stderr: string): Obj {
    const ev: { t: number; msg: string }[] = [];
    for (const l of stderr.split("\n")) {
        try {
            const o = JSON.parse(l) as { time: string; msg: string };
            if (o.time && o.msg) ev.push({ t: ts(o.time), msg: o.msg });
        } catch {
            /* not a log line */
        }
    }
    if (ev.length === 0) return { error: "no log lines" };
    const first = ev[0].t;
    const last = ev[ev.length - 1].t;
    const find = (re: RegExp): number | undefined => ev.find((e) => re.test(e.msg))?.t;
    const run = find(/langhost\[client\]\.Run\(.*executing/);
    const stackAnswered = find(/RegisterResource RPC finished: resource:[^[]*\[pulumi:pulumi:Stack\]/);
    const plugins: Obj = {};
    const launched = new Map<string, number>();
    for (const e of ev) {
        const l = /Launching plugin '([\w-]+) \(resource\)' from '([^']+)'/.exec(e.msg);
        if (l) launched.set(l[2], e.t);
        const h = /Handshake: not supported by '([^']+)'|Handshake.*'([^']+)'/.exec(e.msg);
        const p = h?.[1] ?? h?.[2];
        if (p && launched.has(p)) plugins[path.basename(p).replace(/^pulumi-resource-/, "")] = seconds(e.t - launched.get(p)!);
    }
    const checks = new Map<string, number>();
    const steps: { urn: string; ms: number }[] = [];
    for (const e of ev) {
        const c = /^Provider\[\w+\]\.Check\((urn[^,)]*)\) executing/.exec(e.msg);
        if (c) checks.set(c[1], e.t);
        const d = /^Provider\[\w+\]\.Diff\((urn[^,)]*),.*\) success/.exec(e.msg);
        if (d && checks.has(d[1])) steps.push({ urn: d[1], ms: e.t - checks.get(d[1])! });
    }
    const ms = steps.map((s) => s.ms).sort((a, b) => a - b);
    const byKind = (re: RegExp): Obj => {
        const sel = steps.filter((s) => re.test(s.urn)).map((s) => s.ms);
        return { n: sel.length, sumMs: sel.reduce((a, b) => a + b, 0), maxMs: Math.max(0, ...sel) };
    };
    const pluginSum = Object.values(plugins).reduce((a: number, b) => a + (b as number) * 1000, 0);
    const fixed = (run ? run - first : 0) + (run && stackAnswered ? stackAnswered - run : 0) + pluginSum;
    return {
        totalS: seconds(last - first),
        /** What is left after CLI start, program load and plugin starts: the engine's per-resource work, wall clock. */
        remainderS: seconds(last - first - fixed),
        cliToProgramS: run ? seconds(run - first) : undefined,
        programLoadS: run && stackAnswered ? seconds(stackAnswered - run) : undefined,
        pluginStartS: plugins,
        pluginStartSumS: seconds(pluginSum),
        checkDiff: {
            resources: steps.length,
            sumS: seconds(ms.reduce((a, b) => a + b, 0)),
            medianMs: ms[Math.floor(ms.length / 2)],
            maxMs: ms[ms.length - 1],
            dynamic: byKind(/pulumi-nodejs:dynamic/),
            kubernetes: byKind(/\$kubernetes:/),
        },
    };
}

async function emptyProgramPreview(s: SandboxState): Promise<number> {
    const workDir = path.join(s.dir, "bench-empty");
    await fs.mkdir(workDir, { recursive: true });
    const pulumiCommand = await auto.PulumiCommand.get(s.engine.cliRoot ? { root: s.engine.cliRoot } : {});
    const stack = await auto.LocalWorkspace.createOrSelectStack(
        { stackName: "bench", projectName: "ps-bench-empty", program: async () => ({}) },
        {
            workDir,
            pulumiHome: s.engine.pulumiHome,
            pulumiCommand,
            projectSettings: { name: "ps-bench-empty", runtime: "nodejs" },
            envVars: { ...s.engine.env, PULUMI_BACKEND_URL: `file://${s.stateDir}`, PULUMI_CONFIG_PASSPHRASE: s.passphrase },
        },
    );
    await stack.up();
    const [t] = await timed(() => stack.preview({ expectNoChanges: true }));
    return t;
}

async function main(argv: string[]): Promise<void> {
    const runs = argv.includes("--runs") ? Number(argv[argv.indexOf("--runs") + 1]) : 3;
    const s = readSandboxState();
    const stack = await openLocalStack({ engine: s.engine, kubeconfigPath: s.kubeconfigPath, vault: s.vault, stateDir: s.stateDir, workDir: s.workDir, stackName: s.stackName });
    const exported = (await stack.stack.exportStack()).deployment as Obj;
    const resources = (exported.resources as Obj[]).filter((r) => !String(r.type).startsWith("pulumi:providers:")).length;
    const out: Obj = { resources, loadavg: (await fs.readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ") };
    out.previewNoopS = [];
    for (let i = 0; i < runs; i++) out.previewNoopS.push((await timed(() => stack.preview({ expectNoChanges: true })))[0]);
    const best = Math.min(...(out.previewNoopS as number[]));
    out.previewNoopMsPerResource = Math.round((best * 1000) / resources);
    out.refreshS = (await timed(() => stack.refresh({ expectNoChanges: true })))[0];
    out.previewRefreshS = (await timed(() => stack.preview({ refresh: true, expectNoChanges: true })))[0];
    out.emptyProgramPreviewS = await emptyProgramPreview(s);
    const [vS, v] = await timed(() => stack.preview({ expectNoChanges: true, logVerbosity: 9, logToStdErr: true, logFlow: true }));
    out.verbosePreviewS = vS;
    out.breakdown = breakdown(v.stderr);
    out.breakdown.remainderMsPerResource = Math.round(((out.breakdown.remainderS as number) * 1000) / resources);
    if (argv.includes("--destroy")) {
        out.destroyS = (await timed(() => stack.destroy()))[0];
        out.upS = (await timed(() => stack.up()))[0];
    }
    out.loadavgAfter = (await fs.readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((e) => {
        process.stderr.write(`measure-stack: ${String((e as Error).message ?? e)}\n`);
        process.exit(1);
    });
}
