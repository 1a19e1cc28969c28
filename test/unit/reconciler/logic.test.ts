import assert from "node:assert/strict";
import fc from "fast-check";
import {
    contentHash,
    consumedSecrets,
    Debouncer,
    hookInputHash,
    hooksApplied,
    jobTemplateFrom,
    leaseDecision,
    microTime,
    nextLease,
    parseConfig,
    parseHooks,
    parseQueueKey,
    parseRestartOn,
    referencedSecrets,
    restartDecision,
    scrub,
    secretsHash,
    statusPatch,
    ConfigError,
    reconcilerRbacRules,
} from "../../../reconciler";

const podSpec = {
    containers: [
        { env: [{ name: "A", valueFrom: { secretKeyRef: { name: "s-env", key: "k" } } }, { name: "B", value: "x" }], envFrom: [{ secretRef: { name: "s-envfrom" } }, { configMapRef: { name: "cm" } }] },
    ],
    initContainers: [{ env: [{ name: "C", valueFrom: { secretKeyRef: { name: "s-init", key: "k" } } }] }],
    volumes: [{ name: "v", secret: { secretName: "s-vol" } }, { name: "p", projected: { sources: [{ secret: { name: "s-proj" } }, { configMap: { name: "cm2" } }] } }],
};

describe("reconciler/workloads", () => {
    it("finds secrets referenced by env, envFrom, init containers, volumes and projected volumes", () => {
        assert.deepEqual(referencedSecrets(podSpec), ["s-env", "s-envfrom", "s-init", "s-proj", "s-vol"]);
    });

    it("parses restart-on: auto, a list, off; rejects bad names", () => {
        assert.deepEqual(parseRestartOn("auto", "a/b"), { mode: "auto" });
        assert.deepEqual(parseRestartOn(" b, a ,a", "a/b"), { mode: "list", names: ["a", "b"] });
        assert.deepEqual(parseRestartOn(undefined, "a/b"), { mode: "off" });
        assert.throws(() => parseRestartOn("Bad_Name", "ns/web"), /ns\/web.*restart-on/);
        assert.deepEqual(consumedSecrets({ mode: "auto" }, podSpec).length, 5);
        assert.deepEqual(consumedSecrets({ mode: "off" }, podSpec), []);
    });

    it("content hash ignores metadata and changes with type or data", () => {
        const a = { metadata: { name: "x", annotations: { a: "1" } }, type: "Opaque", data: { k: "dg==" } };
        const b = { ...a, metadata: { name: "x", annotations: { a: "2" }, labels: { z: "1" } } };
        assert.equal(contentHash(a), contentHash(b));
        assert.notEqual(contentHash(a), contentHash({ ...a, data: { k: "dw==" } }));
        assert.notEqual(contentHash(a), contentHash({ ...a, type: "kubernetes.io/basic-auth" }));
        assert.equal(contentHash(undefined), "absent");
    });

    it("secretsHash is order-independent (property)", () => {
        fc.assert(
            fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 8 })), (m) => {
                const reversed = Object.fromEntries(Object.entries(m).reverse());
                return secretsHash(m) === secretsHash(reversed);
            }),
        );
    });

    it("restart decision: baseline without rollout first, restart only on a different hash", () => {
        assert.equal(restartDecision("h1", undefined, undefined), "record-baseline");
        assert.equal(restartDecision("h1", undefined, "h1"), "none");
        assert.equal(restartDecision("h2", undefined, "h1"), "restart");
        assert.equal(restartDecision("h2", "h2", "h1"), "none", "the template hash wins");
    });

    it("debounce: each touch pushes the due time out by the window", () => {
        const d = new Debouncer(2000);
        d.touch("w", 0);
        assert.equal(d.remaining("w", 1500), 500);
        d.touch("w", 1500);
        assert.equal(d.remaining("w", 2000), 1500);
        assert.equal(d.remaining("w", 3500), 0);
        assert.equal(d.remaining("other", 0), 0);
        assert.throws(() => new Debouncer(-1), /debounce/);
    });

    it("parses queue keys", () => {
        assert.deepEqual(parseQueueKey("ns/name"), { kind: "secret", namespace: "ns", name: "name" });
        assert.deepEqual(parseQueueKey("deployments:ns/web"), { kind: "deployments", namespace: "ns", name: "web" });
        assert.throws(() => parseQueueKey("pods:ns/x"), /unknown kind/);
        assert.throws(() => parseQueueKey("nope"), /invalid queue key/);
    });
});

describe("reconciler/lease", () => {
    it("creates, renews its own, waits for a live peer, acquires an expired or released lease", () => {
        assert.equal(leaseDecision(undefined, "me", 0, 0, 15_000), "create");
        assert.equal(leaseDecision({ holderIdentity: "me" }, "me", 0, 0, 15_000), "renew");
        assert.equal(leaseDecision({ holderIdentity: "peer" }, "me", 10_000, 0, 15_000), "wait");
        assert.equal(leaseDecision({ holderIdentity: "peer" }, "me", 15_000, 0, 15_000), "acquire");
        assert.equal(leaseDecision({ holderIdentity: "" }, "me", 0, 0, 15_000), "acquire");
    });

    it("counts transitions and writes MicroTime", () => {
        const l = nextLease({ holderIdentity: "peer", leaseTransitions: 2 }, "acquire", "me", 0, 15);
        assert.equal(l.leaseTransitions, 3);
        assert.equal(l.holderIdentity, "me");
        assert.equal(microTime(0), "1970-01-01T00:00:00.000000Z");
        assert.equal(nextLease(l, "renew", "me", 1000, 15).acquireTime, l.acquireTime);
    });
});

