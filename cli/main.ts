import { ANNOTATION_OPTIONS, isDerived, SecretLike } from "../derive";
import { KubeApiError } from "../lib/kube";
import { COMMANDS, commandHelp, parseArgs, parseDuration, Parsed, topHelp, UsageError } from "./args";
import { collect, Scope } from "./collect";
import { startDashboard } from "./dashboard/server";
import { explain, explainExitCode, renderExplanation } from "./explain";
import { CliIO, processIO, Progress } from "./io";
import { AccessError, connect, Connection, describeError, isForbidden, parseRef, RefError } from "./kube";
import { buildGraph, buildStatus, statusExitCode } from "./model";
import { paint, renderGraphDot, renderGraphText, renderStatus, stateColor, Style } from "./render";
import { requestSync, syncExitCode } from "./sync";
import { renderRotation, rotationExitCode } from "./rotation";
import { collectPasswordRotation, collectRotation } from "./rotation-collect";
import { VaultKv } from "../reconciler/api";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { CheckResult, checkDerivedRecipe, checkFormat, checkSource, impliedChecks, parseOptions, renderChecks, secretsFromManifest, ValidateUsageError } from "./validate";

/**
 * `platform-secrets` entry point: argv → pure functions → exit code. 0 ok, 1 not in sync / invalid / not
 * acknowledged, 2 usage error, 3 cannot read (not permitted, not found, unreachable).
 */

export const EXIT = { ok: 0, notInSync: 1, usage: 2, access: 3 } as const;

interface Ctx {
    io: CliIO;
    args: Parsed;
    style: Style;
    reconcilerNamespace: string;
    connect(): Promise<Connection>;
}

const str = (p: Parsed, name: string): string | undefined => (typeof p.flags[name] === "string" ? (p.flags[name] as string) : undefined);

function scopeOf(c: Ctx, conn: Connection): Scope {
    const ns = str(c.args, "namespace");
    if (ns && c.args.flags["all-namespaces"]) throw new UsageError("pass either -n NAMESPACE or -A, not both");
    if (c.args.flags["all-namespaces"]) return { kind: "all" };
    return { kind: "namespace", namespace: ns ?? conn.namespace };
}

function noPositionals(c: Ctx, cmd: string): void {
    if (c.args.positionals.length > 0) throw new UsageError(`unexpected argument "${c.args.positionals[0]}"`, cmd);
}

function oneRef(c: Ctx, cmd: string): { namespace: string; name: string } {
    if (c.args.positionals.length !== 1) throw new UsageError(`expected exactly one NS/NAME`, cmd);
    return parseRef(c.args.positionals[0]);
}

async function withProgress<T>(c: Ctx, text: string, p: Promise<T>): Promise<T> {
    const prog = new Progress(c.io);
    const t0 = Date.now();
    const timer = c.io.stderrTTY ? setInterval(() => prog.update(text, Date.now() - t0), 120) : undefined;
    try {
        return await p;
    } finally {
        if (timer) clearInterval(timer);
        prog.done();
    }
}

async function status(c: Ctx): Promise<number> {
    noPositionals(c, "status");
    const output = str(c.args, "output") ?? "table";
    if (!["table", "json", "yaml"].includes(output)) throw new UsageError(`-o must be table, json or yaml (got "${output}")`, "status");
    const src = str(c.args, "source");
    const source = src ? parseRef(src, "--source NS/NAME") : undefined;
    const conn = await c.connect();
    // --source alone looks where the source lives (a namespace-only user can still see its own sources).
    const scope: Scope = source && !c.args.flags["all-namespaces"] && !str(c.args, "namespace") ? { kind: "namespace", namespace: source.namespace } : scopeOf(c, conn);
    const srcKey = source ? `${source.namespace}/${source.name}` : undefined;
    const view = await withProgress(c, `reading derived secrets in ${scope.kind === "all" ? "all namespaces" : `namespace ${scope.namespace}`}`, collect(conn.client, scope, { source: srcKey }));
    const report = buildStatus(view, Date.now(), srcKey);
    c.io.stdout(renderStatus(report, output as "table" | "json" | "yaml", c.style));
    if (srcKey) {
        const st = view.sources.get(srcKey)?.state;
        if (st === "missing" || st === "not-permitted") {
            c.io.stderr(`source ${srcKey}: ${st === "missing" ? "not found" : "not permitted to read"}\n`);
            return report.inSync ? EXIT.access : EXIT.notInSync;
        }
    }
    return statusExitCode(report);
}

