/**
 * The per-resource cost of a no-op `pulumi preview` through the REAL engine (issue 13 §6, target ≤ 10 ms), apart
 * from the fixed cost every run pays once (CLI start, program load, each plugin's start):
 *
 *   npm run bench:engine [-- --n=40 --runs=3]   (= npx ts-node --transpile-only bench/engine.ts)
 *
 * For each resource kind the program uses, a stack with 1 and then 1+N resources of that kind is brought up and
 * previewed with no changes (best of --runs); the per-resource cost is the slope (t(1+N) − t(1)) / N, so the
 * plugin's start and the program's load cancel out. Kinds: kubernetes Secret (the built provider), DerivedSecret
 * (the product's dynamic provider, docker format), RandomPassword and kv.SecretV2 (installed plugins, else the
 * labelled stand-ins of test/standins). A preview of an empty program gives the CLI + Automation API floor.
 * Starts its own servers (apiserver + Vault; ESO is not needed) and engine; prints one table. Scales with CPU
 * contention: run it on a quiet machine (the load average is printed).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as auto from "@pulumi/pulumi/automation";
import * as random from "@pulumi/random";
import * as vault from "@pulumi/vault";
import { promises as fs, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DockerConfigSecret } from "../providers";
import { prepareEngine, ROOT } from "../test/env/engine";
import { flag, intFlag, log, table } from "./lib";

type Kind = "kubernetes" | "derived" | "random" | "vault";
const KINDS: Kind[] = ["kubernetes", "derived", "random", "vault"];

interface Ctx {
    kubeconfig: string;
    prefix: string;
}

/** n resources of one kind (plus, for `derived`, the one source Secret they read). */
function program(kind: Kind, n: number, c: Ctx): () => Promise<Record<string, unknown>> {
    return async () => {
        const k8sProvider = new k8s.Provider("bench", { kubeconfig: c.kubeconfig });
        const opts = { provider: k8sProvider };
        switch (kind) {
            case "kubernetes":
                for (let i = 0; i < n; i++) {
                    new k8s.core.v1.Secret(`s${i}`, { metadata: { name: `${c.prefix}-s${i}`, namespace: "default" }, stringData: { k: `v${i}` } }, opts);
                }
                break;
            case "derived": {
                const src = new k8s.core.v1.Secret("src", { metadata: { name: `${c.prefix}-src`, namespace: "default" }, stringData: { username: "u", password: "bench" } }, opts);
                for (let i = 0; i < n; i++) {
                    new DockerConfigSecret(`d${i}`, {
                        source: { namespace: "default", name: src.metadata.name },
                        target: { namespace: "default", name: `${c.prefix}-d${i}` },
                        registry: "registry.example.com",
                        kubeconfig: c.kubeconfig,
                    });
                }
                break;
            }
            case "random":
                for (let i = 0; i < n; i++) new random.RandomPassword(`p${i}`, { length: 24, keepers: { rotation: "1" } });
                break;
            case "vault":
                for (let i = 0; i < n; i++) {
                    new vault.kv.SecretV2(`v${i}`, { mount: "secret", name: `${c.prefix}/v${i}`, dataJson: pulumi.secret(JSON.stringify({ k: `v${i}` })) });
                }
                break;
            default: {
                const never: never = kind;
                throw new Error(`unknown kind ${String(never)}`);
            }
        }
        return {};
    };
}

async function bestOf(runs: number, f: () => Promise<unknown>): Promise<number> {
    let best = Infinity;
    for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await f();
        best = Math.min(best, performance.now() - t0);
    }
    return best;
}

