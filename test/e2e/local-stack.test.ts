import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { CoreV1Api } from "@kubernetes/client-node";
import { request } from "../env/http";
import { startLocalSandbox, LocalSandbox } from "../env/local-sandbox";
import { writeVault } from "../env/local-seed";
import { bootstrapHookRoles, readStackPolicy, startStackReconciler } from "../env/sandbox-reconciler";
import { getE2E, timings } from "./fixture";

/**
 * The `local` stack (Pulumi.local.yaml) through the real engine: Automation API + CLI + kubernetes provider on
 * the real apiserver, vault/random (real plugins or the stand-ins) on the real Vault, the ESO stand-in. One
 * stack, so the cases run in order: each starts from the state the previous one left.
 */
const CANARY = `canary-${randomBytes(12).toString("hex")}`;
/** The git source's password after the source rotation (a second canary: it must not reach the state either). */
const CANARY_ROTATED = `canary-rotated-${randomBytes(12).toString("hex")}`;
/** The derived secrets of the git source (stacks/git.ts via providers/). */
const GIT_DERIVED = [
    ["tekton-pipelines", "platform-repo-git"],
    ["argocd", "platform-repo"],
    ["kargo-platform", "platform-repo-git"],
] as const;
/** Under the stack's path prefix (default: its environment, "local"). */
const SIMPLE_PATH = "local/sandbox/app-db";