async function explainCmd(c: Ctx): Promise<number> {
    const ref = oneRef(c, "explain");
    const conn = await c.connect();
    const x = await withProgress(c, `reading ${ref.namespace}/${ref.name}`, explain(conn.client, ref.namespace, ref.name, c.reconcilerNamespace, Date.now())).catch((e) => {
        throw e instanceof AccessError ? e : new AccessError(describeError(e, `reading secret ${ref.namespace}/${ref.name}`));
    });
    c.io.stdout(renderExplanation(x, (s) => paint(s, stateColor(s), c.style)));
    return explainExitCode(x);
}

async function getFull(conn: Connection, ns: string, name: string): Promise<SecretLike> {
    // The one place the CLI reads Secret data: validate needs it, and prints key names only.
    return conn.client.request<SecretLike>("GET", `/api/v1/namespaces/${ns}/secrets/${name}`, { object: `${ns}/${name}` });
}

async function validateCmd(c: Ctx): Promise<number> {
    const format = str(c.args, "format");
    if (format) checkFormat(format);
    const options = parseOptions(str(c.args, "options"));
    const file = str(c.args, "file");
    const targetFor = (s: SecretLike) => {
        const t = str(c.args, "target");
        return t ? parseRef(t, "--target NS/NAME") : { namespace: s.metadata.namespace!, name: `${s.metadata.name}-${format}` };
    };
    const results: CheckResult[] = [];
    const notes: string[] = [];
    const checkOne = async (s: SecretLike, conn?: Connection) => {
        if (format) return void results.push(checkSource(s, { format, options, target: targetFor(s) }));
        if (isDerived(s)) {
            const r = checkDerivedRecipe(s);
            if (!r.ok || !r.sourceRef) return void results.push(r);
            if (!conn) {
                notes.push(`${r.target}: recipe valid; its source ${r.source} is not in the file, so its data was not checked (run \`platform-secrets validate ${r.target}\` against the cluster)`);
                return void results.push(r);
            }
            try {
                const src = await getFull(conn, r.sourceRef.namespace, r.sourceRef.name);
                results.push(checkSource(src, { format: r.format, options: JSON.parse(s.metadata.annotations?.[ANNOTATION_OPTIONS] ?? "{}"), target: { namespace: s.metadata.namespace!, name: s.metadata.name! } }));
            } catch (e) {
                results.push({ ...r, ok: false, message: describeError(e, `reading its source ${r.source}`) });
            }
            return;
        }
        const implied = impliedChecks(s);
        if (!Array.isArray(implied)) return void results.push(implied);
        if (implied.length === 0) throw new UsageError(`${s.metadata.namespace}/${s.metadata.name} declares no fan-out and is not a derived secret: pass --format FORMAT`, "validate");
        for (const ch of implied) results.push(checkSource(s, ch));
    };
    if (file) {
        if (c.args.positionals.length) throw new UsageError("pass either --file or NS/NAME, not both", "validate");
        let text: string;
        try {
            text = c.io.readFile(file);
        } catch (e) {
            throw new UsageError(`cannot read ${file}: ${(e as Error).message.split("\n")[0]}`, "validate");
        }
        for (const s of secretsFromManifest(text, str(c.args, "namespace") ?? "default")) await checkOne(s);
    } else {
        const ref = oneRef(c, "validate");
        const conn = await c.connect();
        let s: SecretLike;
        try {
            s = await getFull(conn, ref.namespace, ref.name);
        } catch (e) {
            throw new AccessError(describeError(e, `reading secret ${ref.namespace}/${ref.name}`));
        }
        await checkOne(s, conn);
    }
    c.io.stdout(renderChecks(results, (ok) => (ok ? paint("✓", "green", c.style) : paint("✗", "red", c.style))));
    for (const n of notes) c.io.stderr(`note: ${n}\n`);
    return results.every((r) => r.ok) ? EXIT.ok : EXIT.notInSync;
}

