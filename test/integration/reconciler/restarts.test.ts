import assert from "node:assert/strict";
import { ANNOTATION_RESTART_MIN_INTERVAL, ANNOTATION_RESTART_ON, ANNOTATION_RESTARTED_AT, ANNOTATION_SECRETS_HASH, FIELD_MANAGER } from "../../../reconciler/keys";
import { canaryValue } from "../../support";
import { admin, auditLines, createNamespace, createSource, deleteNamespaces, eventually, mutateSecret, Running, startReconciler, b64 } from "./helpers";

function deployment(name: string, restartOn: string, secretEnv: string, secretVol?: string) {
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, annotations: { [ANNOTATION_RESTART_ON]: restartOn } },
        spec: {
            replicas: 1,
            selector: { matchLabels: { app: name } },
            template: {
                metadata: { labels: { app: name } },
                spec: {
                    containers: [{ name: "app", image: "registry.invalid/app:1", env: [{ name: "PW", valueFrom: { secretKeyRef: { name: secretEnv, key: "password" } } }] }],
                    volumes: secretVol ? [{ name: "v", secret: { secretName: secretVol } }] : [],
                },
            },
        },
    };
}

describe("reconciler: workload restarts", function () {
    let ns: string;
    let rec: Running;
    const canaries: string[] = [];

    before(async () => {
        ns = await createNamespace();
    });
    after(async () => {
        await rec?.stop();
        if (rec) for (const c of canaries) assert.ok(!rec.text().includes(c));
        await deleteNamespaces([ns]);
    });

    const get = async (name: string) => (await admin()).request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);

    it("opt-in records a baseline without a rollout; a burst of rotations yields one rollout; metadata-only changes none", async () => {
        const k = await admin();
        const v0 = canaryValue();
        canaries.push(v0);
        await createSource(ns, "db-pw", { password: v0 });
        await createSource(ns, "other", { password: "x1" });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment("web", "auto", "db-pw") });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment("listed", "other", "db-pw", "other") });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: { ...deployment("not-opted", "", "db-pw"), metadata: { name: "not-opted" } } });
        rec = await startReconciler([ns], { debounceMs: 1000, restartMaxDelayMs: 3000 });

        const baseline = await eventually(async () => {
            const d = await get("web");
            return d.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? d : undefined;
        }, 10_000, "baseline recorded");
        assert.equal(baseline.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined, "no rollout on opt-in");
        const gen0 = baseline.metadata.generation;

        // metadata-only change: no restart.
        await mutateSecret(ns, "db-pw", (s) => (s.metadata.labels = { ...s.metadata.labels, touched: "yes" }));
        await new Promise((r) => setTimeout(r, 1800));
        assert.equal((await get("web")).metadata.generation, gen0, "metadata-only change never restarts");

        // a burst of 5 rotations inside the debounce window → one rollout.
        for (let i = 0; i < 5; i++) {
            const v = canaryValue();
            canaries.push(v);
            await mutateSecret(ns, "db-pw", (s) => (s.data.password = b64(v)));
            await new Promise((r) => setTimeout(r, 100));
        }
        const rolled = await eventually(async () => {
            const d = await get("web");
            return d.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? d : undefined;
        }, 10_000, "rollout");
        await new Promise((r) => setTimeout(r, 1500));
        const final = await get("web");
        assert.equal(final.metadata.generation, gen0 + 1, "exactly one rollout for the burst");
        assert.equal(final.spec.template.metadata.annotations[ANNOTATION_SECRETS_HASH], rolled.spec.template.metadata.annotations[ANNOTATION_SECRETS_HASH]);
        const restarts = auditLines(rec.lines).filter((a) => a.action === "restart" && a.object === `deployments:${ns}/web`);
        assert.equal(restarts.length, 1);
        // GitOps tools see who rolled it: the template annotation is owned by the reconciler's field manager.
        const owner = (final.metadata.managedFields as { manager: string; fieldsV1?: unknown }[]).find((m) => JSON.stringify(m.fieldsV1 ?? {}).includes(`"f:${ANNOTATION_SECRETS_HASH}"`) && JSON.stringify(m.fieldsV1).includes('"f:template"'));
        assert.equal(owner?.manager, FIELD_MANAGER, JSON.stringify(final.metadata.managedFields));

        // the named-list workload ignores db-pw but follows "other"; the non-opted one never changes.
        const listed = await get("listed");
        assert.equal(listed.spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined);
        await mutateSecret(ns, "other", (s) => (s.data.password = b64("x2")));
        await eventually(async () => ((await get("listed")).spec.template.metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? true : undefined), 10_000, "listed workload restarted");
        const not = await get("not-opted");
        assert.equal(not.metadata.generation, 1);
        assert.equal(not.metadata.annotations?.[ANNOTATION_SECRETS_HASH], undefined);
    });

    it("a source changing every 200 ms for 10 s: rollouts are bounded and come during the churn (max delay), the last value wins; restart-min-interval coalesces further", async () => {
        // Runs after the first test: the suite's reconciler (debounce 1 s, max delay 3 s) is running.
        const k = await admin();
        await createSource(ns, "churn", { password: b64("c0") });
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment("churn-a", "auto", "churn") });
        const b = deployment("churn-b", "auto", "churn");
        (b.metadata.annotations as Record<string, string>)[ANNOTATION_RESTART_MIN_INTERVAL] = "4s";
        await k.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, { body: b });
        for (const n of ["churn-a", "churn-b"]) await eventually(async () => ((await get(n)).metadata.annotations?.[ANNOTATION_SECRETS_HASH] ? true : undefined), 10_000, `${n} baseline`);
        const gen0 = { a: (await get("churn-a")).metadata.generation as number, b: (await get("churn-b")).metadata.generation as number };
        let rolledDuringChurn = false;
        let lastChangeAt = 0;
        for (let i = 1; i <= 50; i++) {
            await mutateSecret(ns, "churn", (s) => (s.data.password = b64(`c${i}`)));
            lastChangeAt = Date.now();
            if (i === 35) rolledDuringChurn = (await get("churn-a")).metadata.generation > gen0.a;
            await new Promise((r) => setTimeout(r, 200));
        }
        assert.ok(rolledDuringChurn, "a never-pausing source still rolls its consumers within the max delay (3 s), not only after it stops");
        // After the churn: the last change is rolled out (the last value wins), then nothing more.
        const settled = async (n: string) =>
            eventually(async () => {
                const d = await get(n);
                const at = Date.parse(d.metadata.annotations?.[ANNOTATION_RESTARTED_AT] ?? "");
                return at >= lastChangeAt - 50 ? d : undefined;
            }, 15_000, `${n} rolled after the last change`);
        const a = await settled("churn-a");
        const bb = await settled("churn-b");
        await new Promise((r) => setTimeout(r, 2500));
        const rollsA = (await get("churn-a")).metadata.generation - gen0.a;
        const rollsB = (await get("churn-b")).metadata.generation - gen0.b;
        assert.equal((await get("churn-a")).metadata.generation, a.metadata.generation, "nothing after the last value");
        assert.equal((await get("churn-b")).metadata.generation, bb.metadata.generation, "nothing after the last value");
        process.stderr.write(`[restarts] 50 changes in 10 s: ${rollsA} rollouts (debounce 1 s, max delay 3 s), ${rollsB} with restart-min-interval 4s\n`);
        assert.ok(rollsA >= 2 && rollsA <= 6, `50 changes in 10 s → ${rollsA} rollouts (debounce 1 s, max delay 3 s)`);
        assert.ok(rollsB >= 1 && rollsB <= 4 && rollsB <= rollsA, `with restart-min-interval 4s: ${rollsB} rollouts (without: ${rollsA})`);
        const restartsB = auditLines(rec.lines).filter((l) => l.action === "restart" && l.object === `deployments:${ns}/churn-b`);
        assert.equal(restartsB.length, rollsB);
    });
});

