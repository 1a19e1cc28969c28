import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { EsoStandIn } from "../standins/eso";
import { Progress, stderrProgress } from "./build";
import { Engine, prepareEngine } from "./engine";
import { TestEnv } from "./env";
import { installEsoCrds } from "./eso-crds";
import { SeedTargets, seedLocalStack } from "./local-seed";
import { LocalStack, openLocalStack } from "./local-stack";

/**
 * The `local` stack on a running TestEnv: ESO's CRDs and the ESO stand-in (only when the environment does not run
 * the real ESO controller, which installs its own CRDs), the operator's seed (namespaces, Vault paths written by
 * others, ESO's Vault token), a workspace copy with the live endpoints, the engine (CLI + plugins, private
 * PULUMI_HOME), and the Automation API stack. `stop()` stops the ESO stand-in and removes the temp dirs (state
 * included: destroy first to remove the cluster objects).
 */
export interface LocalSandbox {
    engine: Engine;
    stack: LocalStack;
    /** The ESO stand-in; undefined when the environment runs the real ESO controller. */
    eso: EsoStandIn | undefined;
    dir: string;
    /** The file backend's directory. */
    stateDir: string;
    stop(): Promise<void>;
}

/** True when the environment runs the real ESO controller (TestEnv.eso, set by startTestEnv unless PS_TEST_SKIP_ESO=1). */
export function hasRealEso(env: TestEnv): boolean {
    return (env as { eso?: unknown }).eso !== undefined && (env as { eso?: unknown }).eso !== null;
}

export interface LocalSandboxOptions {
    progress?: Progress;
    /** Engine output line by line. */
    onOutput?: (line: string) => void;
    /** Reuse an engine (one private PULUMI_HOME per test run). */
    engine?: Engine;
    /** The reconciler as Pods on the real node (pod-install.ts; the main job): its Deployment's rollout is awaited. */
    pods?: SeedTargets["pods"];
}

export async function startLocalSandbox(env: TestEnv, opts: LocalSandboxOptions = {}): Promise<LocalSandbox> {
    const progress = opts.progress ?? stderrProgress;
    const dir = await fs.mkdtemp(path.join(tmpdir(), "ps-local-"));
    let eso: EsoStandIn | undefined;
    try {
        const engine = opts.engine ?? (await prepareEngine({ progress, pulumiHome: path.join(dir, "pulumi-home") }));
        const kc = env.kubeConfig();
        const realEso = hasRealEso(env);
        if (!realEso) {
            const n = await installEsoCrds(kc);
            progress(`installed ${n} ESO CRDs`);
        }
        const workDir = path.join(dir, "project");
        await seedLocalStack({ kubeConfig: kc, vault: env.vault, postgres: { host: env.postgres.host, port: env.postgres.port }, pods: opts.pods }, workDir);
        if (!realEso) eso = new EsoStandIn({ kubeConfig: kc, log: progress }).start();
        const stateDir = path.join(dir, "state");
        const stack = await openLocalStack({ engine, kubeconfigPath: env.kubeconfigPath, vault: env.vault, stateDir, workDir, onOutput: opts.onOutput, noKubelet: opts.pods === undefined });
        const e = eso;
        return {
            engine,
            stack,
            eso: e,
            dir,
            stateDir,
            async stop() {
                await e?.stop();
                await fs.rm(dir, { recursive: true, force: true });
            },
        };
    } catch (e) {
        await eso?.stop();
        await fs.rm(dir, { recursive: true, force: true });
        throw e;
    }
}
