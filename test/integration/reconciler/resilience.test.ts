import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { ANNOTATION_STATUS } from "../../../reconciler/keys";
import { isKubeError } from "../../../lib/kube";
import { canaryValue, randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin, bootstrapDerived, createNamespace, createSource, deleteNamespaces, eventually, getSecret, mutateSecret, Running, startReconciler, unb64, b64 } from "./helpers";

const ROOT = path.resolve(__dirname, "../../..");

async function rotateAndExpect(ns: string, src: string, dst: string, ms = 20_000): Promise<string> {
    const v = canaryValue();
    await eventually(async () => {
        await mutateSecret(ns, src, (s) => (s.data.password = b64(v)));
        return true;
    }, ms, `rotate ${src}`, 200);
    await eventually(async () => (unb64((await getSecret(ns, dst))?.data?.password) === v ? true : undefined), ms, `${dst} follows`);
    return v;
}

function spawnReconciler(ns: string, out: string[]): ChildProcess {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "reconciler/main.ts", `--kubeconfig=${getEnv().kubeconfigPath}`, "--leader-election=false", `--namespaces=${ns}`, "--metrics-port=0"], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LOG_LEVEL: "debug", TS_NODE_TRANSPILE_ONLY: "true" },
    });
    child.stdout!.on("data", (c) => out.push(String(c)));
    child.stderr!.on("data", (c) => out.push(String(c)));
    return child;
}

describe("reconciler: resilience", function () {
    const namespaces: string[] = [];
    const running: Running[] = [];
    after(async () => {
        for (const r of running) await r.stop();
        await deleteNamespaces(namespaces);
    });

    async function seeded(n = 1): Promise<string> {
        const ns = await createNamespace();
        namespaces.push(ns);
        for (let i = 0; i < n; i++) {
            await createSource(ns, `src-${i}`, { username: "u", password: canaryValue() }, { type: "kubernetes.io/basic-auth" });
            await bootstrapDerived({ format: "mirror", source: { namespace: ns, name: `src-${i}` }, target: { namespace: ns, name: `dst-${i}` } });
        }
        return ns;
    }

    it("leader failover: only one of two replicas reconciles; the other takes over when the leader leaves", async () => {
        const ns = await seeded();
        const lease = { namespace: ns, name: randomName("lease"), durationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 };
        const a = await startReconciler([ns], { lease });
        const b = await startReconciler([ns], { lease });
        running.push(a, b);
        const leader = await eventually(async () => (a.r.isLeader ? a : b.r.isLeader ? b : undefined), 10_000, "a leader");
        const follower = leader === a ? b : a;
        await leader.r.waitUntilReconciling();
        for (let i = 0; i < 10; i++) {
            assert.ok(!(a.r.isLeader && b.r.isLeader), "never two leaders");
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(follower.r.currentController, undefined, "the follower does not reconcile");
        await rotateAndExpect(ns, "src-0", "dst-0");
        await leader.stop();
        await eventually(async () => (follower.r.isLeader ? true : undefined), 10_000, "follower takes over");
        await follower.r.waitUntilReconciling();
        await rotateAndExpect(ns, "src-0", "dst-0");
        const k = await admin();
        const l = await k.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${lease.name}`);
        assert.ok(l.spec.leaseTransitions >= 1);
    });

    it("the apiserver restarts mid-run: watches recover and the reconciler converges", async () => {
        const ns = await seeded();
        const rec = await startReconciler([ns]);
        running.push(rec);
        await rotateAndExpect(ns, "src-0", "dst-0");
        await getEnv().restartApiServer({ downMs: 2000 });
        await rotateAndExpect(ns, "src-0", "dst-0", 60_000);
        await rec.stop();
    });

    it("kill -9 of the reconciler mid-write: after a restart every derived secret converges", async () => {
        const n = 40;
        const ns = await seeded(n);
        const out: string[] = [];
        let child = spawnReconciler(ns, out);
        try {
            await eventually(async () => (out.join("").includes("reconciler running") ? true : undefined), 60_000, "child started");
            const values: string[] = [];
            for (let i = 0; i < n; i++) {
                const v = canaryValue();
                values.push(v);
                await mutateSecret(ns, `src-${i}`, (s) => (s.data.password = b64(v)));
                if (i === n / 2) child.kill("SIGKILL");
            }
            const killed = child;
            if (killed.exitCode === null && killed.signalCode === null) await new Promise((r) => killed.once("exit", r));
            assert.equal(killed.signalCode, "SIGKILL");
            child = spawnReconciler(ns, out);
            for (let i = 0; i < n; i++) {
                await eventually(async () => (unb64((await getSecret(ns, `dst-${i}`))?.data?.password) === values[i] ? true : undefined), 60_000, `dst-${i} converged`);
            }
            const text = out.join("");
            for (const v of values) assert.ok(!text.includes(v), "canary in child logs");
            // Graceful shutdown: SIGTERM stops watches, drains and exits 0.
            const last = child;
            const exited = new Promise<number | null>((r) => last.once("exit", (code) => r(code)));
            last.kill("SIGTERM");
            assert.equal(await exited, 0, "SIGTERM → exit 0");
            assert.ok(out.join("").includes("shutting down"));
        } finally {
            child.kill("SIGTERM");
        }
    });

    it("a 409 conflict storm from a competing writer converges", async () => {
        const ns = await seeded();
        const rec = await startReconciler([ns]);
        running.push(rec);
        const k = await admin();
        let stop = false;
        let conflicts = 0;
        const writer = (async () => {
            while (!stop) {
                try {
                    const s = await k.request("GET", `/api/v1/namespaces/${ns}/secrets/dst-0`);
                    s.data.password = b64(`competing-${Date.now()}`);
                    await k.request("PUT", `/api/v1/namespaces/${ns}/secrets/dst-0`, { body: s });
                } catch (e) {
                    if (isKubeError(e, 409)) conflicts++;
                }
            }
        })();
        const v = canaryValue();
        await mutateSecret(ns, "src-0", (s) => (s.data.password = b64(v)));
        await new Promise((r) => setTimeout(r, 3000));
        stop = true;
        await writer;
        const d = await eventually(async () => {
            const s = await getSecret(ns, "dst-0");
            return unb64(s?.data?.password) === v && s.metadata.annotations[ANNOTATION_STATUS] === "in-sync" ? s : undefined;
        }, 20_000, "converged after the storm");
        assert.ok(d);
        const errs = await rec.r.metrics.reconcileErrors.get();
        const total = errs.values.reduce((n, x) => n + x.value, 0);
        process.stderr.write(`      (storm: writer saw ${conflicts} conflicts, reconciler ${total} failed reconciles)\n`);
        assert.ok(conflicts + total > 0, "the storm produced conflicts");
    });
});
