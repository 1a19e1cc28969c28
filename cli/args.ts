/** Argument parsing and help texts (pure). */
import { parseArgs as nodeParseArgs } from "node:util";

export interface FlagSpec {
    name: string;
    short?: string;
    /** Takes a value (else a boolean switch). */
    value?: string;
    help: string;
}

export interface CommandSpec {
    name: string;
    usage: string;
    summary: string;
    flags: FlagSpec[];
    /** Extra lines for --help: exit codes, examples. */
    details: string[];
}

export class UsageError extends Error {
    constructor(message: string, readonly command?: string) {
        super(message);
        this.name = "UsageError";
    }
}

export const GLOBAL_FLAGS: FlagSpec[] = [
    { name: "kubeconfig", value: "FILE", help: "kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config)" },
    { name: "context", value: "NAME", help: "kubeconfig context to use (default: the current context)" },
    { name: "reconciler-namespace", value: "NS", help: "namespace of the reconciler and its policy ConfigMap (default: $PLATFORM_SECRETS_NAMESPACE, else platform-secrets, the stack's default reconcilerNamespace)" },
    { name: "no-color", help: "never colour the output (colours are only used on a terminal, and never with NO_COLOR set)" },
    { name: "help", short: "h", help: "show help" },
];

const EXIT = "Exit codes: 0 ok, 1 not in sync / invalid / not acknowledged, 2 usage error, 3 cannot read (not permitted, not found, unreachable).";

export const COMMANDS: CommandSpec[] = [
    {
        name: "status",
        usage: "status [-n NS | -A] [--source NS/NAME] [-o table|json|yaml]",
        summary: "every derived secret and fan-out target, grouped by source, with state, age and reason",
        flags: [
            { name: "namespace", short: "n", value: "NS", help: "only this namespace (default: the context's namespace)" },
            { name: "all-namespaces", short: "A", help: "every namespace you may read (403s are listed as not permitted)" },
            { name: "source", value: "NS/NAME", help: "only the targets of this source" },
            { name: "output", short: "o", value: "FORMAT", help: "table (default), json or yaml" },
        ],
        details: ["Exits 1 when anything is not in sync (usable in CI), 3 when everything readable is in sync but something was not permitted.", EXIT],
    },
    {
        name: "explain",
        usage: "explain NS/NAME",
        summary: "one secret: its recipe, source and grant, consumers, hooks, last events and what to do next",
        flags: [],
        details: [EXIT],
    },
    {
        name: "validate",
        usage: "validate --format FORMAT [--options JSON] [--target NS/NAME] NS/NAME | validate --file secret.yaml [--format FORMAT]",
        summary: "check a source secret against a format without writing anything, with the reconciler's messages",
        flags: [
            { name: "format", value: "FORMAT", help: "tekton-git, docker, kargo, argocd or mirror" },
            { name: "options", value: "JSON", help: 'the format\'s options, e.g. \'{"gitUrls":["https://github.com"]}\'' },
            { name: "target", value: "NS/NAME", help: "the derived secret it would become (messages name it; default NS/NAME-FORMAT)" },
            { name: "file", short: "f", value: "FILE", help: "check Secret manifests from a file (- for stdin) instead of the cluster" },
            { name: "namespace", short: "n", value: "NS", help: "namespace for manifests without one" },
        ],
        details: [
            "Without --format, a secret that declares a fan-out is checked against each of its fan-out entries, and a derived secret against its own recipe.",
            "Nothing is written; only key names are printed, never values.",
            EXIT,
        ],
    },
    {
        name: "sync",
        usage: "sync NS/NAME [--timeout 60s]",
        summary: "request a resync of a derived secret or a source and wait until the reconciler reports it",
        flags: [{ name: "timeout", value: "DURATION", help: "how long to wait, e.g. 30s, 2m (default 60s)" }],
        details: ["Needs RBAC patch on secrets in that namespace (the request is an annotation).", EXIT],
    },
    {
        name: "rotation",
        usage: "rotation NS/NAME | rotation --password VAULT_PATH [-n NS | -A]  [--vault-addr URL] [--vault-token-file FILE] [--vault-mount secret] [-o table|json]",
        summary: "one rotation from Vault to the last Pod: Vault version, ESO sync, hooks, derived secrets, rollouts",
        flags: [
            { name: "password", value: "VAULT_PATH", help: "a stable password by its Vault path inside the mount (e.g. dev/authentik/postgres): every consumer Secret of it" },
            { name: "namespace", short: "n", value: "NS", help: "with --password: only ExternalSecrets in this namespace (default: all you may list)" },
            { name: "all-namespaces", short: "A", help: "look for derived secrets (fan-out copies) and their consumers in every namespace" },
            { name: "vault-addr", value: "URL", help: "Vault address (default $VAULT_ADDR)" },
            { name: "vault-token-file", value: "FILE", help: "file holding your Vault token (default $VAULT_TOKEN_FILE, else ~/.vault-token, which `vault login` writes)" },
            { name: "vault-ca-file", value: "FILE", help: "PEM CA bundle for an https Vault (default $VAULT_CACERT)" },
            { name: "vault-mount", value: "MOUNT", help: "KV v2 mount the ExternalSecrets read (default secret)" },
            { name: "output", short: "o", value: "FORMAT", help: "table (default) or json" },
        ],
        details: [
            "NS/NAME is a Secret ESO writes (a consumer of a stable password) or any source of derived secrets; --password follows every consumer Secret of one password (the ExternalSecrets reading its Vault path).",
            "Steps, in the order the value travels: vault (version N, N-1 readable), eso (the Secret holds version N: compared here, never printed), hooks (applied for this content; administrators only), derived (rewritten from this content), workload (rolled after the change, new Pods ready).",
            "Exits 0 when every step has the new version, 1 naming the first step that has not (the last step of the rotation procedure, stacks/README.md).",
            EXIT,
        ],
    },
    {
        name: "graph",
        usage: "graph [-n NS | -A] [--dot]",
        summary: "sources → derived secrets → workloads that restart on them",
        flags: [
            { name: "namespace", short: "n", value: "NS", help: "only this namespace (default: the context's namespace)" },
            { name: "all-namespaces", short: "A", help: "every namespace you may read" },
            { name: "dot", help: "Graphviz DOT instead of text (pipe into `dot -Tsvg`)" },
        ],
        details: [EXIT],
    },
    {
        name: "dashboard",
        usage: "dashboard [-n NS | -A] [--port 8099] [--refresh 5s]",
        summary: "a local status page on 127.0.0.1 with your credentials: status by source, filter, sync buttons, graph",
        flags: [
            { name: "namespace", short: "n", value: "NS", help: "only this namespace (default: the context's namespace)" },
            { name: "all-namespaces", short: "A", help: "every namespace you may read" },
            { name: "port", value: "PORT", help: "port on 127.0.0.1 (default 8099; 0 = any free port)" },
            { name: "refresh", value: "DURATION", help: "auto-refresh interval of the page (default 5s)" },
            { name: "vault-addr", value: "URL", help: "Vault address for the rotation panel (default $VAULT_ADDR)" },
            { name: "vault-token-file", value: "FILE", help: "your Vault token file for the rotation panel (default $VAULT_TOKEN_FILE, else ~/.vault-token)" },
            { name: "vault-ca-file", value: "FILE", help: "PEM CA bundle for an https Vault (default $VAULT_CACERT)" },
            { name: "vault-mount", value: "MOUNT", help: "KV v2 mount the ExternalSecrets read (default secret)" },
        ],
        details: ["Serves on 127.0.0.1 only; Ctrl-C stops it. No secret value ever reaches the page."],
    },
];

