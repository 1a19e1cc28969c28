import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import {
    contentHash,
    consumedSecrets,
    Debouncer,
    minIntervalWait,
    parseMinInterval,
    HookDeps,
    HookError,
    hookStateName,
    hookSlot,
    migrateHookState,
    HookRunner,
    HookSpec,
    jobFromCronJob,
    jobTemplateFrom,
    leaseDecision,
    microTime,
    nextLease,
    parseConfig,
    parseHookList,
    parseQueueKey,
    POLICY_CONFIGMAP_NAME,
    parseRestartOn,
    referencedSecrets,
    restartDecision,
    scrub,
    secretsHash,
    statusPatch,
    ConfigError,
    reconcilerRbacRules,
    Secret,
} from "../../../reconciler";
import { KubeApiError, KubeClient } from "../../../lib/kube";
import { Fingerprinter } from "../../../reconciler/fingerprint";
import { WORKLOAD_KINDS } from "../../../reconciler/machinery/queue-keys";

const fpKey = (byte: number) => Buffer.alloc(32, byte);

const podSpec = {
    containers: [
        { env: [{ name: "A", valueFrom: { secretKeyRef: { name: "s-env", key: "k" } } }, { name: "B", value: "x" }], envFrom: [{ secretRef: { name: "s-envfrom" } }, { configMapRef: { name: "cm" } }] },
    ],
    initContainers: [{ env: [{ name: "C", valueFrom: { secretKeyRef: { name: "s-init", key: "k" } } }] }],
    volumes: [{ name: "v", secret: { secretName: "s-vol" } }, { name: "p", projected: { sources: [{ secret: { name: "s-proj" } }, { configMap: { name: "cm2" } }] } }],
};

