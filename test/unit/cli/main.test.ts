import assert from "node:assert/strict";
import { COMMANDS, parseArgs, parseDuration, UsageError } from "../../../cli/args";
import type { CliIO } from "../../../cli/io";
import { main } from "../../../cli/main";
import { nextRequestValue, syncExitCode, syncOutcome } from "../../../cli/sync";
import { slimSecret } from "../../../cli/kube";
import { nextSteps } from "../../../cli/explain";

export function fakeIO(files: Record<string, string> = {}, tty = false): CliIO & { out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return {
        out,
        err,
        stdout: (t) => void out.push(t),
        stderr: (t) => void err.push(t),
        stdoutTTY: tty,
        stderrTTY: tty,
        env: {},
        readFile: (p) => {
            if (!(p in files)) throw new Error(`ENOENT: ${p}`);
            return files[p];
        },
        interrupted: () => Promise.resolve(),
    };
}

describe("cli: arguments and help", function () {
    this.timeout(30_000); // the kubeconfig case loads @kubernetes/client-node
    it("parses long, short, inline and boolean flags", () => {
        const status = COMMANDS.find((c) => c.name === "status")!;
        assert.deepEqual(parseArgs(["-n", "a", "-oyaml", "--source=b/c", "--no-color"], status), { flags: { namespace: "a", output: "yaml", source: "b/c", "no-color": true }, positionals: [] });
        assert.deepEqual(parseArgs(["-A", "--", "-x"], status).positionals, ["-x"]);
        assert.throws(() => parseArgs(["--nope"], status), UsageError);
        assert.throws(() => parseArgs(["-n"], status), /needs a value/);
        assert.throws(() => parseArgs(["-A=1"], status), UsageError);
    });

    it("parses durations", () => {
        assert.deepEqual(["30s", "2m", "500ms", "1h", "5"].map((d) => parseDuration(d, "timeout")), [30_000, 120_000, 500, 3_600_000, 5000]);
        assert.throws(() => parseDuration("soon", "timeout"), /--timeout must be a duration/);
    });

    it("every command has --help (exit 0), and usage errors exit 2 naming the fix", async () => {
        for (const c of COMMANDS) {
            const io = fakeIO();
            assert.equal(await main([c.name, "--help"], io), 0, c.name);
            assert.match(io.out.join(""), new RegExp(`^platform-secrets ${c.name}`));
            assert.match(io.out.join(""), /Exit codes|Ctrl-C/);
        }
        const top = fakeIO();
        assert.equal(await main(["--help"], top), 0);
        assert.match(top.out.join(""), /dashboard/);
        assert.equal(await main([], fakeIO()), 2);
        const bad = fakeIO();
        assert.equal(await main(["frobnicate"], bad), 2);
        assert.match(bad.err.join(""), /unknown command "frobnicate"/);
        const both = fakeIO();
        assert.equal(await main(["status", "-n", "a", "-A", "--kubeconfig", "/nonexistent"], both), 3, "kubeconfig problems are access errors (3)");
        const ref = fakeIO();
        assert.equal(await main(["explain", "not-a-ref"], ref), 2);
        assert.match(ref.err.join(""), /expected NS\/NAME/);
    });
});