export interface Parsed {
    flags: Record<string, string | boolean>;
    positionals: string[];
}

/**
 * Parses `argv` (after the command name) against the command's flags plus the global ones, with node:util's
 * parseArgs (strict: unknown flags and missing values are errors); its errors become UsageErrors naming the flag.
 */
export function parseArgs(argv: readonly string[], spec: CommandSpec): Parsed {
    const all = [...spec.flags, ...GLOBAL_FLAGS];
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
    for (const f of all) options[f.name] = { type: f.value ? "string" : "boolean", ...(f.short ? { short: f.short } : {}) };
    try {
        const { values, positionals } = nodeParseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
        const flags: Record<string, string | boolean> = {};
        for (const [k, v] of Object.entries(values)) if (typeof v === "string" || typeof v === "boolean") flags[k] = v;
        return { flags, positionals };
    } catch (e) {
        throw usageErrorOf(e, all, spec.name);
    }
}

/** node:util's ERR_PARSE_ARGS_* as our messages ("unknown flag --x", "--x needs a value (NS)", "--x takes no value"). */
function usageErrorOf(e: unknown, all: FlagSpec[], command: string): Error {
    const code = (e as { code?: unknown })?.code;
    const message = String((e as Error)?.message ?? e);
    const named = /'(?:-(\w), )?--([\w-]+)/.exec(message) ?? /'-(\w)'/.exec(message);
    const flag = named ? all.find((f) => f.name === named[2] || (named[1] !== undefined && f.short === named[1]) || (named[2] === undefined && f.short === named[1])) : undefined;
    switch (code) {
        case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
            return new UsageError(`unknown flag ${/'([^']+)'/.exec(message)?.[1] ?? message}`, command);
        case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
            if (flag?.value) return new UsageError(`--${flag.name} needs a value (${flag.value})`, command);
            if (flag) return new UsageError(`--${flag.name} takes no value`, command);
            return new UsageError(message, command);
        default:
            return e instanceof Error ? e : new Error(message);
    }
}

/** "60s", "2m", "500ms", "1h" or plain seconds → milliseconds. */
export function parseDuration(text: string, flag: string): number {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
    if (!m) throw new UsageError(`--${flag} must be a duration like 30s, 2m or 500ms (got "${text}")`);
    const n = Number(m[1]);
    const unit = m[2] ?? "s";
    return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

function flagLines(flags: FlagSpec[]): string[] {
    const left = flags.map((f) => `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.value ? ` ${f.value}` : ""}`);
    const w = Math.max(...left.map((l) => l.length));
    return flags.map((f, i) => `  ${left[i].padEnd(w)}  ${f.help}`);
}

export function commandHelp(spec: CommandSpec): string {
    return [`platform-secrets ${spec.usage}`, "", `  ${spec.summary}`, "", ...(spec.flags.length ? ["Flags:", ...flagLines(spec.flags), ""] : []), "Global flags:", ...flagLines(GLOBAL_FLAGS), "", ...spec.details, ""].join("\n");
}

export function topHelp(): string {
    const w = Math.max(...COMMANDS.map((c) => c.name.length));
    return [
        "platform-secrets — is everything in sync, and if not, why? Uses your kubeconfig: Kubernetes RBAC decides what you see and may do.",
        "",
        "Commands:",
        ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
        "",
        "Run `platform-secrets COMMAND --help` for a command's flags.",
        EXIT,
        "",
    ].join("\n");
}
