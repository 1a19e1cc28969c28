import assert from "node:assert/strict";
import fc from "fast-check";
import {
    ANNOTATION_ALLOW_NAMESPACE_SELECTOR,
    ANNOTATION_ALLOW_NAMESPACES,
    ANNOTATION_FAN_OUT,
    DerivationError,
    deriveSecret,
    Recipe,
    validateRecipe,
} from "../../../derive";
import { Secret, SecretMeta, SlimNamespace, slimNamespace, slimSecret } from "../../../reconciler/model";
import { EMPTY_POLICY, parsePolicy, ReconcilerPolicy } from "../../../reconciler/trust/policy";
import { authorizeDerivation, FanOutPlan, planFanOut } from "../../../reconciler/trust/trust";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const PASSWORD = "hunter2-VICTIM-VALUE";

function source(ns: string, name: string, annotations: Record<string, string> = {}): Secret {
    return {
        metadata: { namespace: ns, name, resourceVersion: "7", uid: `uid-${ns}-${name}`, annotations },
        type: "kubernetes.io/basic-auth",
        data: { username: b64("alice"), password: b64(PASSWORD) },
    };
}

function namespaces(spec: Record<string, Record<string, string>>): Map<string, SlimNamespace> {
    return new Map(Object.entries(spec).map(([name, labels]) => [name, slimNamespace({ metadata: { name, labels: { "kubernetes.io/metadata.name": name, ...labels } } })]));
}

const policyOf = (doc: unknown): ReconcilerPolicy => parsePolicy(JSON.stringify(doc), "ConfigMap ps/policy");
const everywhere = () => true;

/** The cached form of a derived secret made by `recipe` from `src` (what the informer holds). */
function derivedMeta(src: Secret, recipe: Recipe): SecretMeta {
    return slimSecret({ ...deriveSecret(src, recipe), metadata: { ...deriveSecret(src, recipe).metadata, resourceVersion: "1", uid: "d-uid" } });
}

const mirror = (src: { namespace: string; name: string }, target: { namespace: string; name: string }): Recipe => validateRecipe({ format: "mirror", source: src, target, options: {} });
const docker = (src: { namespace: string; name: string }, target: { namespace: string; name: string }, registry: string): Recipe =>
    validateRecipe({ format: "docker", source: src, target, options: { registry } });

