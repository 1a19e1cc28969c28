import { parseArgs as nodeParseArgs } from "node:util";
import { isDnsLabel } from "../derive";
import { hostname } from "node:os";
import { parseWith, z } from "../lib/schema";

export interface ReconcilerConfig {
    kubeconfig?: string;
    namespaces: string[];
    debounceMs: number;
    restartMaxDelayMs?: number;
    workers: number;
    vaultAddr?: string;
    /** kubernetes (the pod's ServiceAccount token → a Vault role) or token-file. */
    vaultAuth?: string;
    vaultRole?: string;
    vaultAuthMount: string;
    vaultTokenFile?: string;
    vaultJwtFile: string;
    vaultCaFile?: string;
    /** Own namespace (policy ConfigMap, hook state, fingerprint key); default the lease namespace. */
    ownNamespace?: string;
    policyName: string;
    resyncMs: number;
    deleteGraceMs: number;
    metricsPort: number;
    /** Listen address of /metrics, /healthz, /readyz; default all interfaces (in-cluster scraping). */
    metricsHost?: string;
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
    "--restart-max-delay-ms": { env: "RECONCILER_RESTART_MAX_DELAY_MS", key: "restartMaxDelayMs", kind: "int" },
    "--workers": { env: "RECONCILER_WORKERS", key: "workers", kind: "int" },
    "--vault-addr": { env: "VAULT_ADDR", key: "vaultAddr", kind: "string" },
    "--vault-auth": { env: "VAULT_AUTH_METHOD", key: "vaultAuth", kind: "string" },
    "--vault-role": { env: "VAULT_ROLE", key: "vaultRole", kind: "string" },
    "--vault-auth-mount": { env: "VAULT_AUTH_MOUNT", key: "vaultAuthMount", kind: "string" },
    "--vault-token-file": { env: "VAULT_TOKEN_FILE", key: "vaultTokenFile", kind: "string" },
    "--vault-jwt-file": { env: "VAULT_JWT_FILE", key: "vaultJwtFile", kind: "string" },
    "--vault-ca-file": { env: "VAULT_CACERT", key: "vaultCaFile", kind: "string" },
    "--own-namespace": { env: "RECONCILER_OWN_NAMESPACE", key: "ownNamespace", kind: "string" },
    "--policy": { env: "RECONCILER_POLICY", key: "policyName", kind: "string" },
    "--resync-ms": { env: "RECONCILER_RESYNC_MS", key: "resyncMs", kind: "int" },
    "--delete-grace-ms": { env: "RECONCILER_DELETE_GRACE_MS", key: "deleteGraceMs", kind: "int" },
    "--metrics-port": { env: "RECONCILER_METRICS_PORT", key: "metricsPort", kind: "int" },
    "--metrics-host": { env: "RECONCILER_METRICS_HOST", key: "metricsHost", kind: "string" },
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

const DEFAULTS = (): ReconcilerConfig => ({
    namespaces: [],
    debounceMs: 2000,
    workers: 8,
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
    vaultAuthMount: "kubernetes",
    vaultJwtFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
    policyName: "platform-secrets-policy",
    resyncMs: 600_000,
    deleteGraceMs: 30_000,
});

/** The value of each kind of flag, as zod (lib/schema.ts) reads it; the message names the flag, its env and the value. */
const KIND_SCHEMAS = {
    string: z.string(),
    int: z.string().regex(/^\d+$/, { error: "must be a non-negative integer" }).transform(Number),
    list: z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean)),
    bool: z.enum(["true", "false"], { error: "must be true or false" }).transform((v) => v === "true"),
} satisfies Record<(typeof FLAGS)[string]["kind"], z.ZodType>;

