import assert from "node:assert/strict";
import fc from "fast-check";
import {
    ANNOTATION_ALLOW_NAMESPACE_SELECTOR,
    ANNOTATION_ALLOW_NAMESPACES,
    ANNOTATION_FAN_OUT,
    ANNOTATION_FORMAT,
    ANNOTATION_HOOKS,
    ANNOTATION_OPTIONS,
    ANNOTATION_SOURCE_HASH,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    deriveSecret,
    LABEL_DERIVED,
    LABEL_SOURCE,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    isDerived,
    validateRecipe,
} from "../../../derive";
import { ANNOTATION_RETAIN, ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE } from "../../../reconciler/keys";
import { DependencyIndex, hasFanOut, hasHooksAnnotation, Secret, slimNamespace, slimSecret, slimWorkload, sourceKeyOf } from "../../../reconciler/model";
import { contentHash } from "../../../reconciler/model";

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");
const DERIVED_LABELS = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LABEL_DERIVED]: "true" };
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

describe("reconciler/model: slimSecret", () => {
    const dataArb = fc.dictionary(fc.constantFrom("password", "username", "token", ".gitconfig", "ssh-privatekey", "tls.key"), fc.uint8Array({ minLength: 12, maxLength: 64 }).map(b64), { minKeys: 1 });

    it("keeps no data value, whatever the secret (property)", () => {
        fc.assert(
            fc.property(dataArb, fc.boolean(), fc.boolean(), (data, derived, withLastApplied) => {
                const s: Secret = {
                    metadata: {
                        namespace: "ns",
                        name: "s",
                        labels: derived ? { ...DERIVED_LABELS, app: "x" } : { app: "x" },
                        annotations: {
                            [ANNOTATION_SOURCE_NAMESPACE]: "src",
                            [ANNOTATION_SOURCE_NAME]: "creds",
                            [ANNOTATION_FAN_OUT]: '[{"format":"mirror","namespaces":["a"]}]',
                            // kubectl apply records the whole object, data included: never cached.
                            ...(withLastApplied ? { [LAST_APPLIED]: JSON.stringify({ data }) } : {}),
                        },
                    },
                    type: "Opaque",
                    data,
                };
                const text = JSON.stringify(slimSecret(s));
                for (const v of Object.values(data)) {
                    assert.ok(!text.includes(v), "base64 value cached");
                    assert.ok(!text.includes(Buffer.from(v, "base64").toString("hex")));
                }
            }),
        );
    });

    it("a derived secret keeps its owned labels, recipe and status annotations and its data key names", () => {
        const source: Secret = { metadata: { namespace: "src", name: "creds" }, type: "kubernetes.io/basic-auth", data: { username: b64("alice"), password: b64("s3cret-value"), ".gitconfig": b64("[user]\n") } };
        const desired = deriveSecret(source, validateRecipe({ format: "tekton-git", source: { namespace: "src", name: "creds" }, target: { namespace: "ci", name: "git" }, options: { gitUrls: ["https://github.com/org/repo"] } }));
        const live: Secret = {
            ...desired,
            metadata: {
                ...desired.metadata,
                resourceVersion: "42",
                uid: "u-1",
                labels: { ...desired.metadata.labels, "team.example/owner": "ci" },
                annotations: { ...desired.metadata.annotations, [ANNOTATION_STATUS]: "in-sync", [ANNOTATION_STATUS_MESSAGE]: "in sync with source src/creds", [LAST_APPLIED]: "{}", "example.com/note": "x" },
                ownerReferences: [{ kind: "Thing" }],
                managedFields: [{}],
            },
            immutable: true,
        };
        const slim = slimSecret(live);
        assert.deepEqual(slim.metadata.labels, DERIVED_LABELS);
        assert.equal(slim.metadata.annotations?.[ANNOTATION_SOURCE_NAMESPACE], "src");
        assert.equal(slim.metadata.annotations?.[ANNOTATION_SOURCE_NAME], "creds");
        assert.equal(slim.metadata.annotations?.[ANNOTATION_FORMAT], "tekton-git");
        assert.equal(slim.metadata.annotations?.[ANNOTATION_OPTIONS], desired.metadata.annotations[ANNOTATION_OPTIONS]);
        assert.equal(slim.metadata.annotations?.[ANNOTATION_SOURCE_HASH], desired.metadata.annotations[ANNOTATION_SOURCE_HASH]);
        assert.equal(slim.metadata.annotations?.["tekton.dev/git-0"], "https://github.com");
        assert.equal(slim.metadata.annotations?.[ANNOTATION_STATUS], "in-sync");
        assert.equal(slim.metadata.annotations?.[ANNOTATION_STATUS_MESSAGE], "in sync with source src/creds");
        assert.equal(slim.metadata.annotations?.[LAST_APPLIED], undefined);
        assert.equal(slim.metadata.annotations?.["example.com/note"], undefined);
        assert.deepEqual(slim.dataKeys, [".gitconfig", "password", "username"]);
        assert.deepEqual({ ns: slim.metadata.namespace, name: slim.metadata.name, rv: slim.metadata.resourceVersion, uid: slim.metadata.uid }, { ns: "ci", name: "git", rv: "42", uid: "u-1" });
        assert.equal(slim.type, "kubernetes.io/basic-auth");
        assert.equal(slim.immutable, true);
        assert.equal(slim.deleting, false);
        assert.equal(slim.contentHash, contentHash(live).slice(0, 32));
        assert.match(slim.contentHash, /^[0-9a-f]{32}$/);
        assert.ok(!("ownerReferences" in slim.metadata) && !("managedFields" in slim.metadata));
        assert.equal(sourceKeyOf(slim), "src/creds");
    });

    it("an unrelated secret keeps only retain/grant annotations and presence markers for fan-out and hooks", () => {
        const s: Secret = {
            metadata: {
                namespace: "team",
                name: "src",
                labels: { app: "x", [LABEL_SOURCE]: "true" },
                annotations: {
                    [ANNOTATION_RETAIN]: "true",
                    [ANNOTATION_ALLOW_NAMESPACES]: "a,b",
                    [ANNOTATION_ALLOW_NAMESPACE_SELECTOR]: "team=a",
                    [ANNOTATION_FAN_OUT]: '[{"format":"mirror","namespaces":["a"]}]',
                    [ANNOTATION_HOOKS]: '[{"type":"postgres","host":"evil","user":"x"}]',
                    [ANNOTATION_SOURCE_NAMESPACE]: "victim",
                    [ANNOTATION_SOURCE_NAME]: "db",
                    [ANNOTATION_STATUS]: "in-sync",
                    [LAST_APPLIED]: "{}",
                },
                deletionTimestamp: "2024-01-01T00:00:00Z",
            },
            data: { k: b64("value-123456") },
        };
        const slim = slimSecret(s);
        assert.deepEqual(slim.metadata.annotations, {
            [ANNOTATION_RETAIN]: "true",
            [ANNOTATION_ALLOW_NAMESPACES]: "a,b",
            [ANNOTATION_ALLOW_NAMESPACE_SELECTOR]: "team=a",
            [ANNOTATION_FAN_OUT]: "",
            [ANNOTATION_HOOKS]: "",
        });
        assert.deepEqual(slim.metadata.labels, { [LABEL_SOURCE]: "true" });
        assert.equal(slim.dataKeys, undefined);
        assert.equal(slim.type, "Opaque");
        assert.equal(slim.deleting, true);
        assert.equal(slim.immutable, false);
        assert.equal(hasFanOut(slim), true);
        assert.equal(hasHooksAnnotation(slim), true);
        assert.equal(sourceKeyOf(slim), undefined, "recipe annotations on a non-derived secret are not a recipe");
        const bare = slimSecret({ metadata: { namespace: "n", name: "plain", annotations: { x: "y" } } });
        assert.equal(bare.metadata.annotations, undefined);
        assert.equal(bare.metadata.labels, undefined);
        assert.equal(hasFanOut(bare), false);
        assert.equal(hasHooksAnnotation(bare), false);
    });

    it("the content hash follows type and data, not metadata", () => {
        const a: Secret = { metadata: { namespace: "n", name: "a", labels: { x: "1" } }, type: "Opaque", data: { k: b64("one") } };
        const h = slimSecret(a).contentHash;
        assert.equal(slimSecret({ ...a, metadata: { ...a.metadata, labels: { x: "2" }, annotations: { y: "z" } } }).contentHash, h);
        assert.notEqual(slimSecret({ ...a, data: { k: b64("two") } }).contentHash, h);
        assert.notEqual(slimSecret({ ...a, type: "kubernetes.io/tls" }).contentHash, h);
    });
});

