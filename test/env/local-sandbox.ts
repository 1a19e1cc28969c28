import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { EsoStandIn } from "../standins/eso";
import { Progress, stderrProgress } from "./build";
import { Engine, prepareEngine } from "./engine";
import { TestEnv } from "./env";
import { installEsoCrds } from "./eso-crds";
import { seedLocalStack } from "./local-seed";
import { LocalStack, openLocalStack } from "./local-stack";

/**
 * The `local` stack on a running TestEnv: ESO's CRDs, the ESO stand-in, the operator's seed (namespaces, Vault
 * paths written by others, ESO's Vault token), a workspace copy with the live endpoints, the engine (CLI + plugins,
 * private PULUMI_HOME), and the Automation API stack. `stop()` stops the ESO stand-in and removes the temp dirs
 * (state included: destroy first to remove the cluster objects).
 */
export interface LocalSandbox {
    engine: Engine;
    stack: LocalStack;
    eso: EsoStandIn;
    dir: string;
    stop(): Promise<void>;
}

export interface LocalSandboxOptions {
    progress?: Progress;
    /** Engine output line by line. */
    onOutput?: (line: string) => void;
    /** Reuse an engine (one private PULUMI_HOME per test run). */
    engine?: Engine;
}

export async function startLocalSandbox(env: TestEnv, opts: LocalSandboxOptions = {}): Promise<LocalSandbox> {
    const progress = opts.progress ?? stderrProgress;
    const dir = await fs.mkdtemp(path.join(tmpdir(), "ps-local-"));
    let eso: EsoStandIn | undefined;
    try {
        const engine = opts.engine ?? (await prepareEngine({ progress, pulumiHome: path.join(dir, "pulumi-home") }));
        const kc = env.kubeConfig();
        const n = await installEsoCrds(kc);
        progress(`installed ${n} ESO CRDs`);
        const workDir = path.join(dir, "project");
        await seedLocalStack({ kubeConfig: kc, vault: env.vault, postgres: { host: env.postgres.host, port: env.postgres.port } }, workDir);
        eso = new EsoStandIn({ kubeConfig: kc, log: progress }).start();
        const stack = await openLocalStack({ engine, kubeconfigPath: env.kubeconfigPath, vault: env.vault, stateDir: path.join(dir, "state"), workDir, onOutput: opts.onOutput });
        const e = eso;
        return {
            engine,
            stack,
            eso: e,
            dir,
            async stop() {
                await e.stop();
                await fs.rm(dir, { recursive: true, force: true });
            },
        };
    } catch (e) {
        await eso?.stop();
        await fs.rm(dir, { recursive: true, force: true });
        throw e;
    }
}