describe("reconciler/trust: planFanOut", () => {
    const nss = namespaces({ platform: {}, "team-a": { team: "a" }, "team-b": { team: "b" }, "team-a2": { team: "a" }, listed: {}, "out-of-scope": { team: "a" }, victim: {} });
    const policy = policyOf({ fanOut: [{ sourceNamespace: "platform", namespaces: ["listed", "out-of-scope", "team-a"], namespaceSelector: "team=b" }] });
    const inScope = (ns: string) => ns !== "out-of-scope";

    it("expands selectors and lists to existing in-scope namespaces, split by the administrator's grants", () => {
        const src = source("platform", "creds", {
            [ANNOTATION_FAN_OUT]: JSON.stringify([
                { format: "mirror", namespaceSelector: "team in (a,b)" },
                { format: "mirror", namespaces: ["listed", "missing-ns", "out-of-scope", "victim"], targetName: "copy" },
            ]),
        });
        const plan = planFanOut(src, nss, policy, inScope);
        assert.deepEqual([...plan.allowed.keys()].sort(), ["listed/copy", "team-a/creds", "team-b/creds"]);
        assert.deepEqual(plan.allowed.get("team-a/creds"), mirror({ namespace: "platform", name: "creds" }, { namespace: "team-a", name: "creds" }));
        assert.deepEqual([...plan.refused.keys()].sort(), ["team-a2/creds", "victim/copy"], "refused per target; out-of-scope and non-existent namespaces are skipped");
        for (const [target, msg] of plan.refused) {
            const ns = target.split("/")[0];
            assert.match(msg, new RegExp(`fan-out of platform/creds into namespace ${ns} is not allowed by the administrator`));
            assert.match(msg, /fix: add \{"sourceNamespace":"platform","namespaces":\[".*"\]\} to the reconciler policy's fanOut/);
            assert.ok(!msg.includes(PASSWORD) && !msg.includes(b64(PASSWORD)));
        }
    });

    it("with the empty policy a source fans out only inside its own namespace", () => {
        const src = source("platform", "creds", { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaces: ["platform", "team-a", "kube-system"], targetName: "copy" }]) });
        const plan = planFanOut(src, namespaces({ platform: {}, "team-a": {}, "kube-system": {} }), EMPTY_POLICY, everywhere);
        assert.deepEqual([...plan.allowed.keys()], ["platform/copy"]);
        assert.deepEqual([...plan.refused.keys()].sort(), ["kube-system/copy", "team-a/copy"]);
    });

    it("a mirror onto the source itself is not a target; no annotation means an empty plan", () => {
        const src = source("platform", "creds", { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaces: ["platform"] }]) });
        const plan = planFanOut(src, nss, policy, everywhere);
        assert.equal(plan.allowed.size, 0);
        assert.equal(plan.refused.size, 0);
        const none = planFanOut(source("platform", "plain"), nss, policy, everywhere);
        assert.equal(none.allowed.size + none.refused.size, 0);
    });

    it("a malformed fan-out annotation throws a DerivationError naming the source (nothing is planned, nothing pruned)", () => {
        for (const raw of ["{", '{"format":"mirror"}', '[{"format":"nope","namespaces":["a"]}]', '[{"format":"mirror"}]', '[{"format":"mirror","namespaceSelector":"a in ("}]']) {
            assert.throws(
                () => planFanOut(source("platform", "creds", { [ANNOTATION_FAN_OUT]: raw }), nss, policy, everywhere),
                (e: unknown) => e instanceof DerivationError && e.object === "platform/creds" && e.key === `annotations.${ANNOTATION_FAN_OUT}`,
            );
        }
    });
});

