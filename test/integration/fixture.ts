import { startTestEnv, TestEnv } from "../env";

/**
 * Mocha global fixtures (loaded through --require in test/integration/.mocharc.json): the real servers start ONCE
 * per run, before any integration test, and stop after the last one. The first run on a machine builds them.
 */
let env: TestEnv | undefined;

export async function mochaGlobalSetup(): Promise<void> {
    const t0 = Date.now();
    const started = await startTestEnv();
    env = started;
    const t = started.timings;
    process.stderr.write(
        `[test-env] servers ready in ${((Date.now() - t0) / 1000).toFixed(1)} s incl. any build ` +
            `(start-to-ready ${t.total} s: etcd ${t.etcd}, apiserver ${t.apiserver}, controller-manager ${t.controllerManager}, vault ${t.vault}, postgres ${t.postgres}, ESO ${t.eso ?? "skipped"}${t.esoReady !== undefined ? ` (own start ${t.esoReady})` : ""})\n`,
    );
}

export async function mochaGlobalTeardown(): Promise<void> {
    const e = env;
    env = undefined;
    await e?.stop();
}

/** The running environment; only valid inside integration tests (after the global setup). */
export function getEnv(): TestEnv {
    if (!env) {
        throw new Error("test environment is not running: integration tests must run under test/integration/.mocharc.json (which loads fixture.ts)");
    }
    return env;
}
