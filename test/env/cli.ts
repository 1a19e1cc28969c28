import { allSpecs } from "./binaries";
import { ensureAll, stderrProgress } from "./build";
import { startTestEnv, TestEnv } from "./env";
import { buildEngine } from "./engine";
import { runSandbox, sandboxCommand } from "./sandbox";
import { waitForSignal } from "./process";

/**
 * test/env CLI. `build` fills the binary cache; `sandbox` is the product's main job (sandbox.ts: servers, `pulumi
 * up` of the local stack, the reconciler with the stack's ServiceAccount) and, with arguments, its runner for a
 * second terminal; `env` starts the servers only and prints their connection info as JSON for scripts. The long
 * running ones keep running until Ctrl-C, then tear down. Exit codes: 0 ok, 1 failure, 2 usage.
 */
export const USAGE = `usage: ts-node test/env/cli.ts <command>
  build     build and cache every server binary, the ESO controller included (prints the build time of each;
            0 s = cached)
  build-engine
            build and cache the Pulumi CLI and the kubernetes provider plugin for the e2e tests (test/env/engine.ts;
            a machine with \`pulumi\` and the plugins installed uses those instead)
  sandbox   the main job: start etcd, kube-apiserver, kube-controller-manager, Vault (dev), PostgreSQL and the ESO
            controller, run \`pulumi up\` of the local stack (Pulumi.local.yaml) through the real engine, run the
            reconciler with the ServiceAccount the stack created, print what was created, how to look at it and how
            to rotate a password; keep running until Ctrl-C, then tear everything down (npm run sandbox)
  sandbox pulumi <args>
            from a second terminal, against the running sandbox: pulumi up | preview | refresh | destroy (flags
            --refresh --expect-no-changes --diff --target) through the Automation API, any other pulumi command
            (config set ..., stack export, ...) through the CLI (npm run sandbox -- pulumi <args>)
  sandbox rotate <password>
            from a second terminal: bump the password's rotation counter, pulumi up, and report the new Vault
            version, the ESO re-sync and the reconciler's hook (npm run sandbox -- rotate app-db-password)
  sandbox info
            the running sandbox's state file (PS_SANDBOX_STATE, default $TMPDIR/platform-secrets-sandbox.json)
  env [--node]
            start the servers only (no stack) and print the connection info as one JSON line; keep running until
            SIGINT/SIGTERM. --node: also a real node and the scheduler (README.md, "A real node"); load an image
            from another terminal with: ctr --address <node dir>/containerd/containerd.sock -n k8s.io images
            import --base-name <repo> <oci archive>`;

type Out = (line: string) => void;


/** `env`: the servers only, their connection info as one JSON line (contains the throwaway dev credentials). */
async function runEnv(out: Out, node: boolean): Promise<number> {
    // Registered before anything starts, so a Ctrl-C during start-up also tears down in order.
    const signal = waitForSignal();
    const env: TestEnv & { timings: Record<string, number> } = await startTestEnv({ progress: stderrProgress, node });
    stderrProgress(`ready in ${env.timings.total} s (${JSON.stringify(env.timings)})`);
    const { kubeconfigPath, apiServerUrl, vault, postgres, timings } = env;
    const nodeInfo = env.node && { nodeName: env.node.nodeName, netns: env.node.netns, images: env.node.images, logs: env.node.logs };
    out(JSON.stringify({ kubeconfigPath, apiServerUrl, vault, postgres, node: nodeInfo, timings }));
    const sig = await signal;
    stderrProgress(`${sig}: stopping`);
    await env.stop();
    stderrProgress("stopped; temp dirs removed");
    return 0;
}

export async function main(argv: string[], out: Out = (l) => process.stdout.write(l + "\n")): Promise<number> {
    const [cmd, ...rest] = argv;
    const envWithNode = cmd === "env" && rest.length === 1 && rest[0] === "--node";
    if (cmd === undefined || (rest.length > 0 && cmd !== "sandbox" && !envWithNode)) {
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
                return rest.length > 0 ? await sandboxCommand(rest, out) : await runSandbox({ out });
            case "env":
                return await runEnv(out, envWithNode);
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