/** Raw values by flag: environment first, flags over it. */
function rawValues(argv: readonly string[], env: Record<string, string | undefined>): Map<string, string> {
    const raw = new Map<string, string>();
    for (const [flag, d] of Object.entries(FLAGS)) {
        const v = env[d.env];
        if (v !== undefined && v !== "") raw.set(flag, v);
    }
    for (const a of argv) {
        if (a === "--vault-token" || a.startsWith("--vault-token=")) throw new ConfigError("--vault-token: a Vault token is never taken on the command line (it would show in ps and the pod spec); use --vault-token-file or --vault-auth=kubernetes --vault-role=<role>");
    }
    // node:util parseArgs (strict): every flag takes a string value; a bare boolean flag means "true".
    const args = argv.map((a, i) => (FLAGS[a]?.kind === "bool" && (argv[i + 1] === undefined || argv[i + 1].startsWith("--")) ? `${a}=true` : a));
    let values: Record<string, unknown>;
    try {
        values = nodeParseArgs({ args, options: Object.fromEntries(Object.keys(FLAGS).map((f) => [f.slice(2), { type: "string" as const }])), strict: true, allowPositionals: false }).values;
    } catch (e) {
        const code = (e as { code?: unknown }).code;
        const flag = /'(--[\w-]+)/.exec(String((e as Error).message))?.[1] ?? /'([^']+)'/.exec(String((e as Error).message))?.[1] ?? "?";
        if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new ConfigError(`unknown flag "${flag}"; see --help`);
        if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new ConfigError(`flag ${flag} needs a value`);
        if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") throw new ConfigError(`unexpected argument ${flag}; flags only (see --help)`);
        throw e;
    }
    for (const [name, v] of Object.entries(values)) if (typeof v === "string") raw.set(`--${name}`, v);
    return raw;
}

/** The checks that span options. */
function checkConfig(cfg: ReconcilerConfig): void {
    if (cfg.workers < 1) throw new ConfigError("--workers must be >= 1");
    if (cfg.ratePerSec < 1 || cfg.burst < 1) throw new ConfigError("--rate and --burst must be >= 1");
    if (cfg.metricsPort > 65535) throw new ConfigError("--metrics-port must be <= 65535");
    if (cfg.vaultAddr) {
        switch (cfg.vaultAuth) {
            case "kubernetes":
                if (!cfg.vaultRole) throw new ConfigError("--vault-auth=kubernetes needs --vault-role (VAULT_ROLE): the Vault role bound to this ServiceAccount");
                break;
            case "token-file":
                if (!cfg.vaultTokenFile) throw new ConfigError("--vault-auth=token-file needs --vault-token-file (VAULT_TOKEN_FILE): a file holding the token, e.g. a mounted Secret");
                break;
            case undefined:
                throw new ConfigError("--vault-addr is set but no --vault-auth (VAULT_AUTH_METHOD): use kubernetes (with --vault-role) or token-file (with --vault-token-file)");
            default:
                throw new ConfigError(`--vault-auth (VAULT_AUTH_METHOD) must be kubernetes or token-file, got "${cfg.vaultAuth}"`);
        }
    }
    if (cfg.ownNamespace !== undefined && !isDnsLabel(cfg.ownNamespace)) throw new ConfigError(`--own-namespace: "${cfg.ownNamespace}" is not a namespace name`);
    if (cfg.leaderElection && !cfg.leaseNamespace) throw new ConfigError("leader election needs --lease-namespace (or POD_NAMESPACE); pass --leader-election=false for a single replica");
    for (const ns of cfg.namespaces) if (!isDnsLabel(ns)) throw new ConfigError(`--namespaces: "${ns}" is not a namespace name`);
}

/** Config from flags (--flag=value or --flag value) over environment over defaults (pure). Throws ConfigError naming the option. */
export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): ReconcilerConfig {
    const cfg = DEFAULTS();
    const target = cfg as unknown as Record<string, unknown>;
    for (const [flag, value] of rawValues(argv, env)) {
        const d = FLAGS[flag];
        target[d.key] = parseWith(KIND_SCHEMAS[d.kind], value, ({ problem }) => {
            throw new ConfigError(`${flag} (${d.env}) ${problem}, got "${value}"`);
        });
    }
    if (cfg.ownNamespace === undefined) cfg.ownNamespace = cfg.leaseNamespace;
    checkConfig(cfg);
    return cfg;
}