describe("reconciler/hooks (pure)", () => {
    const source = (pw: string, hooks: unknown) => ({
        metadata: { namespace: "db", name: "app-pw", annotations: { "platform-secrets.io/hooks": JSON.stringify(hooks) } },
        type: "Opaque",
        data: { password: Buffer.from(pw).toString("base64"), other: "eA==" },
    });

    it("parses postgres and job-rerun hooks and names the source on errors", () => {
        const s = source("p", [{ type: "postgres", host: "db", user: "app", vault: { path: "db/app" } }, { type: "job-rerun", job: "bootstrap" }]);
        const hooks = parseHooks(s.metadata.annotations, "db/app-pw");
        assert.equal(hooks.length, 2);
        assert.throws(() => parseHooks({ "platform-secrets.io/hooks": "{" }, "db/x"), /db\/x.*not valid JSON/);
        assert.throws(() => parseHooks({ "platform-secrets.io/hooks": '[{"type":"nope"}]' }, "db/x"), /unknown type/);
        assert.throws(() => parseHooks({ "platform-secrets.io/hooks": '[{"type":"postgres","host":"h"}]' }, "db/x"), /needs "user"/);
        assert.deepEqual(parseHooks(undefined, "db/x"), []);
    });

    it("a postgres hook follows only its password key; state says applied per hash", () => {
        const h = { type: "postgres" as const, host: "h", user: "u" };
        const a = source("one", []);
        const b = { ...a, data: { ...a.data, other: "eQ==" } };
        assert.equal(hookInputHash(a, h), hookInputHash(b, h));
        assert.notEqual(hookInputHash(a, h), hookInputHash(source("two", []), h));
        const state = { metadata: { annotations: { "platform-secrets.io/hook-0-applied": hookInputHash(a, h) } } };
        assert.equal(hooksApplied(a, [h], state), true);
        assert.equal(hooksApplied(source("two", []), [h], state), false);
        assert.equal(hooksApplied(a, [h], undefined), false);
    });

    it("a Job template drops controller-generated fields", () => {
        const job = {
            metadata: { name: "j", namespace: "n", uid: "u", resourceVersion: "5", labels: { app: "x", "controller-uid": "u", "batch.kubernetes.io/job-name": "j" }, annotations: { "batch.kubernetes.io/job-tracking": "" } },
            spec: { selector: { matchLabels: { "controller-uid": "u" } }, template: { metadata: { labels: { app: "x", "controller-uid": "u", "job-name": "j" } }, spec: { restartPolicy: "Never", containers: [] } } },
            status: { succeeded: 1 },
        };
        const t = jobTemplateFrom(job);
        assert.deepEqual(t.metadata, { name: "j", namespace: "n", labels: { app: "x" }, annotations: {} });
        assert.equal(t.spec.selector, undefined);
        assert.deepEqual(t.spec.template.metadata.labels, { app: "x" });
        assert.equal(t.status, undefined);
    });
});

describe("reconciler/status and config", () => {
    it("status patch only when status or message change (time ignored: no write loops)", () => {
        const now = new Date(0);
        const p = statusPatch(undefined, { status: "in-sync", message: "ok" }, now)!;
        assert.equal(p["platform-secrets.io/status"], "in-sync");
        assert.equal(statusPatch(p, { status: "in-sync", message: "ok" }, new Date(5000)), undefined);
        assert.ok(statusPatch(p, { status: "source-missing", message: "gone" }, now));
    });

    it("scrub removes values from driver messages", () => {
        assert.equal(scrub("bad near 'hunter22'", ["hunter22"]), "bad near '[redacted]'");
    });

    it("config: flags over env over defaults; errors name the option", () => {
        const c = parseConfig(["--namespaces=a,b", "--debounce-ms", "500", "--leader-election=false"], { RECONCILER_WORKERS: "8" });
        assert.deepEqual(c.namespaces, ["a", "b"]);
        assert.equal(c.debounceMs, 500);
        assert.equal(c.workers, 8);
        assert.equal(c.leaderElection, false);
        assert.throws(() => parseConfig(["--debounce-ms=soon", "--leader-election=false"], {}), (e: unknown) => e instanceof ConfigError && /--debounce-ms/.test((e as Error).message));
        assert.throws(() => parseConfig([], {}), /lease-namespace/);
        assert.throws(() => parseConfig(["--bogus"], {}), /unknown flag/);
        assert.equal(parseConfig([], { POD_NAMESPACE: "ps" }).leaseNamespace, "ps");
    });

    it("RBAC rules never grant wildcards, patch on secrets, or cluster-wide lease writes", () => {
        const r = reconcilerRbacRules();
        for (const rule of [...r.cluster, ...r.secrets, ...r.lease]) {
            assert.ok(!rule.verbs.includes("*") && !rule.resources.includes("*"));
        }
        assert.ok(!r.cluster.some((x) => x.resources.includes("secrets")));
        assert.ok(r.lease.every((x) => x.resources.join() === "leases"));
    });
});
