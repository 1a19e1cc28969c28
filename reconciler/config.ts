import { hostname } from "node:os";

export interface ReconcilerConfig {
    kubeconfig?: string;
    namespaces: string[];
    debounceMs: number;
    workers: number;
    vaultAddr?: string;
    vaultToken?: string;
    metricsPort: number;
    leaseName: string;
    leaseNamespace?: string;
    leaderElection: boolean;
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
    ratePerSec: number;
    burst: number;
    logLevel: string;
}

export class ConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConfigError";
    }
}

const FLAGS: Record<string, { env: string; key: keyof ReconcilerConfig; kind: "string" | "int" | "list" | "bool" }> = {
    "--kubeconfig": { env: "KUBECONFIG", key: "kubeconfig", kind: "string" },
    "--namespaces": { env: "RECONCILER_NAMESPACES", key: "namespaces", kind: "list" },
    "--debounce-ms": { env: "RECONCILER_DEBOUNCE_MS", key: "debounceMs", kind: "int" },
    "--workers": { env: "RECONCILER_WORKERS", key: "workers", kind: "int" },
    "--vault-addr": { env: "VAULT_ADDR", key: "vaultAddr", kind: "string" },
    "--vault-token": { env: "VAULT_TOKEN", key: "vaultToken", kind: "string" },
    "--metrics-port": { env: "RECONCILER_METRICS_PORT", key: "metricsPort", kind: "int" },
    "--lease-name": { env: "RECONCILER_LEASE_NAME", key: "leaseName", kind: "string" },
    "--lease-namespace": { env: "POD_NAMESPACE", key: "leaseNamespace", kind: "string" },
    "--leader-election": { env: "RECONCILER_LEADER_ELECTION", key: "leaderElection", kind: "bool" },
    "--identity": { env: "POD_NAME", key: "identity", kind: "string" },
    "--lease-duration-ms": { env: "RECONCILER_LEASE_DURATION_MS", key: "leaseDurationMs", kind: "int" },
    "--renew-deadline-ms": { env: "RECONCILER_RENEW_DEADLINE_MS", key: "renewDeadlineMs", kind: "int" },
    "--retry-period-ms": { env: "RECONCILER_RETRY_PERIOD_MS", key: "retryPeriodMs", kind: "int" },
    "--rate": { env: "RECONCILER_RATE", key: "ratePerSec", kind: "int" },
    "--burst": { env: "RECONCILER_BURST", key: "burst", kind: "int" },
    "--log-level": { env: "LOG_LEVEL", key: "logLevel", kind: "string" },
};

export function usage(): string {
    return `usage: reconciler [flags]\n${Object.entries(FLAGS)
        .map(([f, d]) => `  ${f}=<${d.kind}>  (env ${d.env})`)
        .join("\n")}\n  --help`;
}

/** Config from flags (--flag=value or --flag value) over environment over defaults (pure). Throws ConfigError naming the option. */
export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): ReconcilerConfig {
    const cfg: ReconcilerConfig = {
        namespaces: [],
        debounceMs: 2000,
        workers: 4,
        metricsPort: 8080,
        leaseName: "platform-secrets-reconciler",
        leaderElection: true,
        identity: `${hostname()}-${process.pid}`,
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
        ratePerSec: 500,
        burst: 1000,
        logLevel: "info",
    };
    const raw = new Map<string, string>();
    for (const [flag, d] of Object.entries(FLAGS)) {
        const v = env[d.env];
        if (v !== undefined && v !== "") raw.set(flag, v);
    }
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const eq = a.indexOf("=");
        const flag = eq > 0 ? a.slice(0, eq) : a;
        if (!FLAGS[flag]) throw new ConfigError(`unknown flag "${flag}"; see --help`);
        let value: string | undefined = eq > 0 ? a.slice(eq + 1) : undefined;
        if (value === undefined) {
            if (FLAGS[flag].kind === "bool" && (argv[i + 1] === undefined || argv[i + 1].startsWith("--"))) value = "true";
            else value = argv[++i];
        }
        if (value === undefined) throw new ConfigError(`flag ${flag} needs a value`);
        raw.set(flag, value);
    }
    for (const [flag, value] of raw) {
        const d = FLAGS[flag];
        const target = cfg as unknown as Record<string, unknown>;
        switch (d.kind) {
            case "string":
                target[d.key] = value;
                break;
            case "int": {
                if (!/^\d+$/.test(value)) throw new ConfigError(`${flag} (${d.env}) must be a non-negative integer, got "${value}"`);
                target[d.key] = Number(value);
                break;
            }
            case "list":
                target[d.key] = value.split(",").map((s) => s.trim()).filter(Boolean);
                break;
            case "bool":
                if (!["true", "false"].includes(value)) throw new ConfigError(`${flag} (${d.env}) must be true or false, got "${value}"`);
                target[d.key] = value === "true";
                break;
            default: {
                const never: never = d.kind;
                throw new ConfigError(`unknown kind ${String(never)}`);
            }
        }
    }
    if (cfg.workers < 1) throw new ConfigError("--workers must be >= 1");
    if (cfg.ratePerSec < 1 || cfg.burst < 1) throw new ConfigError("--rate and --burst must be >= 1");
    if (cfg.metricsPort > 65535) throw new ConfigError("--metrics-port must be <= 65535");
    if (cfg.vaultAddr && !cfg.vaultToken) throw new ConfigError("--vault-addr is set but no --vault-token / VAULT_TOKEN; the postgres hook needs both");
    if (cfg.leaderElection && !cfg.leaseNamespace) throw new ConfigError("leader election needs --lease-namespace (or POD_NAMESPACE); pass --leader-election=false for a single replica");
    for (const ns of cfg.namespaces) if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw new ConfigError(`--namespaces: "${ns}" is not a namespace name`);
    return cfg;
}
