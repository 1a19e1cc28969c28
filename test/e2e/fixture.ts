import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Engine, prepareEngine } from "../env/engine";
import { startTestEnv, TestEnv } from "../env";

/**
 * Mocha global fixtures for the end-to-end suite (real Pulumi engine, real apiserver, real Vault): the servers
 * start once, and the engine (CLI + plugins, built or found once, linked into a private PULUMI_HOME) is prepared
 * once per run. The first run on a machine builds the CLI and the kubernetes provider (see test/env/README.md).
 */
let env: TestEnv | undefined;
let engine: Engine | undefined;
let home: string | undefined;
export const timings: Record<string, number> = {};

export async function mochaGlobalSetup(): Promise<void> {
    let t0 = Date.now();
    home = await fs.mkdtemp(path.join(tmpdir(), "ps-e2e-home-"));
    engine = await prepareEngine({ pulumiHome: home });
    timings.engine = (Date.now() - t0) / 1000;
    t0 = Date.now();
    // With a real node: the e2e suite runs the reconciler, the token generator and consumers as Pods (issue 19).
    env = await startTestEnv({ node: true });
    timings.servers = (Date.now() - t0) / 1000;
    process.stderr.write(`[e2e] engine ready in ${timings.engine} s (CLI: ${engine.cliSource}; plugins: ${Object.entries(engine.plugins).map(([n, p]) => `${n} ${p.version} ${p.source}`).join(", ")}); servers in ${timings.servers} s\n`);
}

export async function mochaGlobalTeardown(): Promise<void> {
    const e = env;
    env = undefined;
    // Bounded: a teardown that hangs must not hang the run; what is left is killed by the process-exit hooks.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), 180_000)));
    if ((await Promise.race([e?.stop(), late])) === "late") process.stderr.write("[e2e] environment teardown did not finish within 180 s; the exit hooks kill what is left\n");
    clearTimeout(timer);
    if (home) await fs.rm(home, { recursive: true, force: true });
    if (Object.keys(timings).length) process.stderr.write(`[e2e] timings (s): ${JSON.stringify(timings)}\n`);
}

export function getE2E(): { env: TestEnv; engine: Engine } {
    if (!env || !engine) throw new Error("e2e environment is not running: run under test/e2e/.mocharc.json (which loads fixture.ts)");
    return { env, engine };
}