async function syncCmd(c: Ctx): Promise<number> {
    const ref = oneRef(c, "sync");
    const timeoutMs = parseDuration(str(c.args, "timeout") ?? "60s", "timeout");
    const conn = await c.connect();
    const prog = new Progress(c.io);
    const r = await requestSync(conn.client, ref.namespace, ref.name, { timeoutMs, onWait: (ms) => prog.update(`waiting for the reconciler to handle the sync of ${ref.namespace}/${ref.name}`, ms) });
    prog.done();
    const mark = r.handled && r.state === "in-sync" ? paint("✓", "green", c.style) : paint("✗", "red", c.style);
    c.io.stdout(`${mark} ${r.object}: ${r.handled ? `sync handled after ${(r.waitedMs / 1000).toFixed(1)} s` : "sync not acknowledged"}; ${paint(r.state, stateColor(r.state), c.style)}: ${r.message}\n`);
    return syncExitCode(r);
}

async function graphCmd(c: Ctx): Promise<number> {
    noPositionals(c, "graph");
    const conn = await c.connect();
    const view = await withProgress(c, "reading secrets and workloads", collect(conn.client, scopeOf(c, conn), { workloads: true }));
    const g = buildGraph(buildStatus(view, Date.now()), view.workloads);
    c.io.stdout(c.args.flags.dot ? renderGraphDot(g) : renderGraphText(g, c.style));
    for (const n of view.notPermitted) c.io.stderr(`not permitted: ${n}\n`);
    for (const p of view.problems) c.io.stderr(`could not read: ${p}\n`);
    return view.problems.length ? EXIT.access : EXIT.ok;
}

async function dashboardCmd(c: Ctx): Promise<number> {
    noPositionals(c, "dashboard");
    const port = Number(str(c.args, "port") ?? "8099");
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--port must be a port number", "dashboard");
    const refreshMs = parseDuration(str(c.args, "refresh") ?? "5s", "refresh");
    const conn = await c.connect();
    const { vault, unavailable } = vaultFor(c);
    const d = await startDashboard({ client: conn.client, scope: scopeOf(c, conn), port, refreshMs, context: conn.context, ...(vault ? { vault } : {}), ...(unavailable ? { vaultUnavailable: unavailable } : {}), vaultMount: str(c.args, "vault-mount") ?? "secret", reconcilerNamespace: c.reconcilerNamespace });
    c.io.stdout(`platform-secrets dashboard for context "${conn.context}" on ${d.url} (127.0.0.1 only; Ctrl-C stops it)\n`);
    c.io.onListening?.(d.url);
    await c.io.interrupted();
    await d.close();
    vault?.close();
    return EXIT.ok;
}

/** The user's own Vault read access for `rotation`, or why there is none (then Vault steps are unknown). */
function vaultFor(c: Ctx): { vault?: VaultKv; unavailable?: string } {
    const addr = str(c.args, "vault-addr") ?? c.io.env.VAULT_ADDR;
    if (!addr) return { unavailable: "no Vault address: set VAULT_ADDR or --vault-addr (and vault login)" };
    const tokenFile = str(c.args, "vault-token-file") ?? c.io.env.VAULT_TOKEN_FILE ?? path.join(homedir(), ".vault-token");
    if (!existsSync(tokenFile)) return { unavailable: `no Vault token file ${tokenFile}: run vault login, or pass --vault-token-file` };
    const ca = str(c.args, "vault-ca-file") ?? c.io.env.VAULT_CACERT;
    try {
        return { vault: new VaultKv({ addr, auth: { method: "token-file", path: tokenFile }, ...(ca ? { caPem: readFileSync(ca, "utf8") } : {}) }) };
    } catch (e) {
        // Reported as the Vault step's reason (the dashboard still starts; `rotation` exits 1 naming it).
        return { unavailable: (e as Error).message };
    }
}