describe("e2e: the local stack through the real engine", function () {
    let sb: LocalSandbox;
    let core: CoreV1Api;
    const output: string[] = [];
    let resourceCount = 0;

    async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
        const t0 = Date.now();
        try {
            return await fn();
        } finally {
            timings[name] = (Date.now() - t0) / 1000;
        }
    }

    async function vaultGet(p: string): Promise<{ status: number; json: any }> {
        const { env } = getE2E();
        const r = await request(`${env.vault.addr}/v1/secret/${p}`, { headers: { "x-vault-token": env.vault.token } });
        return { status: r.status, json: r.body ? JSON.parse(r.body) : undefined };
    }

    async function secretData(ns: string, name: string): Promise<Record<string, string> | undefined> {
        const s = await core.readNamespacedSecret({ name, namespace: ns }).catch(() => undefined);
        return s ? Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])) : undefined;
    }

    before(async () => {
        const { env, engine } = getE2E();
        core = env.kubeConfig().makeApiClient(CoreV1Api);
        sb = await startLocalSandbox(env, { engine, onOutput: (l) => output.push(l) });
        // The cases count Vault versions from 1: the suite's other files ran the same stack in this Vault before, and
        // destroy keeps the history (deleteAllVersions: false), so start from paths that never existed.
        for (const p of [SIMPLE_PATH, "local/sandbox/webhook-token"]) {
            await request(`${env.vault.addr}/v1/secret/metadata/${p}`, { method: "DELETE", headers: { "x-vault-token": env.vault.token } });
        }
        // Planted before the first up: the git source's password, which the derived secrets carry.
        await writeVault(env.vault, "secret", "git/platform-repo", { username: "sandbox-bot", password: CANARY });
        // An unmanaged Secret in a namespace the stack writes into: destroy must leave it alone.
        await core.createNamespacedSecret({ namespace: "app", body: { metadata: { name: "not-managed", namespace: "app" }, stringData: { keep: "me" } } });
    });

    after(async () => {
        await sb?.stop();
    });

    it("up from empty creates every resource, writes version 1 to Vault, and the derived secrets exist", async () => {
        const up = await timed("up", () => sb.stack.up());
        const changes = up.summary.resourceChanges ?? {};
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(Object.keys(changes), ["create"], JSON.stringify(changes));
        resourceCount = changes.create!;
        const v = await vaultGet(`data/${SIMPLE_PATH}`);
        assert.equal(v.json.data.metadata.version, 1);
        assert.equal(v.json.data.data.password.length, 32);
        const tekton = await secretData("tekton-pipelines", "platform-repo-git");
        assert.equal(tekton?.password, CANARY);
        assert.deepEqual(Object.keys(up.outputs).sort(), ["driftSchedule", "githubApps", "instance", "reconcilerVaultReadPaths", "rotations", "storeName", "vaultKubernetesAuthRoles", "vaultPathPrefix", "vaultPathsWritten", "vaultPolicies"]);
    });

    it("a second preview --expect-no-changes passes (the drift gate can pass)", async () => {
        const pv = await timed("previewNoop", () => sb.stack.preview({ expectNoChanges: true, diff: true }));
        timings.previewNoopMsPerResource = Math.round((timings.previewNoop! * 1000) / resourceCount);
        assert.deepEqual(Object.keys(pv.changeSummary), ["same"], JSON.stringify(pv.changeSummary));
    });

    it("refresh of an untouched stack changes nothing", async () => {
        const rf = await timed("refresh", () => sb.stack.refresh({ expectNoChanges: true }));
        assert.deepEqual(Object.keys(rf.summary.resourceChanges ?? {}), ["same"], JSON.stringify(rf.summary.resourceChanges));
    });

    it("a hand edit of a derived secret: preview --refresh --expect-no-changes fails naming it; up --refresh repairs it", async () => {
        const live = await core.readNamespacedSecret({ name: "platform-repo-git", namespace: "tekton-pipelines" });
        live.data = { ...live.data, password: Buffer.from("hand-edited").toString("base64") };
        await core.replaceNamespacedSecret({ name: "platform-repo-git", namespace: "tekton-pipelines", body: live });
        const lines: string[] = [];
        const err = await timed("previewRefreshDrift", () => sb.stack.preview({ refresh: true, expectNoChanges: true, onOutput: (s) => lines.push(s) })).then(
            () => undefined,
            (e: Error) => e,
        );
        assert.ok(err, "preview --refresh --expect-no-changes passed although a derived secret was edited");
        assert.match(lines.join("") + String(err), /git-platform-repo-tekton/);
        await timed("upRefreshRepair", () => sb.stack.up({ refresh: true }));
        assert.equal((await secretData("tekton-pipelines", "platform-repo-git"))?.password, CANARY);
        await sb.stack.preview({ refresh: true, expectNoChanges: true });
    });

    it("with the reconciler running, a source rotation leaves no drift: it rewrites the derived secrets and preview --refresh --expect-no-changes passes", async () => {
        const { env } = getE2E();
        // The reconciler as the stack deployed it: its Deployment's env, its ServiceAccount, a Vault token for the hooked paths.
        const exported = (await sb.stack.stack.exportStack()).deployment as { resources: { type: string; urn: string; outputs?: any }[] };
        const dep = exported.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.urn.includes("ReconcilerDeployment"))!;
        const namespace = dep.outputs.metadata.namespace as string;
        await bootstrapHookRoles(env, await readStackPolicy(env.kubeConfig(), namespace));
        const outputs = await sb.stack.stack.outputs();
        const rec = await startStackReconciler(env, { namespace, deployment: dep.outputs.metadata.name, vaultReadPaths: outputs.reconcilerVaultReadPaths.value as string[] });
        try {
            // The source rotates as ESO delivers it: a new Vault version, and the synced Secret carries it.
            await writeVault(env.vault, "secret", "git/platform-repo", { username: "sandbox-bot", password: CANARY_ROTATED });
            const source = await core.readNamespacedSecret({ name: "platform-repo", namespace: "platform-secrets" });
            assert.equal(Buffer.from(source.data!.password, "base64").toString("utf8"), CANARY, "the ESO-synced git source");
            source.data = { ...source.data, password: Buffer.from(CANARY_ROTATED).toString("base64") };
            await core.replaceNamespacedSecret({ name: "platform-repo", namespace: "platform-secrets", body: source });
            const t0 = Date.now();
            for (;;) {
                const all = await Promise.all(GIT_DERIVED.map(([ns, name]) => secretData(ns, name)));
                if (all.every((d) => Object.values(d ?? {}).some((v) => v.includes(CANARY_ROTATED)))) break;
                if (Date.now() - t0 > 60_000) assert.fail(`the reconciler did not rewrite the derived secrets within 60 s; its log:\n${rec.lines.slice(-20).join("\n")}`);
                await new Promise((r) => setTimeout(r, 200));
            }
            timings.reconcilerRewriteMs = Date.now() - t0;
            for (const [ns, name] of GIT_DERIVED) assert.ok(!Object.values((await secretData(ns, name))!).some((v) => v.includes(CANARY)), `${ns}/${name} still carries the old password`);
            await timed("previewRefreshAfterRotation", () => sb.stack.preview({ refresh: true, expectNoChanges: true }));
        } finally {
            await rec.stop();
        }
    });

    it("bumping one rotation counter replaces one password, writes one new Vault version, and changes nothing else", async () => {
        const set = await sb.stack.cli(["config", "set", "--path", "platform-secrets:passwords[0].rotation", "1"]);
        assert.equal(set.code, 0, set.stderr);
        const before = (await vaultGet(`data/${SIMPLE_PATH}`)).json.data.data.password as string;
        const pv = await sb.stack.preview({ diff: true });
        // Updated: the password's policy guard (records the counter), its SecretV2 and its consumer ExternalSecret.
        assert.deepEqual(pv.changeSummary, { replace: 1, same: resourceCount - 4, update: 3 }, JSON.stringify(pv.changeSummary));
        const up = await timed("upRotation", () => sb.stack.up());
        assert.deepEqual(up.summary.resourceChanges, { replace: 1, same: resourceCount - 4, update: 3 });
        const meta = (await vaultGet(`metadata/${SIMPLE_PATH}`)).json.data;
        assert.equal(meta.current_version, 2);
        const v1 = (await vaultGet(`data/${SIMPLE_PATH}?version=1`)).json.data.data.password;
        const v2 = (await vaultGet(`data/${SIMPLE_PATH}?version=2`)).json.data.data.password;
        assert.equal(v1, before);
        assert.notEqual(v2, before);
        assert.equal((await vaultGet("metadata/local/sandbox/webhook-token")).json.data.current_version, 1);
    });

    /** Applies a config change, previews (expected to fail), undoes the change; the engine output + error text. */
    async function failingPreview(change: string[], undo: string[], passedMsg: string): Promise<string> {
        assert.equal((await sb.stack.cli(change)).code, 0);
        const lines: string[] = [];
        const err = await sb.stack.preview({ onOutput: (s) => lines.push(s) }).then(
            () => undefined,
            (e: Error) => e,
        );
        assert.equal((await sb.stack.cli(undo)).code, 0);
        assert.ok(err, passedMsg);
        return lines.join("") + String(err);
    }

    it("a longer password without a counter bump fails preview naming the counter to bump; reverting it is a no-op", async () => {
        const text = await failingPreview(
            ["config", "set", "--path", "platform-secrets:passwords[0].length", "40"],
            ["config", "set", "--path", "platform-secrets:passwords[0].length", "32"],
            "preview passed although the password's length changed without a rotation",
        );
        assert.match(text, /password app-db-password: length changed from 32 to 40;[\s\S]*fix: bump platform-secrets:passwords\[0\]\.rotation from 1 to 2/);
        await sb.stack.preview({ expectNoChanges: true });
        assert.equal((await vaultGet(`metadata/${SIMPLE_PATH}`)).json.data.current_version, 2, "no new Vault version");
    });

    it("a bad stack config fails preview with the ConfigError text and registers nothing", async () => {
        const text = await failingPreview(
            ["config", "set", "--path", "platform-secrets:passwords[1].lenght", "40"],
            ["config", "rm", "--path", "platform-secrets:passwords[1].lenght"],
            "preview passed with an unknown field",
        );
        assert.match(text, /platform-secrets:passwords\[1\]\.lenght: unknown field; fix: did you mean "length"/);
        assert.doesNotMatch(text, /\+ {2,}\S*(create|replace)/);
        await sb.stack.preview({ expectNoChanges: true });
    });

    it("no secret value in plain text in the state, the engine output, or the stack outputs", async () => {
        const exported = await sb.stack.exportText();
        const pw = (await vaultGet(`data/${SIMPLE_PATH}`)).json.data.data.password as string;
        const outputs = JSON.stringify(await sb.stack.stack.outputs());
        for (const [what, text] of [["state", exported], ["engine output", output.join("\n")], ["outputs", outputs]] as const) {
            assert.ok(!text.includes(CANARY), `the canary is in the ${what}`);
            assert.ok(!text.includes(CANARY_ROTATED), `the rotated canary is in the ${what}`);
            assert.ok(!text.includes(pw), `a generated password is in the ${what}`);
        }
        assert.ok(exported.includes("ciphertext"), "secrets in the state are encrypted");
    });

    it("destroy removes only what the stack created", async () => {
        const d = await timed("destroy", () => sb.stack.destroy());
        assert.equal(d.summary.result, "succeeded");
        assert.deepEqual((await secretData("app", "not-managed"))?.keep, "me");
        const ns = await core.readNamespace({ name: "platform-secrets" }).catch(() => undefined);
        assert.ok(!ns || ns.status?.phase === "Terminating", "the stack's namespace is gone or terminating");
        assert.equal((await secretData("tekton-pipelines", "platform-repo-git")), undefined);
        // deleteAllVersions: false: the history stays for a manual rollback, the latest version is deleted.
        const meta = (await vaultGet(`metadata/${SIMPLE_PATH}`)).json.data;
        assert.notEqual(meta.versions[String(meta.current_version)].deletion_time, "");
        assert.equal((await vaultGet("data/git/platform-repo")).json.data.data.password, CANARY_ROTATED, "a path the stack only reads survives");
    });
});