describe("reconciler/trust: authorizeDerivation", () => {
    const nss = namespaces({ src: {}, tenant: {}, "team-a": { team: "a" }, "team-b": { team: "b" } });
    const SRC = { namespace: "src", name: "creds" };

    it("same namespace needs no grant", () => {
        const src = source("src", "creds");
        const r = mirror(SRC, { namespace: "src", name: "copy" });
        assert.deepEqual(authorizeDerivation(derivedMeta(src, r), r, src, nss, undefined), { allowed: true, via: "same-namespace" });
        assert.deepEqual(authorizeDerivation(derivedMeta(src, r), r, null, nss, undefined), { allowed: true, via: "same-namespace" });
    });

    it("cross namespace without a grant is refused with a message naming source, namespace and fix, and no data", () => {
        const src = source("src", "creds");
        const r = mirror(SRC, { namespace: "tenant", name: "stolen" });
        const d = authorizeDerivation(derivedMeta(src, r), r, src, nss, undefined);
        assert.equal(d.allowed, false);
        if (d.allowed) return;
        assert.equal(d.reason, "no-grant");
        assert.match(d.message, /source src\/creds does not grant namespace tenant/);
        assert.match(d.message, /no data was copied/);
        assert.match(d.message, /Fix: annotate source src\/creds with platform-secrets\.io\/allow-namespaces: "tenant"/);
        const text = JSON.stringify(d);
        assert.ok(!text.includes(PASSWORD) && !text.includes(b64(PASSWORD)) && !text.includes(src.data!.username), "the decision carries no value");
        assert.deepEqual(Object.keys(d).sort(), ["allowed", "message", "reason"]);
    });

    it("an allow-namespaces grant admits the listed namespace only, from the live source or its cached form", () => {
        const src = source("src", "creds", { [ANNOTATION_ALLOW_NAMESPACES]: "team-b, tenant" });
        const r = mirror(SRC, { namespace: "tenant", name: "granted" });
        for (const s of [src, slimSecret(src)]) assert.deepEqual(authorizeDerivation(derivedMeta(src, r), r, s, nss, undefined), { allowed: true, via: "grant" });
        const other = mirror(SRC, { namespace: "team-a", name: "x" });
        assert.equal(authorizeDerivation(derivedMeta(src, other), other, src, nss, undefined).allowed, false);
        const star = source("src", "creds", { [ANNOTATION_ALLOW_NAMESPACES]: "*" });
        assert.equal(authorizeDerivation(derivedMeta(star, r), r, star, nss, undefined).allowed, false, '"*" is not a wildcard');
    });

    it("a selector grant matches the target namespace's labels (from the namespace cache, not the secret)", () => {
        const src = source("src", "creds", { [ANNOTATION_ALLOW_NAMESPACE_SELECTOR]: "team=a" });
        const ok = mirror(SRC, { namespace: "team-a", name: "x" });
        assert.deepEqual(authorizeDerivation(derivedMeta(src, ok), ok, src, nss, undefined), { allowed: true, via: "grant" });
        const no = mirror(SRC, { namespace: "team-b", name: "x" });
        assert.equal(authorizeDerivation(derivedMeta(src, no), no, src, nss, undefined).allowed, false);
        const unknownNs = mirror(SRC, { namespace: "not-cached", name: "x" });
        assert.equal(authorizeDerivation(derivedMeta(src, unknownNs), unknownNs, src, nss, undefined).allowed, false, "a namespace not in the cache has no labels");
        const labelledSecret = derivedMeta(src, no);
        labelledSecret.metadata.labels = { ...labelledSecret.metadata.labels, team: "a" };
        assert.equal(authorizeDerivation(labelledSecret, no, src, nss, undefined).allowed, false, "labels on the derived secret itself grant nothing");
    });

    it("a fan-out target is allowed only when its recipe (format, options, source) equals the plan's", () => {
        const policy = policyOf({ fanOut: [{ sourceNamespace: "src", namespaces: ["team-a"] }] });
        const src = source("src", "creds", { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "docker", namespaces: ["team-a", "tenant"], targetName: "pull", options: { registry: "ghcr.io" } }]) });
        const plan: FanOutPlan = planFanOut(src, nss, policy, everywhere);
        assert.deepEqual([...plan.allowed.keys()], ["team-a/pull"]);
        const good = docker(SRC, { namespace: "team-a", name: "pull" }, "ghcr.io");
        assert.deepEqual(authorizeDerivation(derivedMeta(src, good), good, src, nss, plan), { allowed: true, via: "fan-out" });
        // Forged copies at the planned target: another format, other options, another target name.
        const asMirror = mirror(SRC, { namespace: "team-a", name: "pull" });
        assert.equal(authorizeDerivation(derivedMeta(src, asMirror), asMirror, src, nss, plan).allowed, false, "other format");
        const otherRegistry = docker(SRC, { namespace: "team-a", name: "pull" }, "evil.example.com");
        assert.equal(authorizeDerivation(derivedMeta(src, otherRegistry), otherRegistry, src, nss, plan).allowed, false, "other options");
        const otherName = docker(SRC, { namespace: "team-a", name: "pull2" }, "ghcr.io");
        assert.equal(authorizeDerivation(derivedMeta(src, otherName), otherName, src, nss, plan).allowed, false, "not a planned target");
        const refusedNs = docker(SRC, { namespace: "tenant", name: "pull" }, "ghcr.io");
        assert.equal(authorizeDerivation(derivedMeta(src, refusedNs), refusedNs, src, nss, plan).allowed, false, "a target the administrator refused");
        // A plan of another source does not authorize this one.
        const src2 = source("src", "other");
        const fromOther = docker({ namespace: "src", name: "other" }, { namespace: "team-a", name: "pull" }, "ghcr.io");
        assert.equal(authorizeDerivation(derivedMeta(src2, fromOther), fromOther, src2, nss, plan).allowed, false, "other source");
    });

    it("an absent cross-namespace source is refused exactly like one that exists without a grant (existence is not revealed)", () => {
        const src = source("src", "creds");
        const r = mirror(SRC, { namespace: "tenant", name: "probe" });
        const meta = derivedMeta(src, r);
        const absent = authorizeDerivation(meta, r, null, nss, undefined);
        const present = authorizeDerivation(meta, r, src, nss, undefined);
        assert.equal(absent.allowed, false);
        assert.deepEqual(absent, present);
        const missing = mirror({ namespace: "src", name: "does-not-exist" }, { namespace: "tenant", name: "probe" });
        const m = authorizeDerivation(meta, missing, null, nss, undefined);
        assert.ok(!m.allowed && !present.allowed);
        assert.equal(m.message, present.message.split("src/creds").join("src/does-not-exist"), "same wording whether or not the source exists");
    });

    it("a derived secret in X naming a source in Y != X without a grant is never allowed (property)", () => {
        const nsName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);
        fc.assert(
            fc.property(nsName, nsName, fc.uniqueArray(nsName, { maxLength: 4 }), fc.constantFrom("mirror", "docker"), fc.boolean(), (x, y, others, format, absent) => {
                fc.pre(x !== y);
                const granted = others.filter((n) => n !== x);
                const annotations: Record<string, string> = {
                    // Grants to other namespaces, a non-wildcard "*", and a fan-out to X the (empty) policy refuses.
                    [ANNOTATION_ALLOW_NAMESPACES]: [...granted, "*"].join(","),
                    [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaces: [x] }]),
                };
                const src = source(y, "creds", annotations);
                const recipe = format === "mirror" ? mirror({ namespace: y, name: "creds" }, { namespace: x, name: "creds" }) : docker({ namespace: y, name: "creds" }, { namespace: x, name: "creds" }, "ghcr.io");
                const nsMap = namespaces({ [x]: { team: "a" }, [y]: {} });
                const plan = planFanOut(src, nsMap, EMPTY_POLICY, everywhere);
                const d = authorizeDerivation(derivedMeta(src, recipe), recipe, absent ? null : src, nsMap, absent ? undefined : plan);
                assert.equal(d.allowed, false);
                assert.equal(!d.allowed && d.reason, "no-grant");
            }),
            { numRuns: 200 },
        );
    });
});

