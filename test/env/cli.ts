import { allSpecs, binPath, vaultSpec } from "./binaries";
import { ensureAll, stderrProgress } from "./build";
import { createLogger } from "../../lib/log";
import { demoSummary, seedDemo } from "./demo";
import { startTestEnv, TestEnv } from "./env";
import { buildEngine } from "./engine";

/**
 * test/env CLI. `build` fills the binary cache; `sandbox` starts the environment for a human and prints how to
 * reach it; `env` prints the same as JSON for scripts. Both keep running until Ctrl-C, then tear down.
 * Exit codes: 0 ok, 1 failure, 2 usage.
 */
export const USAGE = `usage: ts-node test/env/cli.ts <command>
  build     build and cache every server binary (prints the build time of each; 0 s = cached)
  build-engine
            build and cache the Pulumi CLI and the kubernetes provider plugin for the e2e tests (test/env/engine.ts;
            a machine with \`pulumi\` and the plugins installed uses those instead)
  sandbox   start etcd, kube-apiserver, kube-controller-manager, Vault (dev) and PostgreSQL; print how to connect;
            keep running until Ctrl-C
  env       start the same and print the connection info as one JSON line; keep running until SIGINT/SIGTERM`;

type Out = (line: string) => void;

function waitForSignal(): Promise<NodeJS.Signals> {
    return new Promise((resolve) => {
        let fired = false;
        // Stays registered: while it is, the library's own signal hook defers to this orderly teardown. A second
        // Ctrl-C exits at once (the exit hook still SIGKILLs the servers by pid and removes the temp dirs).
        const handler = (sig: NodeJS.Signals): void => {
            if (fired) process.exit(130);
            fired = true;
            resolve(sig);
        };
        process.on("SIGINT", handler);
        process.on("SIGTERM", handler);
    });
}

/** What a human types to reach the sandbox. Contains the throwaway dev credentials on purpose. */
export function sandboxInstructions(env: Pick<TestEnv, "kubeconfigPath" | "apiServerUrl" | "vault" | "postgres">, vaultBin: string): string {
    return [
        "",
        "platform-secrets sandbox is ready (throwaway servers on 127.0.0.1; Ctrl-C stops them and deletes their data).",
        "",
        "Kubernetes (kube-apiserver + etcd + kube-controller-manager):",
        `  export KUBECONFIG=${env.kubeconfigPath}`,
        "  kubectl get namespaces",
        `  # API server: ${env.apiServerUrl}`,
        "",
        "Vault API (dev server, KV v2 at secret/):",
        `  export VAULT_ADDR=${env.vault.addr}`,
        `  export VAULT_TOKEN=${env.vault.token}`,
        `  ${vaultBin} kv put secret/demo hello=world`,
        `  curl -s -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/secret/data/demo"`,
        "",
        "PostgreSQL (superuser):",
        `  psql "${env.postgres.url}"`,
        "",
    ].join("\n");
}

async function runEnv(mode: "sandbox" | "env", out: Out): Promise<number> {
    // Registered before anything starts, so a Ctrl-C during start-up also tears down in order.
    const signal = waitForSignal();
    const env = await startTestEnv({ progress: stderrProgress });
    stderrProgress(`ready in ${env.timings.total} s (${JSON.stringify(env.timings)})`);
    if (mode === "sandbox") {
        out(sandboxInstructions(env, binPath(vaultSpec(), "vault")));
        const logger = createLogger({ name: "reconciler", level: "info", destination: process.stdout });
        let demo: Awaited<ReturnType<typeof seedDemo>> | undefined;
        try {
            demo = await seedDemo(env, logger);
            out(demoSummary({ namespace: demo.namespace, metricsUrl: demo.metricsUrl, kubeconfigPath: env.kubeconfigPath }));
        } catch (e) {
            await env.stop();
            throw e;
        }
        const sig = await signal;
        stderrProgress(`${sig}: stopping the reconciler, then the servers`);
        await demo.stop();
        await env.stop();
        stderrProgress("stopped; temp dirs removed");
        return 0;
    } else {
        const { kubeconfigPath, apiServerUrl, vault, postgres, timings } = env;
        out(JSON.stringify({ kubeconfigPath, apiServerUrl, vault, postgres, timings }));
    }
    const sig = await signal;
    stderrProgress(`${sig}: stopping`);
    await env.stop();
    stderrProgress("stopped; temp dirs removed");
    return 0;
}

export async function main(argv: string[], out: Out = (l) => process.stdout.write(l + "\n")): Promise<number> {
    const [cmd, ...rest] = argv;
    if (rest.length > 0 || cmd === undefined) {
        process.stderr.write(USAGE + "\n");
        return 2;
    }
    try {
        switch (cmd) {
            case "build": {
                const results = await ensureAll(allSpecs(), { progress: stderrProgress });
                for (const r of results) {
                    out(`${r.spec.module}@${r.spec.version}: ${r.builtSeconds > 0 ? `built in ${r.builtSeconds} s` : "cached"} -> ${Object.values(r.paths).join(", ")}`);
                }
                return 0;
            }
            case "build-engine": {
                for (const r of await buildEngine(stderrProgress)) out(`${r.what}: ${r.seconds > 0 ? `built in ${r.seconds} s` : "cached"}`);
                return 0;
            }
            case "sandbox":
            case "env":
                return await runEnv(cmd, out);
            case "-h":
            case "--help":
            case "help":
                out(USAGE);
                return 0;
            default:
                process.stderr.write(`unknown command "${cmd}"\n${USAGE}\n`);
                return 2;
        }
    } catch (e) {
        process.stderr.write(`[test-env] ${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => process.exit(code));
}
