import { strict as assert } from "node:assert";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import type { DeploymentRunPlan } from "../../stacks/drift";
import { startLocalSandbox, LocalSandbox } from "../env/local-sandbox";
import { writeVault } from "../env/local-seed";
import { LOCAL_PASSPHRASE } from "../env/local-stack";
import { bootstrapHookRoles, readStackPolicy, startStackReconciler } from "../env/sandbox-reconciler";
import { DriftRunResult, HarnessRunner, runDeployment } from "./drift-harness";
import { AGENT_POOL, setUpDriftRun } from "./drift-setup";
import { getE2E, timings } from "./fixture";

/**
 * Drift checks as Pulumi Deployments runs them (issue 20 §4), against the `local` stack on the real servers:
 * the stack is deployed (Automation API, as in local-stack.test.ts), its drift settings are set in its stack file
 * the way a platform team sets them (secrets with `pulumi config set --secret`), and the stack file is committed
 * to a repository cloned from this checkout's HEAD (commit first: uncommitted work is not in the clone). Each
 * harness run then clones that repository afresh, installs, runs the pre-run commands and the Pulumi operation
 * with only the rendered settings' environment (drift-harness.ts).
 *
 * PS_DRIFT_INSTALL="npm ci --omit=dev" runs a production-only install instead of Deployments' `npm install`.
 */
const CANARY = `canary-${randomBytes(12).toString("hex")}`;
const CANARY_ROTATED = `canary-rotated-${randomBytes(12).toString("hex")}`;
const GIT_DERIVED = [
    ["tekton-pipelines", "platform-repo-git"],
    ["argocd", "platform-repo"],
    ["kargo-platform", "platform-repo-git"],
] as const;

