import { strict as assert } from "node:assert";
import { execFile, execFileSync } from "node:child_process";
import { promises as fs, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { Engine, prepareEngine, ROOT } from "../env/engine";
import { startTestEnv, TestEnv } from "../env";
import { canaryValue, randomName, withTimeout } from "../support";
import { getE2E, timings } from "./fixture";
import { PROVIDER_SCHEMA } from "../../providers/schema";

/** The schema-1 stub of a DerivedSecret as the previous checkout recorded it (test/unit/providers/fixtures). */
const SCHEMA_1_STUB = (JSON.parse(readFileSync(path.join(ROOT, "test/unit/providers/fixtures/schema-1.json"), "utf8")) as { resources: { kind: string; outputs: { __provider: string } }[] }).resources.find((r) => r.kind === "derived")!.outputs.__provider;
const COUNT = 3;

interface RunResult {
    ok: boolean;
    seconds?: number;
    error?: string;
    tooling?: { typescript: string; tsNode: string };
    result?: any;
}

/**
 * Issue 20 §3: the dynamic providers need no development tooling at run time. The project is copied (its tracked
 * files, as a clone would have them) to a temp dir and installed there with `npm ci --omit=dev` (no esbuild); a
 * stack of DerivedSecrets is then brought up, previewed, refreshed after a hand edit, repaired and destroyed
 * through the real engine, from that copy, with NODE_ENV=production, by plain node (test/e2e/omit-dev/runner.js).
 * Then state as the previous checkout wrote it (the schema-1 stub that bundled TypeScript with esbuild) shows what
 * an upgrade does: refresh fails naming esbuild, one `pulumi up` migrates every resource, refresh works again.
 */
describe("e2e: providers after npm ci --omit=dev, NODE_ENV=production", function () {
    let env: TestEnv;
    let engine: Engine;
    let ownEnv: (TestEnv & { stop(): Promise<void> }) | undefined;
    let work: string;
    let copy: string;
    let core: CoreV1Api;
    const namespace = randomName("omit-dev");
    const password = canaryValue();
    const outputs: string[] = [];

    function runner(op: string, input?: string): Promise<RunResult> {
        const run = {
            cliRoot: engine.cliRoot,
            pulumiHome: engine.pulumiHome,
            stackName: "omit-dev",
            envVars: { ...engine.env, PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`, PULUMI_CONFIG_PASSPHRASE: "omit-dev-test", KUBECONFIG: env.kubeconfigPath, NODE_ENV: "production" },
        };
        const childEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NODE_ENV: "production", KUBECONFIG: env.kubeconfigPath, PS_OMIT_DEV_RUN: JSON.stringify(run), PS_OMIT_DEV_NS: namespace, PS_OMIT_DEV_COUNT: String(COUNT), PS_OMIT_DEV_PASSWORD: password };
        return withTimeout(
            new Promise<RunResult>((resolve, reject) => {
                const child = execFile(process.execPath, [path.join(copy, "test/e2e/omit-dev/runner.js"), op], { cwd: copy, env: childEnv, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
                    outputs.push(stderr);
                    const line = stdout.trim().split("\n").pop() ?? "";
                    try {
                        resolve(JSON.parse(line) as RunResult);
                    } catch {
                        reject(new Error(`runner ${op} printed no result (${err?.message ?? ""}): ${stderr.slice(-2000)}`));
                    }
                });
                if (input !== undefined) child.stdin!.end(input);
                else child.stdin!.end();
            }),
            600_000,
            `runner ${op}`,
        );
    }

    async function pullData(i: number): Promise<string | undefined> {
        const s = await core.readNamespacedSecret({ namespace, name: `pull-${i}` }).catch(() => undefined);
        return s?.data?.[".dockerconfigjson"];
    }

    before(async function () {
        this.timeout(1_800_000);
        work = await fs.mkdtemp(path.join(tmpdir(), "ps-omit-dev-"));
        await fs.mkdir(path.join(work, "state"));
        try {
            ({ env, engine } = getE2E());
        } catch {
            // Run on its own (not under test/e2e/.mocharc.json): only the apiserver is needed.
            engine = await prepareEngine({ pulumiHome: path.join(work, "home") });
            ownEnv = await startTestEnv({ eso: false });
            env = ownEnv;
        }
        core = env.kubeConfig().makeApiClient(CoreV1Api);
        await core.createNamespace({ body: { metadata: { name: namespace } } });
        // What a clone has: the tracked files (and files not yet committed, so a working tree tests itself).
        copy = path.join(work, "project");
        const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
        for (const f of files) {
            await fs.mkdir(path.dirname(path.join(copy, f)), { recursive: true });
            await fs.copyFile(path.join(ROOT, f), path.join(copy, f)).catch((e: NodeJS.ErrnoException) => {
                if (e.code !== "ENOENT") throw e; // deleted but not yet committed
            });
        }
        const t0 = Date.now();
        // The shared npm cache, offline first; no install scripts (none of the production packages needs one).
        execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: copy, env: { ...process.env, NODE_ENV: "production" }, stdio: "pipe" });
        timings["omit-dev npm ci"] = (Date.now() - t0) / 1000;
    });

    after(async function () {
        this.timeout(600_000);
        try {
            if (copy) await runner("destroy").catch(() => undefined);
            await core?.deleteNamespace({ name: namespace }).catch(() => undefined);
        } finally {
            await ownEnv?.stop();
            const mine = Object.entries(timings).filter(([k]) => k.startsWith("omit-dev"));
            process.stderr.write(`[e2e omit-dev] ${COUNT} DerivedSecrets; seconds: ${JSON.stringify(Object.fromEntries(mine))}\n`);
            if (work) await fs.rm(work, { recursive: true, force: true });
        }
    });

    it("the copy has no esbuild, but has the committed compiled runtime", async () => {
        await assert.rejects(fs.access(path.join(copy, "node_modules/esbuild")), "esbuild must not be installed by npm ci --omit=dev");
        await fs.access(path.join(copy, "providers/compiled/runtime.js"));
    });

    it("up, a no-op preview, drift found by refresh after a hand edit, up repairs it", async () => {
        const up = await runner("up");
        assert.ok(up.ok, up.error);
        timings["omit-dev up"] = up.seconds!;
        assert.equal(up.result.result, "succeeded");
        assert.equal(up.result.resourceChanges.create, COUNT + 3, JSON.stringify(up.result.resourceChanges)); // + stack, k8s provider, source
        // The program was compiled by the copy's own TypeScript (a run-time dependency), not Pulumi's vendored 3.8.
        assert.ok(up.tooling!.typescript.includes(path.join(copy, "node_modules/typescript")), up.tooling!.typescript);
        for (let i = 0; i < COUNT; i++) assert.ok(Buffer.from((await pullData(i))!, "base64").toString().includes(password));

        const preview = await runner("preview");
        assert.ok(preview.ok, preview.error);
        timings["omit-dev preview"] = preview.seconds!;
        assert.deepEqual(Object.keys(preview.result.changeSummary), ["same"], JSON.stringify(preview.result.changeSummary));

        await core.patchNamespacedSecret({ namespace, name: "pull-1", body: [{ op: "replace", path: "/data/.dockerconfigjson", value: Buffer.from("{}").toString("base64") }] });
        const refresh = await runner("refresh");
        assert.ok(refresh.ok, refresh.error);
        timings["omit-dev refresh"] = refresh.seconds!;
        assert.equal(refresh.result.resourceChanges.update, 1, JSON.stringify(refresh.result.resourceChanges));
        const repair = await runner("up");
        assert.ok(repair.ok, repair.error);
        assert.equal(repair.result.resourceChanges.update, 1, JSON.stringify(repair.result.resourceChanges));
        assert.ok(Buffer.from((await pullData(1))!, "base64").toString().includes(password));
    });

    it("state of the previous format: refresh fails naming esbuild; one up migrates it; refresh works", async () => {
        const exported = await runner("export");
        assert.ok(exported.ok, exported.error);
        const deployment = exported.result;
        let downgraded = 0;
        for (const r of deployment.deployment.resources as { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[]) {
            if (!r.type.startsWith("pulumi-nodejs:dynamic/platform-secrets:")) continue;
            assert.equal(r.outputs?.__schema, PROVIDER_SCHEMA, "state written now records the schema");
            for (const props of [r.inputs, r.outputs]) if (props) props.__provider = SCHEMA_1_STUB;
            delete r.outputs!.__schema;
            downgraded++;
        }
        assert.equal(downgraded, COUNT);
        const imported = await runner("import", JSON.stringify(deployment));
        assert.ok(imported.ok, imported.error);

        const refused = await runner("refresh");
        assert.equal(refused.ok, false);
        assert.match(refused.error!, /esbuild is not installed in .*Fix: npm ci in the project directory/);

        const migrate = await runner("up");
        assert.ok(migrate.ok, migrate.error);
        timings["omit-dev migrating up"] = migrate.seconds!;
        assert.equal(migrate.result.resourceChanges.update, COUNT, JSON.stringify(migrate.result.resourceChanges));
        const after = (await runner("export")).result;
        for (const r of after.deployment.resources as { type: string; outputs?: Record<string, unknown> }[]) {
            if (!r.type.startsWith("pulumi-nodejs:dynamic/platform-secrets:")) continue;
            assert.equal(r.outputs?.__schema, PROVIDER_SCHEMA);
            assert.ok(!String(r.outputs?.__provider).includes("esbuild"));
        }
        const refresh = await runner("refresh");
        assert.ok(refresh.ok, refresh.error);
        assert.deepEqual(Object.keys(refresh.result.resourceChanges), ["same"], JSON.stringify(refresh.result.resourceChanges));
    });

    it("destroy removes every derived secret; no planted value in the engine's output", async () => {
        const destroy = await runner("destroy");
        assert.ok(destroy.ok, destroy.error);
        timings["omit-dev destroy"] = destroy.seconds!;
        assert.equal(destroy.result.resourceChanges.delete, COUNT + 3, JSON.stringify(destroy.result.resourceChanges));
        for (let i = 0; i < COUNT; i++) assert.equal(await pullData(i), undefined);
        const all = outputs.join("\n");
        assert.ok(!all.includes(password) && !all.includes(Buffer.from(password).toString("base64")), "a planted value reached the engine's output");
    });
});
