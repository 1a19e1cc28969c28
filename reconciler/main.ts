import { createLogger, Logger } from "../lib/log";
import { Reconciler, ReconcilerOptions } from "./app";
import { readFileSync } from "node:fs";
import { ConfigError, parseConfig, ReconcilerConfig, usage } from "./config";
import { VaultAuth, VaultConfig } from "./hooks/vault";
import { KubeClient } from "../lib/kube";
import { ClientConfig, inClusterConfig, loadKubeconfigFile } from "../lib/kube";

/** The Vault client configuration from validated flags (pure; parseConfig already checked the combination). */
export function vaultConfig(cfg: ReconcilerConfig): VaultConfig | undefined {
    if (!cfg.vaultAddr) return undefined;
    const caPem = cfg.vaultCaFile ? readFileSync(cfg.vaultCaFile, "utf8") : undefined;
    const auth: VaultAuth = cfg.vaultAuth === "kubernetes" ? { method: "kubernetes", role: cfg.vaultRole!, mount: cfg.vaultAuthMount, jwtPath: cfg.vaultJwtFile } : { method: "token-file", path: cfg.vaultTokenFile! };
    return { addr: cfg.vaultAddr, auth, ...(caPem ? { caPem } : {}) };
}

/** The Reconciler's options from validated flags (pure apart from reading the Vault CA file). */
export function reconcilerOptions(cfg: ReconcilerConfig, client: KubeClient, logger: Logger): ReconcilerOptions {
    return {
        client,
        logger,
        identity: cfg.identity,
        namespaces: cfg.namespaces,
        debounceMs: cfg.debounceMs,
        restartMaxDelayMs: cfg.restartMaxDelayMs,
        workers: cfg.workers,
        ratePerSec: cfg.ratePerSec,
        burst: cfg.burst,
        metricsPort: cfg.metricsPort,
        metricsHost: cfg.metricsHost,
        processMetrics: true,
        ownNamespace: cfg.ownNamespace,
        policyName: cfg.policyName,
        resyncMs: cfg.resyncMs,
        deleteGraceMs: cfg.deleteGraceMs,
        vault: vaultConfig(cfg),
        lease: cfg.leaderElection
            ? { namespace: cfg.leaseNamespace!, name: cfg.leaseName, durationMs: cfg.leaseDurationMs, renewDeadlineMs: cfg.renewDeadlineMs, retryPeriodMs: cfg.retryPeriodMs }
            : undefined,
    };
}

/** Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad configuration. */
export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
    if (argv.includes("--help")) {
        process.stdout.write(`${usage()}\n`);
        return 0;
    }
    let cfg;
    try {
        cfg = parseConfig(argv, env);
    } catch (e) {
        if (e instanceof ConfigError) {
            process.stderr.write(`reconciler: ${e.message}\n`);
            return 2;
        }
        throw e;
    }
    const logger = createLogger({ name: "platform-secrets-reconciler", level: cfg.logLevel });
    let conn: ClientConfig;
    try {
        conn = cfg.kubeconfig ? loadKubeconfigFile(cfg.kubeconfig) : inClusterConfig(env);
    } catch (e) {
        logger.error({ err: String((e as Error).message) }, "cannot load kubeconfig: pass --kubeconfig or run in a pod");
        return 2;
    }
    const client = KubeClient.fromConfig(conn);
    const r = new Reconciler(reconcilerOptions(cfg, client, logger));
    let resolveExit!: (code: number) => void;
    const exit = new Promise<number>((r2) => (resolveExit = r2));
    const shutdown = (signal: string) => {
        logger.info({ signal }, "shutting down");
        r.stop()
            .then(() => resolveExit(0))
            .catch((e) => {
                logger.error({ err: String(e) }, "shutdown failed");
                resolveExit(1);
            });
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
    try {
        await r.start();
        logger.info({ identity: cfg.identity, port: r.port }, "reconciler running");
    } catch (e) {
        logger.error({ err: String(e) }, "reconciler failed to start");
        return 1;
    }
    const code = await exit;
    client.close();
    return code;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`reconciler: ${String(e)}\n`);
            process.exit(1);
        },
    );
}