describe("reconciler/trust: fan-out caps (issue 21 §2: a hostile annotation cannot stall the event loop)", () => {
    const open = policyOf({ fanOut: [{ sourceNamespace: "t", namespaceSelector: "kubernetes.io/metadata.name" }] });
    const refusal = (fn: () => unknown): DerivationError => {
        try {
            fn();
        } catch (e) {
            assert.ok(e instanceof DerivationError, String(e));
            return e;
        }
        assert.fail("no refusal");
    };

    it("a 229 KB selector, 10,000 entries or 5,000 listed namespaces are refused at once, naming the cap and the fix", () => {
        for (const ann of [
            JSON.stringify([{ format: "mirror", namespaceSelector: Array.from({ length: 20_000 }, (_, i) => `k${i}`).join(",") }]),
            JSON.stringify(Array.from({ length: 10_000 }, () => ({ format: "mirror", namespaces: ["a"] }))),
            JSON.stringify([{ format: "mirror", namespaces: Array.from({ length: 5000 }, (_, i) => `n-${i}`) }]),
            JSON.stringify([{ format: "mirror", namespaceSelector: "a".repeat(2000) }]),
        ]) {
            const e = refusal(() => planFanOut(source("t", "s", { [ANNOTATION_FAN_OUT]: ann }), namespaces({ a: {} }), open, everywhere));
            assert.equal(e.code, "too-large");
            assert.match(e.message, /t\/s key "annotations\.platform-secrets\.io\/fan-out": .*more than \d+.*Fix:/);
        }
    });

    it("a selector matching more than 512 namespaces is refused (nothing planned); 512 is planned", () => {
        const many = namespaces(Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`ns-${i}`, { team: "x" }])));
        const e = refusal(() => planFanOut(source("t", "s", { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaceSelector: "team=x" }]) }), many, open, everywhere));
        assert.match(e.message, /more than 512 target namespaces/);
        const fits = namespaces(Object.fromEntries(Array.from({ length: 512 }, (_, i) => [`ns-${i}`, { team: "x" }])));
        const plan = planFanOut(source("t", "s", { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaceSelector: "team=x" }]) }), fits, open, everywhere);
        assert.equal(plan.allowed.size, 512);
    });

    it("a 1,000-character selector (the cap) over 5,000 namespaces: compiled once, matched against each, refused past 512 targets", () => {
        const sel = Array.from({ length: 100 }, (_, i) => `k${i}!=v`).join(",").slice(0, 1000).replace(/,[^,]*$/, "");
        const nss = namespaces(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`ns-${i}`, { team: "x" }])));
        assert.throws(() => planFanOut(source("t", "s", { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaceSelector: sel }]) }), nss, open, everywhere), /more than 512/);
    });
});