async function main(): Promise<void> {
    const n = intFlag("n", 40);
    const runs = intFlag("runs", 3);
    const kinds = flag("kinds", KINDS.join(",")).split(",") as Kind[];
    const unknown = kinds.filter((k) => !KINDS.includes(k));
    if (unknown.length) throw new Error(`--kinds: unknown ${unknown.join(", ")}; use any of ${KINDS.join(",")}`);
    /** --log=DIR: the engine's own log (-v=9) of one more no-op preview of each 1+N stack, for a breakdown. */
    const logDir = flag("log", "");
    if (n < 1 || runs < 1) throw new Error("--n and --runs must be at least 1");
    const { startTestEnv } = await import("../test/env");
    const env = await startTestEnv({ eso: false });
    const work = await fs.mkdtemp(path.join(tmpdir(), "ps-bench-engine-"));
    try {
        const engine = await prepareEngine({ pulumiHome: path.join(work, "home") });
        // The dynamic-provider plugin resolves @pulumi/pulumi from its working directory.
        await fs.symlink(path.join(ROOT, "node_modules"), path.join(work, "node_modules"));
        const pulumiCommand = await auto.PulumiCommand.get(engine.cliRoot ? { root: engine.cliRoot } : {});
        const ctx: Ctx = { kubeconfig: readFileSync(env.kubeconfigPath, "utf8"), prefix: `bench-${process.pid}` };
        const envVars = {
            ...engine.env,
            PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
            PULUMI_CONFIG_PASSPHRASE: "bench",
            VAULT_ADDR: env.vault.addr,
            VAULT_TOKEN: env.vault.token,
        };
        await fs.mkdir(path.join(work, "state"));
        const open = (name: string, prog: () => Promise<Record<string, unknown>>) =>
            auto.LocalWorkspace.createOrSelectStack(
                { stackName: name, projectName: "ps-bench-engine", program: prog },
                { workDir: work, pulumiHome: engine.pulumiHome, pulumiCommand, envVars, projectSettings: { name: "ps-bench-engine", runtime: "nodejs" } },
            );
        const load = (await fs.readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
        const empty = await open("empty", async () => ({}));
        await empty.up();
        const floor = await bestOf(runs, () => empty.preview({ expectNoChanges: true }));
        const rows: string[][] = [["empty program", "0", (floor / 1000).toFixed(2), "", ""]];
        for (const kind of kinds) {
            if (kind === "vault" && process.env.PS_TEST_SKIP_VAULT === "1") {
                log("vault: skipped (PS_TEST_SKIP_VAULT=1)");
                continue;
            }
            const stack = await open(kind, program(kind, 1, ctx));
            await stack.up();
            const t1 = await bestOf(runs, () => stack.preview({ expectNoChanges: true }));
            const big = await open(kind, program(kind, 1 + n, ctx));
            await big.up();
            const tn = await bestOf(runs, () => big.preview({ expectNoChanges: true }));
            const per = (tn - t1) / n;
            rows.push([kind, `1 / ${1 + n}`, `${(t1 / 1000).toFixed(2)} / ${(tn / 1000).toFixed(2)}`, per.toFixed(1), per <= 10 ? "yes" : "no"]);
            log(`${kind}: ${per.toFixed(1)} ms per resource`);
            if (logDir) {
                const v = await big.preview({ expectNoChanges: true, logVerbosity: 9, logToStdErr: true, logFlow: true });
                await fs.mkdir(logDir, { recursive: true });
                await fs.writeFile(path.join(logDir, `${kind}-${1 + n}.v9.log`), v.stderr);
            }
            await big.destroy();
        }
        process.stdout.write(`engine: CLI ${engine.cliSource}; plugins ${Object.entries(engine.plugins).map(([k, p]) => `${k} ${p.source}`).join(", ")}; load ${load}\n`);
        process.stdout.write(table(["kind", "resources", "no-op preview (s)", "ms / resource", "≤ 10 ms"], rows) + "\n");
    } finally {
        await env.stop();
        await fs.rm(work, { recursive: true, force: true });
    }
}

if (require.main === module) {
    main().catch((e) => {
        process.stderr.write(`bench:engine: ${String((e as Error).stack ?? e)}\n`);
        process.exit(1);
    });
}
