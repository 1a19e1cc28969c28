import type { V1EnvVar } from "@kubernetes/client-node";
import { strict as assert } from "node:assert";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { createLogger } from "../../../lib/log";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { compactLog, lineBuffer, parseOpFlags, rotateCommands, runSandbox, SANDBOX_STATE_ENV, sandboxStateFile, stateOwner } from "../../env/sandbox";
import { processEnv, vaultReadPolicy } from "../../env/sandbox-reconciler";
import { readStackConfig } from "../../env/local-seed";

type Obj = Record<string, any>;

/** The spec of lineBuffer's filter, written independently of its regex: blank lines and lines of dots only go. */
const kept = (l: string): boolean => l.trim() !== "" && !/^\.+$/.test(l.trim());

/** Runs a lineBuffer over chunks; what it emitted before and after flush. */
function buffer(chunks: string[]): { beforeFlush: string[]; all: string[] } {
    const got: string[] = [];
    const b = lineBuffer((l) => got.push(l));
    for (const c of chunks) b.push(c);
    const beforeFlush = [...got];
    b.flush();
    return { beforeFlush, all: got };
}

/** Cuts a text at the given offsets (sorted, deduplicated, clamped). */
function cut(text: string, at: number[]): string[] {
    const points = [...new Set(at.map((n) => Math.min(n, text.length)))].sort((a, b) => a - b);
    const out: string[] = [];
    let prev = 0;
    for (const p of points) {
        out.push(text.slice(prev, p));
        prev = p;
    }
    out.push(text.slice(prev));
    return out;
}

const RESOLVE = { podName: "sandbox-host-4242", podNamespace: "platform-secrets-system", vaultTokenFile: path.join(tmpdir(), "reconciler.vault-token"), metricsPort: 39123 };