describe("reconciler/model: the cache keeps a bounded amount of what a tenant writes (issue 21 §1)", () => {
    it("a forged derived secret with 256 KiB of our annotations and 10,000 data keys is cached in under 20 KiB; a huge grant grants nothing", () => {
        const recipe = mirror({ namespace: "victim", name: "src" }, { namespace: "t", name: "forged" });
        const forged = deriveSecret(source("victim", "src"), recipe);
        const annotations: Record<string, string> = { ...forged.metadata.annotations };
        for (let i = 0; i < 30; i++) annotations[`platform-secrets.io/junk-${i}`] = "x".repeat(8000);
        annotations["platform-secrets.io/status-message"] = "y".repeat(200_000);
        const data = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, b64("v")]));
        const slim = slimSecret({ ...forged, metadata: { ...forged.metadata, annotations, resourceVersion: "1" }, data });
        const size = JSON.stringify(slim).length;
        assert.ok(size < 20 * 1024, `cached form is ${size} bytes`);
        assert.equal(slim.dataKeys?.length, 256);
        assert.ok(!slim.metadata.annotations?.["platform-secrets.io/status-message"], "a 200 KB status message is not cached");
        // A source whose grant is longer than the cache keeps grants nothing (fail closed), not a truncated list.
        const grant = source("src", "s", { [ANNOTATION_ALLOW_NAMESPACES]: ["t", ...Array.from({ length: 2000 }, (_, i) => `ns-${i}`)].join(",") });
        assert.equal(slimSecret(grant).metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACES], "");
        assert.equal(authorizeDerivation(derivedMeta(grant, mirror({ namespace: "src", name: "s" }, { namespace: "t", name: "c" })), mirror({ namespace: "src", name: "s" }, { namespace: "t", name: "c" }), slimSecret(grant), namespaces({ t: {} }), undefined).allowed, false);
    });

    it("property: the cached annotations never exceed the cap, whatever the tenant writes", () => {
        fc.assert(
            fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 30 }).map((k) => `platform-secrets.io/${k}`), fc.string({ maxLength: 12_000 }), { maxKeys: 40 }), (ann) => {
                const forged = deriveSecret(source("victim", "src"), mirror({ namespace: "victim", name: "src" }, { namespace: "t", name: "f" }));
                const slim = slimSecret({ ...forged, metadata: { ...forged.metadata, annotations: { ...forged.metadata.annotations, ...ann } } });
                const total = Object.entries(slim.metadata.annotations ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
                assert.ok(total <= 16 * 1024, `${total}`);
            }),
            { numRuns: 100 },
        );
    });
});
