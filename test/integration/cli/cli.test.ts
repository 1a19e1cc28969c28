import assert from "node:assert/strict";
import { ANNOTATION_ALLOW_NAMESPACES, ANNOTATION_FAN_OUT } from "../../../derive";
import { ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE, ANNOTATION_SYNC_HANDLED, ANNOTATION_SYNC_REQUESTED } from "../../../reconciler/keys";
import { canaryValue, randomName } from "../../support";
import { admin, b64, bootstrapDerived, createNamespace, createSource, deleteNamespaces, eventually, getSecret, mutateSecret, Running, startReconciler, writePolicy } from "../reconciler/helpers";
import { adminKubeconfig, assertNoCanary, cli, createConsumer, EVENTS_READ, namespaceUserKubeconfig, Run, SECRETS_PATCH, SECRETS_READ, WORKLOADS_READ } from "./helpers";

/**
 * Issue 14 §1 against the real apiserver and a running reconciler: every command as the cluster admin and as a
 * person with rights in one namespace only (RBAC decides what each sees; a 403 is "not permitted", not a crash).
 */
describe("cli: platform-secrets commands against the real apiserver", function () {
    let A: string, B: string, C: string, own: string;
    let rec: Running;
    let tenantB: string; // secrets get/list/patch + workloads + events in B only
    let readerB: string; // secrets get/list in B only: no patch
    const canaries: string[] = [];
    const outputs: string[] = [];
    const run = async (kc: string, ...args: string[]): Promise<Run> => {
        const r = await cli(kc, ...args);
        outputs.push(r.out, r.err);
        return r;
    };
    const inState = (ns: string, name: string, state: string) =>
        eventually(async () => ((await getSecret(ns, name))?.metadata.annotations?.[ANNOTATION_STATUS] === state ? true : undefined), 15_000, `${ns}/${name} ${state}`);
    const gitUrls = '{"gitUrls":["https://github.com"]}';

    before(async () => {
        [A, B, C, own] = [await createNamespace({}, "cli-a"), await createNamespace({}, "cli-b"), await createNamespace({}, "cli-c"), await createNamespace({}, "cli-own")];
        await writePolicy(own, { fanOut: [{ sourceNamespace: A, namespaces: [B] }], hooks: [{ source: { namespace: A, name: "db" }, hooks: [{ type: "job-rerun", cronJob: "bootstrap" }] }] });
        const [pw1, pw2, pw3, pw4] = [canaryValue(), canaryValue(), canaryValue(), canaryValue()];
        canaries.push(pw1, pw2, pw3, pw4);
        await createSource(A, "git", { username: "u", password: pw1 }, { type: "kubernetes.io/basic-auth", annotations: { [ANNOTATION_ALLOW_NAMESPACES]: B, "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({ stringData: { password: pw1 } }) } });
        await bootstrapDerived({ format: "tekton-git", source: { namespace: A, name: "git" }, target: { namespace: A, name: "git-tekton" }, options: { gitUrls: ["https://github.com"] } });
        await bootstrapDerived({ format: "mirror", source: { namespace: A, name: "git" }, target: { namespace: B, name: "git-copy" } });
        await createSource(A, "private", { password: pw2 });
        await bootstrapDerived({ format: "mirror", source: { namespace: A, name: "private" }, target: { namespace: B, name: "private-copy" } });
        await createSource(A, "registry", { ".dockerconfigjson": JSON.stringify({ auths: { "ghcr.io": { auth: b64(`u:${pw3}`) } } }) }, {
            type: "kubernetes.io/dockerconfigjson",
            annotations: { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaces: [B, C] }]) },
        });
        await createSource(A, "db", { password: pw4 });
        await bootstrapDerived({ format: "mirror", source: { namespace: A, name: "db" }, target: { namespace: A, name: "db-copy" } });
        await createConsumer(A, "app", "git-tekton");
        rec = await startReconciler([A, B, C], { ownNamespace: own });
        await Promise.all([inState(A, "git-tekton", "in-sync"), inState(B, "git-copy", "in-sync"), inState(B, "private-copy", "refused"), inState(B, "registry", "in-sync"), inState(A, "db-copy", "in-sync")]);
        await eventually(async () => (JSON.parse((await getSecret(A, "registry"))?.metadata.annotations?.["platform-secrets.io/fan-out-status"] ?? "{}").counts?.refused === 1 ? true : undefined), 15_000, "fan-out status");
        tenantB = await namespaceUserKubeconfig(B, [SECRETS_PATCH, WORKLOADS_READ, EVENTS_READ]);
        readerB = await namespaceUserKubeconfig(B, [SECRETS_READ]);
    });

    after(async () => {
        await rec?.stop();
        assertNoCanary(outputs.join("\n"), canaries, "the CLI's output");
        await deleteNamespaces([A, B, C, own]);
    });

    it("status: grouped by source, the cluster's own states and reasons, exit 1 when anything is not in sync", async () => {
        const all = await run(adminKubeconfig(), "status", "--source", `${A}/git`, "-A", "-o", "json");
        assert.equal(all.code, 0, all.out + all.err);
        const doc = JSON.parse(all.out);
        assert.deepEqual(doc.groups.map((g: any) => g.source), [`${A}/git`]);
        assert.deepEqual(doc.groups[0].rows.map((r: any) => [r.target, r.kind, r.format, r.state]), [[`${A}/git-tekton`, "derived", "tekton-git", "in-sync"], [`${B}/git-copy`, "derived", "mirror", "in-sync"]]);

        const a = await run(adminKubeconfig(), "status", "-n", A, "-o", "json");
        assert.equal(a.code, 1, "the fan-out into C is refused");
        const rows = JSON.parse(a.out).groups.flatMap((g: any) => g.rows.map((r: any) => ({ ...r, group: g.source })));
        // Every derived secret of A, as the apiserver has it.
        const live = (await (await admin()).request("GET", `/api/v1/namespaces/${A}/secrets`, { query: { labelSelector: "platform-secrets.io/derived=true" } })).items;
        for (const s of live) {
            const row = rows.find((r: any) => r.target === `${A}/${s.metadata.name}`);
            assert.ok(row, `${s.metadata.name} listed`);
            assert.equal(row.state, s.metadata.annotations[ANNOTATION_STATUS]);
            assert.equal(row.message, s.metadata.annotations[ANNOTATION_STATUS_MESSAGE]);
        }
        const refused = rows.find((r: any) => r.target === `${C}/registry`);
        assert.deepEqual([refused.group, refused.kind, refused.state, refused.visible], [`${A}/registry`, "fan-out", "refused", false]);
        assert.match(refused.message, /not allowed by the administrator/);

        const table = await run(adminKubeconfig(), "status", "-n", B);
        assert.equal(table.code, 1);
        assert.match(table.out, new RegExp(`${B}/private-copy\\s+derived\\s+mirror\\s+refused`));
        assert.match(table.out, new RegExp(`↳ source ${A}/private does not grant namespace ${B}`));
        assert.match(table.out, /NOT everything is in sync/);
        assert.ok(!table.out.includes("\u001b["), "no colours when stdout is not a terminal");
    });

    it("a user with rights in one namespace sees it, gets 'not permitted' elsewhere, never a crash", async () => {
        const mine = await run(tenantB, "status"); // the kubeconfig context's namespace: B
        assert.equal(mine.code, 1, mine.out + mine.err);
        assert.match(mine.out, new RegExp(`${A}/git \\(not permitted to read\\)\\s+${B}/git-copy\\s+derived\\s+mirror\\s+in-sync`));
        assert.match(mine.out, new RegExp(`${B}/private-copy\\s+derived\\s+mirror\\s+refused`));
        assert.match(mine.out, new RegExp(`${B}/registry\\s+fan-out\\s+mirror\\s+in-sync`));

        const other = await run(tenantB, "status", "-n", A);
        assert.equal(other.code, 3);
        assert.match(other.out, new RegExp(`not permitted: secrets in namespace ${A}`));
        const everywhere = await run(tenantB, "status", "-A");
        assert.equal(everywhere.code, 3);
        assert.match(everywhere.out, /Nothing you may read in all namespaces\.\n\nall namespaces: 0 targets \(none\): nothing could be read\nnot permitted: secrets in all namespaces, and listing namespaces \(pass -n NAMESPACE for the ones you may read\)/);

        const x = await run(tenantB, "explain", `${B}/git-copy`);
        assert.equal(x.code, 0, x.out + x.err);
        assert.match(x.out, new RegExp(`source: ${A}/git \\(not permitted to read\\)`));
        assert.match(x.out, /hooks \(administrator policy.*\n {2}\(not shown: reading the administrator policy .* is not permitted for your credentials\)/);
        const notMine = await run(tenantB, "explain", `${A}/git-tekton`);
        assert.equal(notMine.code, 3);
        assert.match(notMine.err, new RegExp(`reading secret ${A}/git-tekton: not permitted \\(403\\) for your credentials`));

        const g = await run(tenantB, "graph");
        assert.equal(g.code, 0, g.err);
        assert.match(g.out, new RegExp(`source ${A}/git \\[not permitted to read\\]\n└─ ${B}/git-copy \\[in-sync\\]`));

        const synced = await run(tenantB, "sync", `${B}/git-copy`, "--timeout", "30s");
        assert.equal(synced.code, 0, synced.out + synced.err);
        assert.match(synced.out, new RegExp(`✓ ${B}/git-copy: sync handled after [0-9.]+ s; in-sync: in sync with source ${A}/git`));

        const denied = await run(readerB, "sync", `${B}/git-copy`);
        assert.equal(denied.code, 3);
        assert.match(denied.err, new RegExp(`not permitted: your credentials may not patch secret ${B}/git-copy.*RBAC "patch" on secrets in namespace ${B}`));
    });

    it("explain: recipe, source and grant, consumers, hooks, events and what to do next", async () => {
        const t = await run(adminKubeconfig(), "explain", `${A}/git-tekton`);
        assert.equal(t.code, 0, t.out + t.err);
        assert.match(t.out, /derived secret \(derived\)\nstatus: in-sync since /);
        assert.match(t.out, new RegExp(`recipe: format tekton-git, source ${A}/git, options \\{"gitUrls":\\["https://github.com"\\]\\}`));
        assert.match(t.out, /grant: same namespace: no grant needed/);
        assert.match(t.out, new RegExp(`consumers:\n  - deployment ${A}/app \\(restarted when the content changes\\)`));
        // A secret that was in sync from its first stamp has no Event (the first in-sync stamp is not news).
        assert.match(t.out, /last events:\n  (none|- \S+ (Normal|Warning) \w+: .+)\n/);
        assert.match(t.out, /next:\n  → Nothing to do/);

        assert.match((await run(adminKubeconfig(), "explain", `${B}/git-copy`)).out, new RegExp(`grant: granted: ${A}/git lists ${B} in platform-secrets.io/allow-namespaces`));
        const refused = await run(adminKubeconfig(), "explain", `${B}/private-copy`);
        assert.equal(refused.code, 1);
        assert.match(refused.out, new RegExp(`grant: NOT granted. Fix: annotate source ${A}/private with platform-secrets.io/allow-namespaces: "${B}"`));
        assert.match(refused.out, /last events:\n  - \S+ Warning Refused: /);
        assert.match((await run(adminKubeconfig(), "explain", `${A}/db-copy`, "--reconciler-namespace", own)).out, /hooks \(administrator policy for .*\/db\):\n {2}- job-rerun: a new Job from suspended CronJob bootstrap/);
        const src = await run(adminKubeconfig(), "explain", `${A}/registry`);
        assert.equal(src.code, 1);
        assert.match(src.out, new RegExp(`source secret\nfan-out: mirror → ${B}, ${C} as registry\nfan-out status: 1 in-sync, 0 pending, 1 refused, 0 error`));
        assert.match(src.out, new RegExp(`- ${C}/registry: refused — fan-out of ${A}/registry into namespace ${C} is not allowed`));
        assert.match(src.out, new RegExp(`derived from it:\n  - ${B}/registry \\[in-sync\\]`));
    });

    it("validate: the reconciler's messages, nothing written", async () => {
        const before = (await getSecret(A, "git")).metadata.resourceVersion;
        const ok = await run(adminKubeconfig(), "validate", "--format", "tekton-git", "--options", gitUrls, "--target", `${A}/git-tekton`, `${A}/git`);
        assert.equal(ok.code, 0, ok.out + ok.err);
        assert.match(ok.out, /valid; would write a kubernetes.io\/basic-auth secret with keys password, username/);
        const fan = await run(adminKubeconfig(), "validate", `${A}/registry`);
        assert.equal(fan.code, 0, fan.out);
        assert.match(fan.out, new RegExp(`^✓ ${A}/registry → ${B}/registry \\(mirror\\): valid; would write a kubernetes.io/dockerconfigjson secret with keys .dockerconfigjson\n$`), "one check per fan-out entry");

        await mutateSecret(A, "git", (s) => delete s.data.password);
        await inState(A, "git-tekton", "error");
        const status = (await getSecret(A, "git-tekton")).metadata.annotations[ANNOTATION_STATUS_MESSAGE];
        const bad = await run(adminKubeconfig(), "validate", "--format", "tekton-git", "--options", gitUrls, "--target", `${A}/git-tekton`, `${A}/git`);
        assert.equal(bad.code, 1);
        const message = bad.out.replace(/^✗ [^:]+: /, "").trim();
        assert.equal(`${message}; the last derived value is kept`, status, "same words as the reconciler's status");
        const derived = await run(adminKubeconfig(), "validate", `${A}/git-tekton`);
        assert.equal(derived.code, 1);
        assert.ok(derived.out.includes(message), "a derived secret is checked against its own recipe and source");
        assert.equal((await getSecret(A, "git")).metadata.resourceVersion !== before, true, "(the test's own edit)");
        const rv = (await getSecret(A, "git")).metadata.resourceVersion;
        await run(adminKubeconfig(), "validate", "--format", "mirror", `${A}/git`);
        assert.equal((await getSecret(A, "git")).metadata.resourceVersion, rv, "validate writes nothing");
        const pw = canaryValue();
        canaries.push(pw);
        await mutateSecret(A, "git", (s) => (s.data.password = b64(pw)));
        await inState(A, "git-tekton", "in-sync");
        assert.equal((await run(tenantB, "validate", `${B}/git-copy`)).code, 1, "its source in A is not readable for the tenant");
    });

    it("sync: a derived secret, a source (after all dependants), a refused secret times out with the reason", async () => {
        const d = await run(adminKubeconfig(), "sync", `${A}/git-tekton`);
        assert.equal(d.code, 0, d.out + d.err);
        const s = await getSecret(A, "git-tekton");
        assert.equal(s.metadata.annotations[ANNOTATION_SYNC_HANDLED], s.metadata.annotations[ANNOTATION_SYNC_REQUESTED]);
        const src = await run(adminKubeconfig(), "sync", `${A}/registry`);
        assert.equal(src.code, 1, "handled, but the fan-out into C stays refused");
        assert.match(src.out, new RegExp(`sync handled after .*not-in-sync: fan-out: 1 in-sync, 0 pending, 1 refused, 0 error; first: ${C}/registry refused`));
        const git = await run(adminKubeconfig(), "sync", `${A}/git`);
        assert.equal(git.code, 0, git.out);
        const stuck = await run(adminKubeconfig(), "sync", `${B}/private-copy`, "--timeout", "2s");
        assert.equal(stuck.code, 1);
        // Today the reconciler acknowledges only when it writes; with the proposed writes.ts change it also acknowledges a refusal.
        assert.match(stuck.out, /not acknowledged within 2 s; it is refused, which a sync cannot fix|sync handled after [0-9.]+ s; refused: /);
        assert.match((await run(adminKubeconfig(), "sync", `${A}/${randomName("nope")}`)).err, /not found/);
    });

    it("graph: sources → derived secrets → workloads, as text and DOT", async () => {
        const g = await run(adminKubeconfig(), "graph", "-n", A);
        assert.equal(g.code, 0, g.err);
        assert.match(g.out, new RegExp(`source ${A}/git\n└─ ${A}/git-tekton \\[in-sync\\]\n   └─ deployment ${A}/app`));
        assert.match(g.out, new RegExp(`source ${A}/registry\n├─ ${B}/registry \\[in-sync\\]\n└─ ${C}/registry \\[refused\\]`));
        const dot = await run(adminKubeconfig(), "graph", "-n", A, "--dot");
        assert.match(dot.out, new RegExp(`"secret:${A}/git-tekton" -> "deployments:${A}/app";`));
    });
});
