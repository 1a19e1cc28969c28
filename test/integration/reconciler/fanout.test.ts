import assert from "node:assert/strict";
import { ANNOTATION_FAN_OUT } from "../../../derive";
import { canaryValue, randomName } from "../../support";
import { admin, auditLines, createSource, deleteNamespaces, eventually, getSecret, mutateSecret, Running, startReconciler, unb64, b64, writePolicy } from "./helpers";

describe("reconciler: selector-based mirrors follow namespace labels", function () {
    let rec: Running;
    const names = [randomName("mir-src"), randomName("mir-a"), randomName("mir-b"), randomName("mir-c")];
    const [srcNs, a, b, c] = names;
    const own = randomName("mir-own");
    const sel = `mirror-test-${randomName("t")}`;

    after(async () => {
        await rec?.stop();
        await deleteNamespaces([...names, own]);
    });

    it("fans out to matching namespaces, adds a copy when one starts matching and removes only our copy when one stops", async () => {
        const k = await admin();
        const mk = (name: string, labels: Record<string, string>) => k.request("POST", "/api/v1/namespaces", { body: { metadata: { name, labels } } });
        await mk(srcNs, {});
        await mk(a, { [sel]: "yes" });
        await mk(b, { [sel]: "yes" });
        await mk(c, {});
        await mk(own, {});
        // The administrator allows this source namespace to write into namespaces carrying the selector label
        // (the stack renders this policy ConfigMap into the reconciler's namespace).
        await writePolicy(own, { fanOut: [{ sourceNamespace: srcNs, namespaceSelector: `${sel}=yes` }], hooks: [] });
        const v = canaryValue();
        await createSource(srcNs, "registry", { ".dockerconfigjson": JSON.stringify({ auths: { "ghcr.io": { auth: b64(`u:${v}`) } } }) }, {
            type: "kubernetes.io/dockerconfigjson",
            annotations: { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaceSelector: `${sel}=yes` }]) },
        });
        // An unmanaged secret of the same name in c must survive everything.
        await k.request("POST", `/api/v1/namespaces/${c}/secrets`, { body: { metadata: { name: "registry" }, type: "Opaque", data: { x: b64("theirs") } } });

        rec = await startReconciler(names, { ownNamespace: own });
        for (const ns of [a, b]) await eventually(async () => (await getSecret(ns, "registry")) ?? undefined, 10_000, `copy in ${ns}`);
        assert.equal(unb64((await getSecret(c, "registry")).data.x), "theirs");

        // c starts matching: its secret is foreign, so it is left alone (an event says so).
        await k.request("PATCH", `/api/v1/namespaces/${c}`, { body: { metadata: { labels: { [sel]: "yes" } } }, contentType: "application/merge-patch+json" });
        // a stops matching: our copy goes.
        await k.request("PATCH", `/api/v1/namespaces/${a}`, { body: { metadata: { labels: { [sel]: null } } }, contentType: "application/merge-patch+json" });
        await eventually(async () => ((await getSecret(a, "registry")) === undefined ? true : undefined), 10_000, "copy removed from a");
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(unb64((await getSecret(c, "registry")).data.x), "theirs", "foreign secret untouched");
        assert.ok(await getSecret(b, "registry"));

        // a matches again → copy back; the source rotates → copies follow.
        await k.request("PATCH", `/api/v1/namespaces/${a}`, { body: { metadata: { labels: { [sel]: "yes" } } }, contentType: "application/merge-patch+json" });
        const v2 = canaryValue();
        await mutateSecret(srcNs, "registry", (s) => (s.data[".dockerconfigjson"] = b64(JSON.stringify({ auths: { "ghcr.io": { auth: b64(`u:${v2}`) } } }))));
        for (const ns of [a, b]) {
            await eventually(async () => (unb64((await getSecret(ns, "registry"))?.data?.[".dockerconfigjson"])?.includes(b64(`u:${v2}`)) ? true : undefined), 10_000, `rotated copy in ${ns}`);
        }
        // Seed 002: per-target status persists on the source (c holds a foreign secret: refused, not overwritten).
        const status = await eventually(async () => {
            const raw = (await getSecret(srcNs, "registry"))?.metadata.annotations?.["platform-secrets.io/fan-out-status"];
            const doc = raw ? JSON.parse(raw) : undefined;
            return doc?.counts["in-sync"] === 2 ? doc : undefined;
        }, 10_000, "fan-out status on the source");
        assert.deepEqual(status.counts, { "in-sync": 2, pending: 0, refused: 1, error: 0 });
        assert.equal(status.targets[0].target, `${c}/registry`);
        assert.match(status.targets[0].reason, /not created by platform-secrets/);

        // A sync request on the source rewrites every copy and is acknowledged on the source.
        const stamp = new Date().toISOString();
        await mutateSecret(srcNs, "registry", (s) => (s.metadata.annotations = { ...s.metadata.annotations, "platform-secrets.io/sync-requested-at": stamp }));
        await eventually(async () => ((await getSecret(srcNs, "registry"))?.metadata.annotations?.["platform-secrets.io/sync-handled-at"] === stamp ? true : undefined), 10_000, "source sync handled");
        const audits = auditLines(rec.lines);
        assert.ok(audits.some((x) => x.action === "write" && x.reason === "sync requested" && x.object === `${a}/registry`));
        assert.ok(audits.some((x) => x.action === "delete" && x.object === `${a}/registry`));
        assert.ok(!rec.text().includes(v) && !rec.text().includes(v2));
    });
});