describe("reconciler/model: looksDerived, sourceKeyOf, slimNamespace, slimWorkload", () => {
    it("looksDerived needs both our managed-by and the derived label", () => {
        assert.equal(isDerived({ metadata: { labels: DERIVED_LABELS } }), true);
        assert.equal(isDerived({ metadata: { labels: { [LABEL_DERIVED]: "true" } } }), false);
        assert.equal(isDerived({ metadata: { labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } } }), false);
        assert.equal(isDerived({ metadata: { labels: { [MANAGED_BY_LABEL]: "pulumi", [LABEL_DERIVED]: "true" } } }), false);
        assert.equal(isDerived({ metadata: { labels: { ...DERIVED_LABELS, [LABEL_DERIVED]: "yes" } } }), false);
        assert.equal(isDerived({ metadata: { labels: undefined } }), false);
    });

    it("sourceKeyOf reads the recipe's source of a derived secret only", () => {
        const ann = { [ANNOTATION_SOURCE_NAMESPACE]: "src", [ANNOTATION_SOURCE_NAME]: "creds" };
        assert.equal(sourceKeyOf({ metadata: { labels: DERIVED_LABELS, annotations: ann } }), "src/creds");
        assert.equal(sourceKeyOf({ metadata: { labels: { app: "x" }, annotations: ann } }), undefined);
        assert.equal(sourceKeyOf({ metadata: { labels: DERIVED_LABELS, annotations: { [ANNOTATION_SOURCE_NAME]: "creds" } } }), undefined);
        assert.equal(sourceKeyOf({ metadata: { labels: DERIVED_LABELS, annotations: { ...ann, [ANNOTATION_SOURCE_NAMESPACE]: "" } } }), undefined);
        assert.equal(sourceKeyOf({ metadata: { labels: DERIVED_LABELS } }), undefined);
    });

    it("slimNamespace keeps name and labels; slimWorkload keeps the followed secrets, not the pod spec", () => {
        assert.deepEqual(slimNamespace({ metadata: { name: "a", resourceVersion: "1", annotations: { big: "x" } } }), { metadata: { name: "a", resourceVersion: "1", uid: undefined, labels: {} } });
        const spec = { containers: [{ env: [{ name: "A", valueFrom: { secretKeyRef: { name: "db", key: "password" } } }] }], imagePullSecrets: [{ name: "pull" }] };
        const w = slimWorkload({ metadata: { namespace: "n", name: "web", annotations: { "platform-secrets.io/restart-on": "auto" } }, spec: { template: { metadata: { annotations: { "platform-secrets.io/secrets-hash": "h" } }, spec } } });
        assert.deepEqual(w.consumes, ["db", "pull"]);
        assert.equal(w.templateHash, "h");
        assert.equal(w.invalid, undefined);
        assert.ok(!JSON.stringify(w).includes("containers"));
        assert.deepEqual(slimWorkload({ metadata: { namespace: "n", name: "off" }, spec: { template: { spec } } }).consumes, []);
        const bad = slimWorkload({ metadata: { namespace: "n", name: "bad", annotations: { "platform-secrets.io/restart-on": "Bad_Name" } }, spec: { template: { spec } } });
        assert.deepEqual(bad.consumes, []);
        assert.match(bad.invalid!, /n\/bad.*restart-on/);
    });
});