describe("e2e: drift checks as Pulumi Deployments runs them (fresh clone, rendered settings only)", function () {
    let sb: LocalSandbox;
    let core: CoreV1Api;
    let runner: HarnessRunner;
    let plan: DeploymentRunPlan;
    let work: string;
    let origin: string;
    const output: string[] = [];
    const runs: DriftRunResult[] = [];

    async function secretData(ns: string, name: string): Promise<Record<string, string> | undefined> {
        const s = await core.readNamespacedSecret({ name, namespace: ns }).catch(() => undefined);
        return s ? Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])) : undefined;
    }

    async function deployment(operation: "detect" | "remediate", name: string): Promise<DriftRunResult> {
        const r = await runDeployment(runner, { repoUrl: origin, plan, stack: "local", operation });
        runs.push(r);
        timings[`drift.${name}`] = r.seconds;
        for (const s of r.steps) timings[`drift.${name}.${s.step.split(":")[0]}`] = s.seconds;
        return r;
    }

    before(async () => {
        const { env, engine } = getE2E();
        core = env.kubeConfig().makeApiClient(CoreV1Api);
        sb = await startLocalSandbox(env, { engine, onOutput: (l) => output.push(l) });
        await writeVault(env.vault, "secret", "git/platform-repo", { username: "sandbox-bot", password: CANARY });
        const up = await sb.stack.up();
        assert.equal(up.summary.result, "succeeded");
        timings["drift.stackResources"] = Object.values(up.summary.resourceChanges ?? {}).reduce((a, b) => a + (b ?? 0), 0);

        // The drift settings, as a team sets them, committed to the repository Deployments clones (drift-setup.ts).
        work = await fs.mkdtemp(path.join(tmpdir(), "ps-drift-"));
        const setup = await setUpDriftRun(sb.stack, { stackName: "local", work, vaultToken: env.vault.token, kubeconfigPath: env.kubeconfigPath });
        ({ plan, origin } = setup);
        assert.ok(!setup.stackFile.includes(env.vault.token), "the Vault token is encrypted in the stack file");

        runner = {
            engine,
            login: { PULUMI_BACKEND_URL: `file://${sb.stateDir}`, PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE },
            workRoot: work,
            ...(process.env.PS_DRIFT_INSTALL ? { install: process.env.PS_DRIFT_INSTALL.split(" ") } : {}),
            onOutput: (l) => output.push(l),
        };
    });

    after(async () => {
        try {
            await sb?.stack.destroy();
        } finally {
            await sb?.stop();
            if (work) await fs.rm(work, { recursive: true, force: true });
            if (runs.length) process.stderr.write(`[e2e] drift harness runs: ${JSON.stringify(runs.map((r) => ({ op: r.operation, s: r.seconds, resources: r.resources, changes: r.changes, steps: r.steps })))}\n`);
        }
    });

    it("the rendered settings carry the run's whole environment; nothing of the caller's reaches it", async () => {
        assert.deepEqual(Object.keys(plan.environmentVariables).sort(), ["PULUMI_NODEJS_TRANSPILE_ONLY", "VAULT_ADDR"]);
        assert.deepEqual(Object.keys(plan.secretEnvironmentVariables).sort(), ["DRIFT_KUBECONFIG", "VAULT_TOKEN"]);
        assert.equal(plan.agentPoolId, AGENT_POOL);
        assert.equal(plan.preRunCommands.length, 2, "the kubeconfig writer, then the team's command");
    });

    it("a clean stack: refresh --preview-only finds no drift", async () => {
        const r = await deployment("detect", "clean");
        assert.equal(r.drift, false, JSON.stringify(r.changes));
        assert.equal(r.resources, timings["drift.stackResources"]);
        const names = output.find((l) => l.startsWith("drift-run-env: "))!.slice("drift-run-env: ".length).trim().split(" ");
        const runnerOwn = ["HOME", "PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "npm_config_cache", "npm_config_update_notifier", ...Object.keys(getE2E().engine.env)];
        const allowed = new Set([...runnerOwn, ...Object.keys(plan.environmentVariables), ...Object.keys(plan.secretEnvironmentVariables), "PWD", "SHLVL", "_", "OLDPWD"]);
        assert.deepEqual(names.filter((n) => !allowed.has(n)), [], "variables the settings did not give");
        assert.ok(!names.includes("KUBECONFIG") && !names.some((n) => n.startsWith("PS_")), names.join(" "));
    });

    it("a hand edit of a derived secret: the drift run reports it, naming the resource", async () => {
        const live = await core.readNamespacedSecret({ name: "platform-repo-git", namespace: "tekton-pipelines" });
        live.data = { ...live.data, password: Buffer.from("hand-edited").toString("base64") };
        await core.replaceNamespacedSecret({ name: "platform-repo-git", namespace: "tekton-pipelines", body: live });
        const r = await deployment("detect", "handEdit");
        assert.equal(r.drift, true, "no drift reported after a hand edit");
        // The resource line the engine marks as changing (every resource also has a "refreshing" line).
        const changed = r.output.split("\n").filter((l) => /^\s*~\s/.test(l) && !/refreshing/.test(l));
        process.stderr.write(`[e2e] drift run after the hand edit: ${JSON.stringify(r.changes)}\n${changed.join("\n")}\n`);
        assert.ok(changed.some((l) => l.includes("git-platform-repo-tekton")), changed.join("\n"));
        assert.deepEqual(r.changes, { update: 1, same: r.resources - 1 });
        // --preview-only: the state is untouched, so the next check still sees it.
        assert.equal((await secretData("tekton-pipelines", "platform-repo-git"))?.password, "hand-edited");
    });

    it("remediation (up --refresh) repairs it; the next drift run is clean", async () => {
        const r = await deployment("remediate", "remediate");
        assert.ok((r.changes.update ?? 0) >= 1, JSON.stringify(r.changes));
        assert.equal((await secretData("tekton-pipelines", "platform-repo-git"))?.password, CANARY);
        const again = await deployment("detect", "afterRemediation");
        assert.equal(again.drift, false, JSON.stringify(again.changes));
    });

    it("a source rotation the reconciler has followed leaves the drift run clean", async () => {
        const { env } = getE2E();
        const exported = (await sb.stack.stack.exportStack()).deployment as { resources: { type: string; urn: string; outputs?: any }[] };
        const dep = exported.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.urn.includes("ReconcilerDeployment"))!;
        const namespace = dep.outputs.metadata.namespace as string;
        await bootstrapHookRoles(env, await readStackPolicy(env.kubeConfig(), namespace));
        const outputs = await sb.stack.stack.outputs();
        const rec = await startStackReconciler(env, { namespace, deployment: dep.outputs.metadata.name, vaultReadPaths: outputs.reconcilerVaultReadPaths.value as string[] });
        try {
            await writeVault(env.vault, "secret", "git/platform-repo", { username: "sandbox-bot", password: CANARY_ROTATED });
            const source = await core.readNamespacedSecret({ name: "platform-repo", namespace: "platform-secrets" });
            source.data = { ...source.data, password: Buffer.from(CANARY_ROTATED).toString("base64") };
            await core.replaceNamespacedSecret({ name: "platform-repo", namespace: "platform-secrets", body: source });
            const t0 = Date.now();
            for (;;) {
                const all = await Promise.all(GIT_DERIVED.map(([ns, name]) => secretData(ns, name)));
                if (all.every((d) => Object.values(d ?? {}).some((v) => v.includes(CANARY_ROTATED)))) break;
                if (Date.now() - t0 > 60_000) assert.fail(`the reconciler did not rewrite the derived secrets within 60 s; its log:\n${rec.lines.slice(-20).join("\n")}`);
                await new Promise((r) => setTimeout(r, 200));
            }
            const r = await deployment("detect", "afterRotation");
            assert.equal(r.drift, false, `drift after a followed rotation: ${JSON.stringify(r.changes)}\n${r.output.slice(-3000)}`);
        } finally {
            await rec.stop();
        }
    });

    it("no secret value in the engine output of any run", () => {
        const { env } = getE2E();
        const text = output.join("\n");
        const key = /client-key-data: (\S+)/.exec(plan.secretEnvironmentVariables.DRIFT_KUBECONFIG.reveal())?.[1];
        assert.ok(key, "the kubeconfig carries a client key");
        for (const s of [CANARY, CANARY_ROTATED, env.vault.token, key!]) assert.ok(!text.includes(s), "a secret value is in the run output");
    });
});