describe("cli: validate --file needs no cluster", () => {
    const basic = (pw: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: git, namespace: a}\ntype: kubernetes.io/basic-auth\nstringData: {username: u, password: "${pw}"}\n`;

    it("valid → exit 0 with key names; invalid → exit 1 with the reconciler's message; values never printed", async () => {
        const ok = fakeIO({ "s.yaml": basic("CANARY-ok-value") });
        assert.equal(await main(["validate", "--file", "s.yaml", "--format", "tekton-git", "--options", '{"gitUrls":["https://github.com"]}'], ok), 0);
        assert.match(ok.out.join(""), /✓ a\/git → a\/git-tekton-git \(tekton-git\): valid; would write a kubernetes.io\/basic-auth secret with keys password, username/);
        assert.ok(!ok.out.join("").includes("CANARY"));
        const bad = fakeIO({ "s.yaml": basic("CANARY-bad\\n") });
        assert.equal(await main(["validate", "-f", "s.yaml", "--format", "tekton-git", "--options", '{"gitUrls":["https://github.com"]}', "--target", "a/git-tekton"], bad), 1);
        assert.match(bad.out.join(""), /✗ a\/git → a\/git-tekton \(tekton-git\): a\/git key "password": the value ends with a newline\. Fix:/);
        assert.ok(!bad.out.join("").includes("CANARY"));
    });

    it("colours only on a terminal, and never with NO_COLOR or --no-color", async () => {
        const args = ["validate", "-f", "s.yaml", "--format", "mirror"];
        const tty = fakeIO({ "s.yaml": basic("x") }, true);
        await main(args, tty);
        assert.match(tty.out.join(""), /\u001b\[32m✓\u001b\[0m/);
        const noColor = { ...fakeIO({ "s.yaml": basic("x") }, true), env: { NO_COLOR: "1" } };
        const out: string[] = [];
        await main(args, { ...noColor, stdout: (t) => void out.push(t) });
        await main([...args, "--no-color"], { ...tty, stdout: (t) => void out.push(t) });
        assert.ok(!out.join("").includes("\u001b["));
    });

    it("usage errors: unknown format, bad options JSON, no --format for a plain secret, unreadable file", async () => {
        const files = { "s.yaml": basic("x") };
        for (const [args, re] of [
            [["validate", "-f", "s.yaml", "--format", "nope"], /--format must be one of/],
            [["validate", "-f", "s.yaml", "--format", "mirror", "--options", "{"], /--options is not valid JSON/],
            [["validate", "-f", "s.yaml"], /declares no fan-out and is not a derived secret: pass --format/],
            [["validate", "-f", "missing.yaml", "--format", "mirror"], /cannot read missing.yaml/],
        ] as [string[], RegExp][]) {
            const io = fakeIO(files);
            assert.equal(await main(args, io), 2, args.join(" "));
            assert.match(io.err.join(""), re);
        }
    });
});

describe("cli: sync and explain helpers", () => {
    it("a new request value always differs from the current one", () => {
        const d = new Date("2026-11-01T00:00:00.000Z");
        assert.equal(nextRequestValue(undefined, d), d.toISOString());
        assert.notEqual(nextRequestValue(d.toISOString(), d), d.toISOString());
    });

    it("outcome of a derived secret is its status; of a source, its fan-out counts", () => {
        const derived = slimSecret({ metadata: { namespace: "a", name: "b", labels: { "app.kubernetes.io/managed-by": "platform-secrets", "platform-secrets.io/derived": "true" }, annotations: { "platform-secrets.io/status": "in-sync", "platform-secrets.io/status-message": "in sync with source a/s" } } });
        assert.deepEqual(syncOutcome(derived), { role: "derived", state: "in-sync", message: "in sync with source a/s" });
        const src = slimSecret({ metadata: { namespace: "a", name: "s", annotations: { "platform-secrets.io/fan-out-status": JSON.stringify({ counts: { "in-sync": 1, pending: 0, refused: 1, error: 0 }, targets: [{ target: "x/s", state: "refused", reason: "why" }], truncated: 0 }) } } });
        const o = syncOutcome(src);
        assert.equal(o.state, "not-in-sync");
        assert.match(o.message, /x\/s refused \(why\)/);
        assert.equal(syncExitCode({ object: "a/s", handled: true, requestedAt: "", waitedMs: 1, ...o }), 1);
    });

    it("next steps name the command to run", () => {
        const base = { object: "a/d", role: "derived" as const, dependants: { items: [] }, consumers: { items: [] }, hooks: { items: [] }, events: { items: [] } };
        const row = { target: "a/d", namespace: "a", name: "d", source: "a/s", kind: "derived" as const, state: "error" as const, message: "m", visible: true, syncPending: false };
        assert.match(nextSteps({ ...base, row, recipe: { format: "mirror", source: "a/s", options: "{}" } }).join("\n"), /platform-secrets validate --format mirror --options '\{\}' a\/s/);
        assert.match(nextSteps({ ...base, row: { ...row, state: "refused" } }).join("\n"), /platform-secrets sync a\/d/);
    });
});