describe("reconciler/model: DependencyIndex", () => {
    const sorted = (xs: string[]) => [...xs].sort();

    it("setDerived records, moves and clears a derived secret's source", () => {
        const ix = new DependencyIndex();
        ix.setDerived("ci/git", "src/creds");
        ix.setDerived("ci/git2", "src/creds");
        assert.deepEqual(sorted(ix.derivedOf("src/creds")), ["ci/git", "ci/git2"]);
        assert.equal(ix.isSource("src/creds"), true);
        ix.setDerived("ci/git", "src/other");
        assert.deepEqual(ix.derivedOf("src/creds"), ["ci/git2"]);
        assert.deepEqual(ix.derivedOf("src/other"), ["ci/git"]);
        assert.equal(ix.sourceOf("ci/git"), "src/other");
        ix.setDerived("ci/git2", undefined);
        assert.deepEqual(ix.derivedOf("src/creds"), []);
        assert.equal(ix.isSource("src/creds"), false);
        assert.equal(ix.sourceOf("ci/git2"), undefined);
        ix.setDerived("ci/never", undefined);
        assert.deepEqual(ix.stats, { sources: 1, derived: 1, consumedSecrets: 0, workloads: 0 });
    });

    it("setWorkload replaces the followed secrets; [] clears", () => {
        const ix = new DependencyIndex();
        ix.setWorkload("deployments:n/web", ["n/a", "n/b"]);
        ix.setWorkload("deployments:n/api", ["n/b"]);
        assert.deepEqual(sorted(ix.workloadsOf("n/b")), ["deployments:n/api", "deployments:n/web"]);
        ix.setWorkload("deployments:n/web", ["n/c"]);
        assert.deepEqual(ix.workloadsOf("n/a"), []);
        assert.deepEqual(ix.workloadsOf("n/b"), ["deployments:n/api"]);
        assert.deepEqual(ix.workloadsOf("n/c"), ["deployments:n/web"]);
        ix.setWorkload("deployments:n/web", []);
        assert.deepEqual(ix.workloadsOf("n/c"), []);
        assert.deepEqual(ix.stats, { sources: 0, derived: 0, consumedSecrets: 1, workloads: 1 });
    });

    it("consumersOf a source includes the consumers of the secrets derived from it", () => {
        const ix = new DependencyIndex();
        ix.setDerived("ci/git", "src/creds");
        ix.setWorkload("deployments:ci/runner", ["ci/git"]);
        ix.setWorkload("statefulsets:src/db", ["src/creds"]);
        ix.setWorkload("daemonsets:ci/both", ["ci/git", "src/creds"]);
        assert.deepEqual(sorted(ix.consumersOf("src/creds")), ["daemonsets:ci/both", "deployments:ci/runner", "statefulsets:src/db"]);
        assert.deepEqual(sorted(ix.consumersOf("ci/git")), ["daemonsets:ci/both", "deployments:ci/runner"]);
        assert.deepEqual(ix.consumersOf("other/x"), []);
    });

    type Op = { kind: "derived"; key: string; source: string | undefined } | { kind: "workload"; key: string; secrets: string[] };
    const secretKey = fc.constantFrom("a/s1", "a/s2", "b/s1", "b/s2", "c/d1", "c/d2", "c/d3");
    const workloadKey = fc.constantFrom("deployments:a/w1", "deployments:b/w2", "statefulsets:c/w3", "daemonsets:c/w4");
    const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ kind: fc.constant("derived" as const), key: secretKey, source: fc.option(secretKey, { nil: undefined }) }),
        fc.record({ kind: fc.constant("workload" as const), key: workloadKey, secrets: fc.array(secretKey, { maxLength: 4 }) }),
    );

    it("after any sequence of updates the index equals one rebuilt from the final state (property)", () => {
        fc.assert(
            fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
                const ix = new DependencyIndex();
                const derived = new Map<string, string | undefined>();
                const workloads = new Map<string, string[]>();
                for (const o of ops) {
                    if (o.kind === "derived") {
                        ix.setDerived(o.key, o.source);
                        derived.set(o.key, o.source);
                    } else {
                        ix.setWorkload(o.key, o.secrets);
                        workloads.set(o.key, o.secrets);
                    }
                }
                const fresh = new DependencyIndex();
                for (const [k, s] of derived) if (s !== undefined) fresh.setDerived(k, s);
                for (const [k, s] of workloads) if (s.length) fresh.setWorkload(k, s);
                assert.deepEqual(ix.stats, fresh.stats);
                for (const k of ["a/s1", "a/s2", "b/s1", "b/s2", "c/d1", "c/d2", "c/d3"]) {
                    assert.deepEqual(sorted(ix.derivedOf(k)), sorted(fresh.derivedOf(k)), `derivedOf ${k}`);
                    assert.equal(ix.sourceOf(k), fresh.sourceOf(k));
                    assert.deepEqual(sorted(ix.workloadsOf(k)), sorted(fresh.workloadsOf(k)), `workloadsOf ${k}`);
                    assert.deepEqual(sorted(ix.consumersOf(k)), sorted(fresh.consumersOf(k)), `consumersOf ${k}`);
                    assert.equal(ix.isSource(k), fresh.isSource(k));
                    // And the rebuilt index agrees with the state itself.
                    assert.deepEqual(sorted(fresh.derivedOf(k)), sorted([...derived].filter(([, s]) => s === k).map(([d]) => d)));
                    assert.deepEqual(sorted(fresh.workloadsOf(k)), sorted([...workloads].filter(([, s]) => s.includes(k)).map(([w]) => w)));
                }
            }),
            { numRuns: 300 },
        );
    });
});