/** The workload a hash is written on (part of the HMAC input). */
const W = { kind: "deployments" as const, namespace: "team-a", name: "web" };

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
                const fp = new Fingerprinter(fpKey(7));
                return secretsHash(m, fp, W) === secretsHash(reversed, fp, W);
            }),
        );
    });

    it("restart decision: baseline without rollout first, restart only on a different hash", () => {
        assert.equal(restartDecision("h1", undefined, undefined), "record-baseline");
        assert.equal(restartDecision("h1", undefined, "h1"), "none");
        assert.equal(restartDecision("h2", undefined, "h1"), "restart");
        assert.equal(restartDecision("h2", "h2", "h1"), "none", "the template hash wins");
    });

    it("restart decision: a hash made under another fingerprint key records a new baseline, never a rollout", () => {
        assert.equal(restartDecision("k2.aa", "k1.bb", undefined), "record-baseline", "old-key template ignored");
        assert.equal(restartDecision("k2.aa", "k1.bb", "k2.aa"), "none", "new-key baseline used");
        assert.equal(restartDecision("k2.cc", "k1.bb", "k2.aa"), "restart");
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

    it("debounce has an upper bound: a burst that never pauses is due at most maxDelay after its first touch", () => {
        const d = new Debouncer(1000, 3000);
        for (let t = 0; t <= 2800; t += 200) d.touch("w", t);
        assert.equal(d.remaining("w", 2800), 200, "due at 3000 (first touch + max delay), not 3800");
        d.clear("w");
        d.touch("w", 5000);
        assert.equal(d.remaining("w", 5000), 1000, "a new burst starts a new bound");
        assert.equal(new Debouncer(2000).maxDelayMs, 20_000);
        assert.throws(() => new Debouncer(5000, 1000), /max delay/);
        assert.equal(parseMinInterval("4s", "x"), 4000);
        assert.equal(parseMinInterval("5m", "x"), 300_000);
        assert.equal(parseMinInterval(undefined, "x"), undefined);
        assert.throws(() => parseMinInterval("25h", "ns/web"), /longer than 24h/);
        // A restarted-at in the future (forged, or a clock far off) does not park restarts; the wait never exceeds the interval.
        assert.equal(minIntervalWait(4000, 10_000, 11_000), 3000);
        assert.equal(minIntervalWait(4000, 10_000, 15_000), 0);
        assert.equal(minIntervalWait(4000, Date.parse("3000-01-01"), 11_000), 0);
        assert.equal(minIntervalWait(undefined, 10_000, 11_000), 0);
        fc.assert(fc.property(fc.integer({ min: 0, max: 86_400_000 }), fc.double({ min: -1e15, max: 1e15, noNaN: true }), fc.integer({ min: 0, max: 1e13 }), (min, at, now) => {
            const w = minIntervalWait(min, at, now);
            return w >= 0 && w <= min;
        }));
        assert.throws(() => parseMinInterval("soon", "ns/web"), /ns\/web: annotation platform-secrets.io\/restart-min-interval "soon" is not a duration/);
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
    const source = (pw: string, other = "eA=="): Secret => ({
        metadata: { namespace: "db", name: "app-pw" },
        type: "Opaque",
        data: { password: Buffer.from(pw).toString("base64"), other },
    });

    it("parseHookList validates postgres and job-rerun hooks and names the object on errors", () => {
        const hooks = parseHookList([{ type: "postgres", host: "db", user: "app", vault: { path: "db/app" } }, { type: "job-rerun", job: "bootstrap" }], "policy hooks[0].hooks");
        assert.deepEqual(hooks, [
            { type: "postgres", host: "db", user: "app", vault: { path: "db/app" } },
            { type: "job-rerun", job: "bootstrap" },
        ]);
        assert.deepEqual(parseHookList([{ type: "job-rerun", cronJob: "boot" }], "x"), [{ type: "job-rerun", cronJob: "boot" }]);
        assert.deepEqual(parseHookList([], "x"), []);
        assert.throws(() => parseHookList({ type: "postgres" }, "db/x"), /^Error: db\/x: is not an array; fix: use a JSON array/);
        assert.throws(() => parseHookList(undefined, "db/x"), /db\/x: is not an array/);
        assert.throws(() => parseHookList(["nope"], "db/x"), /db\/x: entry 0 is not an object/);
        assert.throws(() => parseHookList([{ type: "nope" }], "db/x"), /unknown type "nope"/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h" }], "db/x"), /db\/x: entry 0 \(postgres\) needs "user"/);
        assert.throws(() => parseHookList([{ type: "postgres", user: "u" }], "db/x"), /needs "host"/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "u", port: 70000 }], "db/x"), /invalid "port"/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "u", vault: {} }], "db/x"), /"vault" needs a "path"/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "u", tls: { mode: "prefer" } }], "db/x"), /tls.mode" must be one of disable, require, verify-full/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "u", tls: { mode: "verify-full" } }], "db/x"), /verify-full needs "tls.ca"/);
        assert.throws(() => parseHookList([{ type: "postgres", host: "h", user: "u", tls: { mode: "require", ca: "not a pem" } }], "db/x"), /PEM certificate/);
    });

    it("a job-rerun hook acts only in its source's namespace and needs a job or a CronJob", () => {
        assert.throws(() => parseHookList([{ type: "job-rerun", job: "j", namespace: "kube-system" }], "db/x"), /acts only in its source's namespace/);
        assert.throws(() => parseHookList([{ type: "job-rerun" }], "db/x"), /needs "job".*or "cronJob"/);
        assert.throws(() => parseHookList([{ type: "job-rerun", job: "Bad_Name" }], "db/x"), /"job" is not a Job name/);
        assert.throws(() => parseHookList([{ type: "job-rerun", cronJob: "../x" }], "db/x"), /"cronJob" is not a CronJob name/);
    });

    const runner = (fingerprint: Fingerprinter, state?: Secret, stateNamespace: string | null = "ps-system") => {
        const requests: string[] = [];
        const client = {
            async request(method: string, path: string) {
                requests.push(`${method} ${path}`);
                if (state === undefined) throw new KubeApiError(404, "NotFound", "not found");
                return state;
            },
        } as unknown as KubeClient;
        return { requests, runner: new HookRunner({ client, fingerprint, stateNamespace: stateNamespace ?? undefined } as unknown as HookDeps) };
    };

    it("a postgres hook's input fingerprint follows only its password key, is keyed, and never a plain hash", () => {
        const fp = new Fingerprinter(fpKey(1));
        const { runner: r } = runner(fp);
        const h: HookSpec = { type: "postgres", host: "h", user: "u" };
        assert.equal(r.inputFingerprint(source("one"), h), r.inputFingerprint(source("one", "eQ=="), h), "other keys do not count");
        assert.notEqual(r.inputFingerprint(source("one"), h), r.inputFingerprint(source("two"), h));
        const job: HookSpec = { type: "job-rerun", job: "j" };
        assert.notEqual(r.inputFingerprint(source("one"), job), r.inputFingerprint(source("one", "eQ=="), job), "a job re-runs on any content change");
        const { runner: other } = runner(new Fingerprinter(fpKey(2)));
        assert.notEqual(other.inputFingerprint(source("one"), h), r.inputFingerprint(source("one"), h), "keyed: another key, another fingerprint");
        const b64 = source("one").data!.password;
        for (const plain of [b64, `pg:${b64}`, "one"]) assert.ok(!createHash("sha256").update(plain).digest("hex").startsWith(r.inputFingerprint(source("one"), h)));
    });

    it("applied() reads the state secret from the reconciler's own namespace and refuses forged state", async () => {
        const fp = new Fingerprinter(fpKey(3));
        const h: HookSpec = { type: "postgres", host: "h", user: "u" };
        const probe = runner(fp).runner;
        const state = (annotations: Record<string, string>, labels: Record<string, string> = { "app.kubernetes.io/managed-by": "platform-secrets" }): Secret => ({
            metadata: { namespace: "ps-system", name: hookStateName("db/app-pw"), labels, annotations },
        });
        const good = state({ "platform-secrets.io/hook-source": "db/app-pw", "platform-secrets.io/hook-0-applied": probe.inputFingerprint(source("one"), h) });
        const r = runner(fp, good);
        assert.equal(await r.runner.applied(source("one"), [h]), true);
        assert.equal(await r.runner.applied(source("two"), [h]), false);
        assert.deepEqual(r.requests, [`GET /api/v1/namespaces/ps-system/secrets/${hookStateName("db/app-pw")}`, `GET /api/v1/namespaces/ps-system/secrets/${hookStateName("db/app-pw")}`]);
        assert.equal(await runner(fp, undefined).runner.applied(source("one"), [h]), false, "no state: not applied");
        const forgedOwner = state({ "platform-secrets.io/hook-source": "db/app-pw", "platform-secrets.io/hook-0-applied": probe.inputFingerprint(source("one"), h) }, {});
        await assert.rejects(runner(fp, forgedOwner).runner.applied(source("one"), [h]), (e: unknown) => e instanceof HookError && /not ours for db\/app-pw/.test((e as Error).message));
        const otherSource = state({ "platform-secrets.io/hook-source": "tenant/x", "platform-secrets.io/hook-0-applied": probe.inputFingerprint(source("one"), h) });
        await assert.rejects(runner(fp, otherSource).runner.applied(source("one"), [h]), HookError);
        await assert.rejects(runner(fp, good, null).runner.applied(source("one"), [h]), /own namespace/);
    });

    it("hook state is keyed by the hook's identity: reordering the policy's hooks keeps each one's state; positions migrate", async () => {
        const fp = new Fingerprinter(fpKey(4));
        const a: HookSpec = { type: "postgres", host: "db", user: "app" };
        const b: HookSpec = { type: "job-rerun", job: "bootstrap" };
        assert.notEqual(hookSlot(a), hookSlot(b));
        assert.notEqual(hookSlot(a), hookSlot({ ...a, user: "other" }));
        assert.equal(hookSlot(a), hookSlot({ ...a, port: 5432 }), "defaults are part of the identity, not its spelling");
        assert.match(hookSlot(a), /^h[0-9a-f]{12}$/);
        const probe = runner(fp).runner;
        const ann = { "platform-secrets.io/hook-source": "db/app-pw", [`platform-secrets.io/hook-${hookSlot(a)}-applied`]: probe.inputFingerprint(source("one"), a), [`platform-secrets.io/hook-${hookSlot(b)}-applied`]: probe.inputFingerprint(source("one"), b) };
        const st: Secret = { metadata: { namespace: "ps-system", name: hookStateName("db/app-pw"), labels: { "app.kubernetes.io/managed-by": "platform-secrets" }, annotations: ann } };
        assert.equal(await runner(fp, st).runner.applied(source("one"), [a, b]), true);
        assert.equal(await runner(fp, st).runner.applied(source("one"), [b, a]), true, "reordered: still applied");
        // State of an earlier version, keyed by position, moves to the slots (in place; the next save writes it).
        const legacyAnn: Record<string, string> = { "platform-secrets.io/hook-0-applied": "fp-a", "platform-secrets.io/hook-1-applied": "fp-b" };
        const legacyData: Record<string, string> = { "pg-0-last": "bGFzdA==", "job-1-template": "e30=" };
        assert.equal(migrateHookState([a, b], legacyAnn, legacyData), true);
        assert.deepEqual(legacyAnn, { [`platform-secrets.io/hook-${hookSlot(a)}-applied`]: "fp-a", [`platform-secrets.io/hook-${hookSlot(b)}-applied`]: "fp-b" });
        assert.deepEqual(legacyData, { [`pg-${hookSlot(a)}-last`]: "bGFzdA==", [`job-${hookSlot(b)}-template`]: "e30=" });
        assert.equal(migrateHookState([a, b], legacyAnn, legacyData), false, "nothing left to move");
    });

    it("hook state names are a hash of the source key (reveal nothing, fit any ns/name)", () => {
        const n = hookStateName(`${"a".repeat(63)}/${"b".repeat(253)}`);
        assert.match(n, /^hook-state-[0-9a-f]{24}$/);
        assert.notEqual(hookStateName("db/a"), hookStateName("db/b"));
        assert.ok(!hookStateName("db/app-pw").includes("app-pw"));
    });

    it("a Job from a CronJob is what kubectl create job --from=cronjob would make", () => {
        const job = jobFromCronJob({ metadata: { name: "boot", namespace: "db", uid: "u1" }, spec: { jobTemplate: { metadata: { labels: { app: "b" } }, spec: { template: { spec: { restartPolicy: "Never" } } } } } }, "boot-abc");
        assert.deepEqual(job.metadata, { name: "boot-abc", namespace: "db", labels: { app: "b" }, annotations: { "cronjob.kubernetes.io/instantiate": "manual" } });
        assert.deepEqual(job.spec, { template: { spec: { restartPolicy: "Never" } } });
    });

    it("a Job template drops controller-generated fields", () => {
        const job = {
            metadata: { name: "j", namespace: "n", uid: "u", resourceVersion: "5", labels: { app: "x", "controller-uid": "u", "batch.kubernetes.io/job-name": "j" }, annotations: { "batch.kubernetes.io/job-tracking": "" } },
            spec: { selector: { matchLabels: { "controller-uid": "u" } }, template: { metadata: { labels: { app: "x", "controller-uid": "u", "job-name": "j" } }, spec: { restartPolicy: "Never", containers: [] } } },
            status: { succeeded: 1 },
        };
        const t = jobTemplateFrom(job);
        assert.deepEqual(t.metadata, { name: "j", namespace: "n", labels: { app: "x" }, annotations: {} });
        assert.equal(t.spec!.selector, undefined);
        assert.deepEqual(t.spec!.template!.metadata!.labels, { app: "x" });
        assert.equal((t as Record<string, unknown>).status, undefined);
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

    it("scrub: a value of under 4 characters withholds the whole message when it occurs, never lets it through (property)", () => {
        assert.equal(scrub("role app: password 'x9' rejected", ["x9"]).includes("x9"), false);
        assert.equal(scrub("connection refused", ["x9"]), "connection refused", "a message without the value is kept");
        fc.assert(
            fc.property(fc.stringMatching(/^[A-Za-z0-9]{1,12}$/), fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }), (secret, parts) => {
                const out = scrub(parts.join(secret) + secret, [secret]);
                // The markers themselves may contain a short value ("act" in "[redacted]"): not a leak.
                fc.pre(!["[redacted]", scrub("x", ["x"])].some((m) => m.includes(secret)));
                assert.ok(!out.includes(secret), `${JSON.stringify(secret)} survived in ${JSON.stringify(out)}`);
            }),
            { numRuns: 500 },
        );
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

    it("config: new flags (own namespace, policy, resync, delete grace, Vault auth) with their defaults", () => {
        const d = parseConfig(["--leader-election=false"], {});
        assert.equal(d.policyName, POLICY_CONFIGMAP_NAME, "default policy ConfigMap is the one the stack renders");
        assert.equal(d.resyncMs, 600_000, "periodic resync default <= 10 min");
        assert.equal(d.deleteGraceMs, 30_000);
        assert.equal(d.ownNamespace, undefined);
        assert.equal(d.vaultAuth, undefined);
        assert.equal(parseConfig([], { POD_NAMESPACE: "ps" }).ownNamespace, "ps", "own namespace defaults to the lease namespace");
        const c = parseConfig(
            ["--own-namespace=own", "--policy", "my-policy", "--resync-ms=1000", "--delete-grace-ms", "0", "--vault-addr=http://127.0.0.1:8200", "--vault-auth=kubernetes", "--vault-role", "ps", "--vault-auth-mount=k8s", "--vault-jwt-file=/t"],
            { POD_NAMESPACE: "lease-ns" },
        );
        assert.equal(c.ownNamespace, "own");
        assert.equal(c.leaseNamespace, "lease-ns");
        assert.equal(c.policyName, "my-policy");
        assert.equal(c.resyncMs, 1000);
        assert.equal(c.deleteGraceMs, 0);
        assert.equal(c.vaultAuth, "kubernetes");
        assert.equal(c.vaultRole, "ps");
        assert.equal(c.vaultAuthMount, "k8s");
        assert.equal(c.vaultJwtFile, "/t");
        const t = parseConfig(["--leader-election=false"], { VAULT_ADDR: "http://v", VAULT_AUTH_METHOD: "token-file", VAULT_TOKEN_FILE: "/run/token", RECONCILER_RESYNC_MS: "5", RECONCILER_OWN_NAMESPACE: "o" });
        assert.equal(t.vaultTokenFile, "/run/token");
        assert.equal(t.resyncMs, 5);
        assert.equal(t.ownNamespace, "o");
        assert.throws(() => parseConfig(["--leader-election=false", "--resync-ms=-1"], {}), /--resync-ms/);
        assert.throws(() => parseConfig(["--leader-election=false", "--own-namespace=Not_A_Ns"], {}), /--own-namespace/);
    });

    it("config: Vault needs an auth method and never takes a token on the command line", () => {
        for (const argv of [["--vault-token", "s.SECRETTOKEN"], ["--vault-token=s.SECRETTOKEN"]]) {
            assert.throws(
                () => parseConfig([...argv, "--leader-election=false"], {}),
                (e: unknown) => e instanceof ConfigError && /--vault-token/.test((e as Error).message) && /--vault-token-file/.test((e as Error).message) && /--vault-auth=kubernetes/.test((e as Error).message) && !(e as Error).message.includes("SECRETTOKEN"),
            );
        }
        const base = ["--leader-election=false", "--vault-addr=http://v"];
        assert.throws(() => parseConfig(base, {}), (e: unknown) => e instanceof ConfigError && /--vault-auth/.test((e as Error).message));
        assert.throws(() => parseConfig([...base, "--vault-auth=kubernetes"], {}), /needs --vault-role/);
        assert.throws(() => parseConfig([...base, "--vault-auth=token-file"], {}), /needs --vault-token-file/);
        assert.throws(() => parseConfig([...base, "--vault-auth=token"], {}), /must be kubernetes or token-file/);
        assert.doesNotThrow(() => parseConfig(["--leader-election=false", "--vault-auth=kubernetes"], {}), "auth without an address: Vault unused, nothing to check");
    });

    it("RBAC rules never grant wildcards, secrets cluster-wide reads only via the secrets role, lease/configmap access only in the own namespace", () => {
        const r = reconcilerRbacRules();
        assert.deepEqual(Object.keys(r).sort(), ["cluster", "own", "secrets"]);
        for (const rule of [...r.cluster, ...r.secrets, ...r.own]) {
            assert.ok(!rule.verbs.includes("*") && !rule.resources.includes("*") && !rule.apiGroups.includes("*"), JSON.stringify(rule));
        }
        assert.ok(!r.cluster.some((x) => x.resources.includes("secrets")), "no secret access in the cluster role");
        for (const scoped of [r.cluster, r.secrets]) {
            assert.ok(!scoped.some((x) => x.resources.includes("leases")), "no lease access outside the own namespace");
            assert.ok(!scoped.some((x) => x.resources.includes("configmaps")), "no configmap access outside the own namespace");
        }
        const ownResources = r.own.flatMap((x) => x.resources);
        assert.ok(ownResources.includes("leases") && ownResources.includes("configmaps"));
        assert.ok(ownResources.every((x) => ["leases", "configmaps", "secrets"].includes(x)), `own-namespace rules: ${ownResources.join()}`);
        assert.ok(!r.own.find((x) => x.resources.includes("configmaps"))!.verbs.some((v) => ["create", "update", "patch", "delete"].includes(v)), "the policy ConfigMap is read-only for the reconciler");
        assert.ok(!r.secrets.some((x) => x.resources.includes("jobs") && x.verbs.includes("list")));
    });
});

describe("reconciler/fingerprint", () => {
    it("HMAC: stable per key, different per key, never the plain sha256 of the input", () => {
        const a = new Fingerprinter(fpKey(1));
        const a2 = new Fingerprinter(fpKey(1));
        const b = new Fingerprinter(fpKey(2));
        fc.assert(
            fc.property(fc.string(), (v) => {
                const fa = a.of(v);
                assert.match(fa, /^[0-9a-f]{32}$/);
                assert.equal(fa, a.of(v), "stable");
                assert.equal(fa, a2.of(v), "same key, same fingerprint");
                assert.notEqual(fa, b.of(v), "another key, another fingerprint");
                assert.ok(!createHash("sha256").update(v).digest("hex").startsWith(fa), "not a plain sha256");
            }),
        );
    });

    it("objects are canonicalised (key order does not matter); short keys are refused; ephemeral keys differ", () => {
        const f = new Fingerprinter(fpKey(9));
        assert.equal(f.of({ a: 1, b: [2, { c: 3, d: 4 }] }), f.of({ b: [2, { d: 4, c: 3 }], a: 1 }));
        assert.notEqual(f.of({ a: 1 }), f.of({ a: 2 }));
        assert.throws(() => new Fingerprinter(Buffer.alloc(16)), /at least 32 bytes/);
        assert.notEqual(Fingerprinter.ephemeral().of("x"), Fingerprinter.ephemeral().of("x"));
    });

    it("secretsHash is keyed (the view role can read it on workloads)", () => {
        const contents = { "app-pw": contentHash({ type: "Opaque", data: { password: "aHVudGVyMg==" } }) };
        const h1 = secretsHash(contents, new Fingerprinter(fpKey(1)), W);
        assert.notEqual(h1, secretsHash(contents, new Fingerprinter(fpKey(2)), W));
        assert.equal(h1, secretsHash({ ...contents }, new Fingerprinter(fpKey(1)), W));
        assert.notEqual(h1, createHash("sha256").update(JSON.stringify(contents)).digest("hex").slice(0, 32));
    });

    it("secretsHash is no cross-namespace oracle: the same content gives another value on every other workload (property)", () => {
        const fp = new Fingerprinter(fpKey(3));
        const ref = fc.record({ kind: fc.constantFrom(...WORKLOAD_KINDS), namespace: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), name: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/) });
        fc.assert(
            fc.property(ref, ref, fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 8 })), (a, b, m) => {
                const same = a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
                return (secretsHash(m, fp, a) === secretsHash(m, fp, b)) === same;
            }),
        );
    });

    it("upgrading from unscoped hashes records new baselines instead of rolling every workload", () => {
        const fp = new Fingerprinter(fpKey(4));
        const current = secretsHash({ "app-pw": "Opaque:abc" }, fp, W);
        const oldFormat = `${fp.keyId}.${fp.of('{"app-pw":"Opaque:abc"}')}`;
        assert.equal(restartDecision(current, oldFormat, undefined), "record-baseline");
        assert.equal(restartDecision(current, oldFormat, current), "none");
        assert.equal(restartDecision(current, current, undefined), "none");
    });
});