describe("env/sandbox pure helpers", () => {
    describe("sandboxStateFile", () => {
        it("is the file PS_SANDBOX_STATE names, verbatim", () => {
            assert.equal(SANDBOX_STATE_ENV, "PS_SANDBOX_STATE");
            assert.equal(sandboxStateFile({ PS_SANDBOX_STATE: "/srv/sb/state.json" }), "/srv/sb/state.json");
            assert.equal(sandboxStateFile({ PS_SANDBOX_STATE: "relative/state.json", TMPDIR: "/elsewhere" }), "relative/state.json");
        });

        it("defaults to platform-secrets-sandbox.json in the temp dir when the variable is unset or empty", () => {
            const def = path.join(tmpdir(), "platform-secrets-sandbox.json");
            assert.equal(sandboxStateFile({}), def);
            assert.equal(sandboxStateFile({ PS_SANDBOX_STATE: "" }), def);
            assert.equal(sandboxStateFile({ PS_SANDBOX_STATE: undefined, SANDBOX_STATE: "/not/this" }), def);
            // Without an argument it reads process.env.
            assert.equal(sandboxStateFile(), sandboxStateFile(process.env));
        });

        it("returns any non-empty PS_SANDBOX_STATE unchanged (property)", () => {
            fc.assert(fc.property(fc.string({ minLength: 1 }), (file) => assert.equal(sandboxStateFile({ [SANDBOX_STATE_ENV]: file }), file)));
        });
    });

    describe("rotateCommands", () => {
        it("has nothing to rotate without passwords", () => {
            assert.equal(rotateCommands({}), undefined);
            assert.equal(rotateCommands({ passwords: [] }), undefined);
            assert.equal(rotateCommands({ passwords: null }), undefined);
            assert.equal(rotateCommands({ passwords: undefined, externalSecrets: [{ name: "x" }] }), undefined);
        });

        it("gives the local stack's hooked password, its shortcut and the explicit procedure (Pulumi.local.yaml)", async () => {
            const cfg = await readStackConfig();
            const r = rotateCommands(cfg);
            assert.ok(r, "Pulumi.local.yaml has passwords");
            const hooked = (cfg.passwords as Obj[]).findIndex((p) => (p.consumers ?? []).some((c: Obj) => (c.hooks ?? []).some((h: Obj) => h.type === "postgres")));
            assert.ok(hooked >= 0, "Pulumi.local.yaml has a password with a postgres hook");
            assert.equal(r.index, hooked);
            assert.equal(r.name, cfg.passwords[hooked].name);
            assert.equal(r.shortcut, `npm run sandbox -- rotate ${r.name}`);
            assert.deepEqual(r.explicit, [`npm run sandbox -- pulumi config set --path 'platform-secrets:passwords[${hooked}].rotation' ${r.rotation + 1}`, "npm run sandbox -- pulumi up"]);
        });

        it("prefers the first password with a postgres hook over earlier ones", () => {
            const cfg = {
                passwords: [
                    { name: "plain", rotation: 9 },
                    { name: "job-only", consumers: [{ namespace: "a", secretName: "s", hooks: [{ type: "job-rerun", job: "migrate" }] }] },
                    { name: "pg-db", rotation: 2, vaultPath: "apps/pg", consumers: [{ namespace: "a", secretName: "s" }, { namespace: "b", secretName: "t", hooks: [{ type: "job-rerun" }, { type: "postgres", host: "db.internal", user: "app_user" }] }] },
                    { name: "pg-later", rotation: 5, consumers: [{ hooks: [{ type: "postgres" }] }] },
                ],
            };
            assert.deepEqual(rotateCommands(cfg), {
                name: "pg-db",
                index: 2,
                rotation: 2,
                shortcut: "npm run sandbox -- rotate pg-db",
                explicit: ["npm run sandbox -- pulumi config set --path 'platform-secrets:passwords[2].rotation' 3", "npm run sandbox -- pulumi up"],
            });
        });

        it("falls back to the first password when none has a postgres hook", () => {
            const r = rotateCommands({ passwords: [{ name: "first", rotation: 7, consumers: [{ hooks: [{ type: "job-rerun" }] }] }, { name: "second", consumers: [] }] });
            assert.equal(r?.name, "first");
            assert.equal(r?.index, 0);
            assert.equal(r?.rotation, 7);
            assert.equal(r?.explicit[0], "npm run sandbox -- pulumi config set --path 'platform-secrets:passwords[0].rotation' 8");
        });

        it("counts a missing rotation as 0 and a quoted (string) rotation as its number", () => {
            const none = rotateCommands({ passwords: [{ name: "p" }] });
            assert.equal(none?.rotation, 0);
            assert.match(none!.explicit[0]!, /\.rotation' 1$/);
            const str = rotateCommands({ passwords: [{ name: "p", rotation: "4" }] });
            assert.equal(str?.rotation, 4);
            assert.match(str!.explicit[0]!, /\.rotation' 5$/);
        });

        it("picks the first postgres-hooked password (else the first) and bumps its counter by one (property)", () => {
            const hook = fc.record({ type: fc.constantFrom("postgres", "job-rerun", "http") });
            const consumer = fc.record({ namespace: fc.constant("app"), secretName: fc.constant("s"), hooks: fc.option(fc.array(hook, { maxLength: 3 }), { nil: undefined }) });
            const password = fc.record({
                name: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
                rotation: fc.option(fc.nat({ max: 10_000 }), { nil: undefined }),
                vaultPath: fc.constant("apps/secret-path"),
                consumers: fc.option(fc.array(consumer, { maxLength: 3 }), { nil: undefined }),
            });
            fc.assert(
                fc.property(fc.array(password, { minLength: 1, maxLength: 6 }), (passwords) => {
                    const r = rotateCommands({ passwords })!;
                    const first = passwords.findIndex((p) => (p.consumers ?? []).some((c) => (c.hooks ?? []).some((h) => h.type === "postgres")));
                    const index = first < 0 ? 0 : first;
                    const p = passwords[index]!;
                    const rotation = p.rotation ?? 0;
                    // Exact strings: nothing of the config beyond the name, the index and the counter ends up in the commands.
                    assert.deepEqual(r, {
                        name: p.name,
                        index,
                        rotation,
                        shortcut: `npm run sandbox -- rotate ${p.name}`,
                        explicit: [`npm run sandbox -- pulumi config set --path 'platform-secrets:passwords[${index}].rotation' ${rotation + 1}`, "npm run sandbox -- pulumi up"],
                    });
                    assert.ok(!JSON.stringify(r).includes("apps/secret-path"));
                }),
            );
        });
    });

    describe("lineBuffer", () => {
        it("emits whole lines only, holding a partial line until its newline or flush", () => {
            const got: string[] = [];
            const b = lineBuffer((l) => got.push(l));
            b.push("Updating (lo");
            assert.deepEqual(got, []);
            b.push("cal):\n +  pulumi:pulumi:Stack platform-secrets-local creating\n +  kubernetes:core/v1:Namespace app");
            assert.deepEqual(got, ["Updating (local):", " +  pulumi:pulumi:Stack platform-secrets-local creating"]);
            b.push(" created\nResources:");
            assert.deepEqual(got.slice(2), [" +  kubernetes:core/v1:Namespace app created"]);
            b.flush();
            assert.deepEqual(got.slice(3), ["Resources:"]);
            // A second flush has nothing left to emit.
            b.flush();
            assert.equal(got.length, 4);
        });

        it("drops blank lines and the CLI's progress dots, even when the dots arrive a few at a time", () => {
            const got: string[] = [];
            const b = lineBuffer((l) => got.push(l));
            for (const c of ["Previewing update (local)\n", ".", "..", "", ".\n", "\n", "   \n", "\t\n", "  ...  \n", "@ updating....\n", "...done\n", "a . b\n", ". ."]) b.push(c);
            b.flush();
            assert.deepEqual(got, ["Previewing update (local)", "@ updating....", "...done", "a . b", ". ."]);
        });

        it("keeps separate buffers apart", () => {
            const a: string[] = [];
            const b: string[] = [];
            const la = lineBuffer((l) => a.push(l));
            const lb = lineBuffer((l) => b.push(l));
            la.push("from a, ");
            lb.push("from b\n");
            la.push("still a\n");
            assert.deepEqual(a, ["from a, still a"]);
            assert.deepEqual(b, ["from b"]);
        });

        it("emits the same lines however the text is chunked, minus blank and dot-only lines (property)", () => {
            const line = fc.array(fc.constantFrom(".", ".", " ", "\t", "a", "Z", "|", "+", "é"), { maxLength: 8 }).map((cs) => cs.join(""));
            fc.assert(
                fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), fc.array(fc.nat({ max: 120 }), { maxLength: 10 }), (lines, trailingNewline, at) => {
                    const text = lines.join("\n") + (trailingNewline ? "\n" : "");
                    const whole = buffer([text]);
                    const chunked = buffer(cut(text, at));
                    assert.deepEqual(chunked, whole);
                    assert.deepEqual(whole.all, lines.filter(kept));
                    // Before flush, the unterminated last line is still held back.
                    assert.deepEqual(whole.beforeFlush, (trailingNewline ? lines : lines.slice(0, -1)).filter(kept));
                }),
            );
        });
    });

    describe("compactLog", () => {
        it("renders a reconciler (pino) line as `level msg key=value ...`, without time, pid, hostname and name", () => {
            const line = JSON.stringify({ level: 30, time: 1767225600000, pid: 4242, hostname: "box", name: "platform-secrets-reconciler", msg: "reconciled", namespace: "app", secret: "app-db", ms: 12 });
            assert.equal(compactLog(line), "info reconciled namespace=app secret=app-db ms=12");
        });

        it("names pino's debug/info/warn/error levels, and leaves other levels as they are", () => {
            const at = (level: unknown): string => compactLog(JSON.stringify({ level, msg: "m" }));
            assert.equal(at(20), "debug m");
            assert.equal(at(30), "info m");
            assert.equal(at(40), "warn m");
            assert.equal(at(50), "error m");
            assert.equal(at(35), "35 m");
            assert.equal(at("notice"), "notice m");
        });

        it("prints strings bare and every other value as JSON", () => {
            const line = JSON.stringify({ level: 40, msg: "hook failed", attempt: 3, retry: true, err: { type: "Error", message: "boom" }, hooks: ["postgres"], next: null, note: "two words" });
            assert.equal(compactLog(line), 'warn hook failed attempt=3 retry=true err={"type":"Error","message":"boom"} hooks=["postgres"] next=null note=two words');
        });

        it("returns a line that is not JSON as it is", () => {
            for (const l of ["", "plain text from a library", "{not json", '{"level":30,"msg":"cut', "Error: x\n    at y", "null"]) assert.equal(compactLog(l), l);
        });

        it("prints what the reconciler's logger redacted, never the secret (pino redaction + compactLog)", () => {
            const lines: string[] = [];
            const logger = createLogger({ name: "platform-secrets-reconciler", level: "debug", destination: { write: (s: string) => void lines.push(s.trimEnd()) } });
            const password = "Sup3r-S3cret-pw!";
            const token = "hvs.CAESIsupersecrettoken";
            logger.info({ password, token, hook: { user: "app_user", password }, secret: { data: { password: Buffer.from(password).toString("base64") } } }, "rotated");
            assert.equal(lines.length, 1);
            const shown = compactLog(lines[0]!);
            assert.match(shown, /^info rotated /);
            assert.match(shown, /password=\[redacted\]/);
            assert.match(shown, /token=\[redacted\]/);
            assert.match(shown, /"user":"app_user"/);
            for (const s of [password, token, Buffer.from(password).toString("base64")]) assert.ok(!shown.includes(s), `compacted line shows a secret: ${shown}`);
        });

        it("keeps every other key and value of a log object, in order (property)", () => {
            const reserved = new Set(["level", "time", "pid", "hostname", "name", "msg", "__proto__"]);
            const key = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/).filter((k) => !reserved.has(k));
            const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
            fc.assert(
                fc.property(fc.constantFrom(20, 30, 40, 50), fc.string(), fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 6 }), (level, msg, fields) => {
                    const line = JSON.stringify({ level, time: 1, pid: 2, hostname: "h", name: "n", msg, ...Object.fromEntries(fields) });
                    const names: Record<number, string> = { 20: "debug", 30: "info", 40: "warn", 50: "error" };
                    const expected = [names[level], msg, ...fields.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)].join(" ");
                    assert.equal(compactLog(line), expected);
                }),
            );
        });

        it("returns any string that does not parse as JSON unchanged (property)", () => {
            const notJson = fc.string().filter((s) => {
                try {
                    JSON.parse(s);
                    return false;
                } catch {
                    return true;
                }
            });
            fc.assert(fc.property(notJson, (s) => assert.equal(compactLog(s), s)));
        });
    });

    describe("parseOpFlags", () => {
        it("takes no flags as no options", () => {
            assert.deepEqual(parseOpFlags([]), {});
        });

        it("maps --refresh/-r, --expect-no-changes and --diff to the Automation API options, setting nothing else", () => {
            assert.deepEqual(parseOpFlags(["--refresh"]), { refresh: true });
            assert.deepEqual(parseOpFlags(["-r"]), { refresh: true });
            assert.deepEqual(parseOpFlags(["--expect-no-changes"]), { expectNoChanges: true });
            assert.deepEqual(parseOpFlags(["--diff"]), { diff: true });
            // The drift gate the instructions print.
            assert.deepEqual(parseOpFlags(["--refresh", "--expect-no-changes"]), { refresh: true, expectNoChanges: true });
            assert.deepEqual(parseOpFlags(["--diff", "-r", "--diff"]), { diff: true, refresh: true });
        });

        it("accepts and ignores the confirmation flags (--yes is implied)", () => {
            assert.deepEqual(parseOpFlags(["--yes", "-y", "--skip-preview", "-f", "--non-interactive"]), {});
            assert.deepEqual(parseOpFlags(["-y", "--refresh", "--yes"]), { refresh: true });
        });

        it("collects --target <urn>, -t <urn> and --target=<urn> in order", () => {
            const a = "urn:pulumi:local::platform-secrets::kubernetes:core/v1:Namespace::app";
            const b = "urn:pulumi:local::platform-secrets::platform-secrets:reconciler:ReconcilerDeployment$kubernetes:apps/v1:Deployment::rec-deployment";
            const c = "urn:pulumi:local::platform-secrets::vault:kv/secretV2:SecretV2::pw=x";
            assert.deepEqual(parseOpFlags(["--target", a]), { target: [a] });
            assert.deepEqual(parseOpFlags(["-t", a, "--refresh", `--target=${b}`, "--target", c]), { refresh: true, target: [a, b, c] });
            // Only the first "=" separates: a URN may hold one.
            assert.deepEqual(parseOpFlags([`--target=${c}`]), { target: [c] });
        });

        it("refuses any other argument, naming it and the supported flags", () => {
            for (const bad of ["--parallel", "-p", "--refresh=true", "--yes=true", "--target-dependents", "--TARGET", "-rf", "preview", "", "--", "--stack=local"]) {
                assert.throws(
                    () => parseOpFlags(["--refresh", bad]),
                    (e: Error) => e.message.includes(`unsupported flag "${bad}"`) && e.message.includes("supported: --refresh, --expect-no-changes, --diff, --target <urn>, --yes"),
                    `"${bad}" accepted`,
                );
            }
        });

        it("parses any order of supported flags to the same options, targets in order (property)", () => {
            const urn = fc.stringMatching(/^urn:pulumi:local::platform-secrets::[a-z:/]{1,20}::[a-z0-9-]{1,12}$/);
            type Tok = { args: string[]; set?: "refresh" | "expectNoChanges" | "diff"; target?: string };
            const tok: fc.Arbitrary<Tok> = fc.oneof(
                fc.constantFrom<Tok>({ args: ["--refresh"], set: "refresh" }, { args: ["-r"], set: "refresh" }, { args: ["--expect-no-changes"], set: "expectNoChanges" }, { args: ["--diff"], set: "diff" }),
                fc.constantFrom<Tok>({ args: ["--yes"] }, { args: ["-y"] }, { args: ["--skip-preview"] }, { args: ["-f"] }, { args: ["--non-interactive"] }),
                fc.tuple(fc.constantFrom("--target", "-t", "--target="), urn).map(([f, u]): Tok => ({ args: f.endsWith("=") ? [f + u] : [f, u], target: u })),
            );
            fc.assert(
                fc.property(fc.array(tok, { maxLength: 10 }), (toks) => {
                    const expected: Obj = {};
                    for (const t of toks) {
                        if (t.set) expected[t.set] = true;
                        if (t.target !== undefined) (expected.target ??= []).push(t.target);
                    }
                    assert.deepEqual(parseOpFlags(toks.flatMap((t) => t.args)), expected);
                }),
            );
        });
    });

    describe("vaultReadPolicy", () => {
        it("grants read on the data/ and metadata/ paths of a KV v2 secret, nothing else", () => {
            assert.equal(
                vaultReadPolicy(["secret/sandbox/app-db"]),
                'path "secret/data/sandbox/app-db" {\n  capabilities = ["read"]\n}\npath "secret/metadata/sandbox/app-db" {\n  capabilities = ["read"]\n}',
            );
        });

        it("splits the mount at the first slash and keeps the rest of the path whole, in the given order", () => {
            const text = vaultReadPolicy(["kv/team/a/b/c", "secret/x"]);
            assert.deepEqual([...text.matchAll(/^path "([^"]*)"/gm)].map((m) => m[1]), ["kv/data/team/a/b/c", "kv/metadata/team/a/b/c", "secret/data/x", "secret/metadata/x"]);
        });

        it("is an empty policy for no paths", () => {
            assert.equal(vaultReadPolicy([]), "");
        });

        it("has exactly two read-only blocks per path and no other capability or wildcard (property)", () => {
            const mount = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
            const sub = fc.array(fc.stringMatching(/^[a-z0-9_.-]{1,10}$/), { minLength: 1, maxLength: 4 }).map((s) => s.join("/"));
            fc.assert(
                fc.property(fc.array(fc.tuple(mount, sub), { maxLength: 6 }), (pairs) => {
                    const text = vaultReadPolicy(pairs.map(([m, s]) => `${m}/${s}`));
                    const block = (p: string): string => `path "${p}" {\n  capabilities = ["read"]\n}`;
                    assert.equal(text, pairs.flatMap(([m, s]) => [block(`${m}/data/${s}`), block(`${m}/metadata/${s}`)]).join("\n"));
                    const caps = text.split("\n").filter((l) => l.includes("capabilities"));
                    assert.equal(caps.length, 2 * pairs.length);
                    for (const l of caps) assert.equal(l, '  capabilities = ["read"]');
                    assert.ok(!text.includes("*") && !text.includes("+"), "no glob the paths did not have");
                }),
            );
        });
    });

    describe("processEnv", () => {
        it("runs the env the stack renders: literals as deployed, pod fields resolved, token file and metrics made local", () => {
            // stacks/reconciler.ts: the Deployment's env with token-file Vault auth.
            const deployEnv: V1EnvVar[] = [
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "RECONCILER_LEASE_NAME", value: "platform-secrets-reconciler" },
                { name: "RECONCILER_METRICS_PORT", value: "8080" },
                { name: "RECONCILER_DEBOUNCE_MS", value: "2000" },
                { name: "RECONCILER_POLICY", value: "platform-secrets-policy" },
                { name: "VAULT_ADDR", value: "https://vault.example:8200" },
                { name: "VAULT_AUTH_METHOD", value: "token-file" },
                { name: "VAULT_TOKEN_FILE", value: "/var/run/secrets/vault/token" },
            ];
            assert.deepEqual(processEnv(deployEnv, RESOLVE), {
                POD_NAME: "sandbox-host-4242",
                POD_NAMESPACE: "platform-secrets-system",
                RECONCILER_LEASE_NAME: "platform-secrets-reconciler",
                RECONCILER_METRICS_PORT: "39123",
                RECONCILER_DEBOUNCE_MS: "2000",
                RECONCILER_POLICY: "platform-secrets-policy",
                VAULT_ADDR: "https://vault.example:8200",
                VAULT_AUTH_METHOD: "token-file",
                VAULT_TOKEN_FILE: RESOLVE.vaultTokenFile,
                RECONCILER_METRICS_HOST: "127.0.0.1",
            });
        });

        it("adds no Vault token file the Deployment does not use, and nothing of the caller's environment", () => {
            const saved = { VAULT_TOKEN: process.env.VAULT_TOKEN, KUBECONFIG: process.env.KUBECONFIG };
            process.env.VAULT_TOKEN = "hvs.root-token-of-the-sandbox";
            process.env.KUBECONFIG = "/admin/kubeconfig";
            try {
                const out = processEnv([{ name: "VAULT_AUTH_METHOD", value: "kubernetes" }, { name: "VAULT_ROLE", value: "reconciler" }], RESOLVE);
                assert.deepEqual(out, { VAULT_AUTH_METHOD: "kubernetes", VAULT_ROLE: "reconciler", RECONCILER_METRICS_PORT: "39123", RECONCILER_METRICS_HOST: "127.0.0.1" });
                assert.ok(!JSON.stringify(out).includes("hvs.root-token-of-the-sandbox"));
                assert.deepEqual(processEnv([], RESOLVE), { RECONCILER_METRICS_PORT: "39123", RECONCILER_METRICS_HOST: "127.0.0.1" });
            } finally {
                for (const [k, v] of Object.entries(saved)) {
                    if (v === undefined) delete process.env[k];
                    else process.env[k] = v;
                }
            }
        });

        it("keeps an explicit empty value and lets a later duplicate win, as the kubelet does", () => {
            assert.equal(processEnv([{ name: "RECONCILER_NAMESPACES", value: "" }], RESOLVE).RECONCILER_NAMESPACES, "");
            assert.equal(processEnv([{ name: "X", value: "1" }, { name: "X", value: "2" }], RESOLVE).X, "2");
            // A literal value wins over a source (the API server refuses both; the literal is what was written).
            assert.equal(processEnv([{ name: "POD_NAME", value: "fixed", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }], RESOLVE).POD_NAME, "fixed");
        });

        it("refuses a source it cannot resolve, naming the variable and the source, never another variable's value", () => {
            const secret = "S3cret-literal-value";
            const sources: V1EnvVar["valueFrom"][] = [
                { secretKeyRef: { name: "reconciler-creds", key: "token" } },
                { configMapKeyRef: { name: "cfg", key: "k" } },
                { fieldRef: { fieldPath: "status.podIP" } },
                { fieldRef: { fieldPath: "spec.serviceAccountName" } },
                { resourceFieldRef: { resource: "limits.memory" } },
            ];
            for (const valueFrom of sources) {
                assert.throws(
                    () => processEnv([{ name: "DB_PASSWORD", value: secret }, { name: "UNRESOLVABLE", valueFrom }], RESOLVE),
                    (e: Error) =>
                        e.message.startsWith("the reconciler Deployment's env UNRESOLVABLE has a source the sandbox cannot resolve: ") && e.message.includes(JSON.stringify(valueFrom)) && !e.message.includes(secret),
                );
            }
        });

        it("passes any literal env through, overriding only the metrics address and the token file (property)", () => {
            const name = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,15}$/);
            fc.assert(
                fc.property(fc.uniqueArray(fc.tuple(name, fc.string()), { selector: ([n]) => n, maxLength: 8 }), (vars) => {
                    const out = processEnv(
                        vars.map(([n, value]) => ({ name: n, value })),
                        RESOLVE,
                    );
                    const expected: Record<string, string> = Object.fromEntries(vars);
                    if (expected.VAULT_TOKEN_FILE !== undefined) expected.VAULT_TOKEN_FILE = RESOLVE.vaultTokenFile;
                    expected.RECONCILER_METRICS_PORT = String(RESOLVE.metricsPort);
                    expected.RECONCILER_METRICS_HOST = "127.0.0.1";
                    assert.deepEqual(out, expected);
                }),
            );
        });
    });

    describe("fixed edge cases", () => {
        it("parseOpFlags: --target / -t without a URN is an error naming the flag", () => {
            for (const f of ["--target", "-t"]) assert.throws(() => parseOpFlags([f]), new RegExp(`${f} needs a resource URN`));
        });
        it("processEnv: an env var with neither value nor source is Kubernetes' empty string", () => {
            const env = processEnv([{ name: "RECONCILER_NAMESPACES" } as V1EnvVar], { podName: "p", podNamespace: "ns", vaultTokenFile: "/t", metricsPort: 1 });
            assert.equal(env.RECONCILER_NAMESPACES, "");
        });
        it("compactLog: JSON that is not an object comes back unchanged; trace/fatal are named; no leading space without a level", () => {
            for (const l of ["42", '"hi"', "[1,2]", "null"]) assert.equal(compactLog(l), l);
            assert.match(compactLog(JSON.stringify({ level: 10, msg: "t" })), /^trace t$/);
            assert.match(compactLog(JSON.stringify({ level: 60, msg: "f" })), /^fatal f$/);
            assert.equal(compactLog(JSON.stringify({ msg: "x" })), "x");
        });
    });

    describe("one sandbox per state file", () => {
        it("stateOwner reads the pid of valid state only", () => {
            assert.equal(stateOwner(JSON.stringify({ pid: 4242, dir: "/tmp/x" })), 4242);
            for (const bad of [undefined, "", "{", "null", "[]", JSON.stringify({ pid: "4242" }), JSON.stringify({ pid: 0 }), JSON.stringify({ pid: 1.5 }), JSON.stringify({})]) {
                assert.equal(stateOwner(bad), undefined, String(bad));
            }
        });

        it("a second sandbox on the same state file refuses before starting anything, and leaves the file alone", async () => {
            const dir = mkdtempSync(path.join(tmpdir(), "ps-sandbox-state-"));
            try {
                const file = path.join(dir, "state.json");
                const running = JSON.stringify({ pid: process.ppid, dir: "/tmp/the-first-one" });
                writeFileSync(file, running);
                const out: string[] = [];
                const t0 = Date.now();
                assert.equal(await runSandbox({ stateFile: file, out: (l) => out.push(l), progress: () => undefined }), 1);
                assert.ok(Date.now() - t0 < 5_000, "refused at once, no server started");
                assert.match(out.join("\n"), new RegExp(`a sandbox is already running \\(pid ${process.ppid}, state ${file.replace(/[.]/g, "\\.")}\\)\\. Fix: .*${SANDBOX_STATE_ENV}`));
                assert.equal(readFileSync(file, "utf8"), running);
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});