async function rotationCmd(c: Ctx): Promise<number> {
    const password = str(c.args, "password");
    if (password !== undefined && c.args.positionals.length > 0) throw new UsageError("pass either NS/NAME or --password VAULT_PATH, not both", "rotation");
    const ref = password === undefined ? oneRef(c, "rotation") : undefined;
    const output = str(c.args, "output") ?? "table";
    if (!["table", "json"].includes(output)) throw new UsageError(`-o must be table or json (got "${output}")`, "rotation");
    if (str(c.args, "namespace") && c.args.flags["all-namespaces"]) throw new UsageError("pass either -n NAMESPACE or -A, not both", "rotation");
    const conn = await c.connect();
    const { vault, unavailable } = vaultFor(c);
    try {
        const opts = {
            ...(vault ? { vault } : {}),
            ...(unavailable ? { vaultUnavailable: unavailable } : {}),
            vaultMount: str(c.args, "vault-mount") ?? "secret",
            reconcilerNamespace: c.reconcilerNamespace,
            allNamespaces: c.args.flags["all-namespaces"] === true,
        };
        const report = await withProgress(
            c,
            `following the rotation of ${ref ? `${ref.namespace}/${ref.name}` : `password ${password}`}`,
            ref ? collectRotation(conn.client, ref, opts) : collectPasswordRotation(conn.client, password!.replace(/^\/+/, ""), { ...opts, ...(str(c.args, "namespace") ? { namespace: str(c.args, "namespace") } : {}) }),
        );
        c.io.stdout(output === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderRotation(report, c.style));
        return rotationExitCode(report);
    } finally {
        vault?.close();
    }
}

const RUN: Record<string, (c: Ctx) => Promise<number>> = { status, explain: explainCmd, validate: validateCmd, sync: syncCmd, rotation: rotationCmd, graph: graphCmd, dashboard: dashboardCmd };

export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h") {
        const spec = COMMANDS.find((s) => s.name === rest[0]);
        (cmd === undefined ? io.stderr : io.stdout)(spec ? commandHelp(spec) : topHelp());
        return cmd === undefined ? EXIT.usage : EXIT.ok;
    }
    const spec = COMMANDS.find((s) => s.name === cmd);
    if (!spec) {
        io.stderr(`error: unknown command "${cmd}"\n\n${topHelp()}`);
        return EXIT.usage;
    }
    try {
        const args = parseArgs(rest, spec);
        if (args.flags.help) {
            io.stdout(commandHelp(spec));
            return EXIT.ok;
        }
        const color = io.stdoutTTY && !io.env.NO_COLOR && !args.flags["no-color"];
        let conn: Connection | undefined;
        const ctx: Ctx = {
            io,
            args,
            style: { color },
            reconcilerNamespace: str(args, "reconciler-namespace") ?? io.env.PLATFORM_SECRETS_NAMESPACE ?? "platform-secrets",
            connect: async () => (conn ??= await connect({ kubeconfig: str(args, "kubeconfig"), context: str(args, "context") })),
        };
        try {
            return await RUN[cmd](ctx);
        } finally {
            conn?.client.close();
        }
    } catch (e) {
        if (e instanceof UsageError || e instanceof ValidateUsageError || e instanceof RefError) {
            io.stderr(`error: ${e.message}\nRun \`platform-secrets ${cmd} --help\` for usage.\n`);
            return EXIT.usage;
        }
        if (e instanceof AccessError) {
            io.stderr(`error: ${e.message}\n`);
            return EXIT.access;
        }
        const what = `platform-secrets ${cmd}`;
        io.stderr(`error: ${e instanceof KubeApiError || isForbidden(e) || typeof (e as { code?: unknown })?.code === "string" ? describeError(e, what) : `${what}: ${(e as Error)?.message ?? String(e)}`}\n`);
        if (io.env.PLATFORM_SECRETS_DEBUG) io.stderr(`${(e as Error)?.stack ?? ""}\n`);
        return EXIT.access;
    }
}
