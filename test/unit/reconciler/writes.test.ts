import assert from "node:assert/strict";
import fc from "fast-check";
import {
    ANNOTATION_SOURCE_HASH,
    ARGOCD_SECRET_TYPE_LABEL,
    DesiredSecret,
    deriveSecret,
    isOwnedAnnotation,
    isOwnedLabel,
    KARGO_CRED_TYPE_LABEL,
    validateRecipe,
} from "../../../derive";
import { ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE, ANNOTATION_STATUS_TIME } from "../../../reconciler/keys";
import { Secret, SecretMeta, slimSecret } from "../../../reconciler/model";
import { cachedDiff, derivedPatch } from "../../../reconciler/derived/writes";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const SRC = { namespace: "src", name: "creds" };
const TARGET = { namespace: "ci", name: "git" };

function source(password: string, extra: Record<string, string> = {}, type = "kubernetes.io/basic-auth"): Secret {
    const data: Record<string, string> = { username: b64("alice"), password: b64(password) };
    for (const [k, v] of Object.entries(extra)) data[k] = b64(v);
    return { metadata: { ...SRC }, type, data };
}

const tekton = (urls: string[]) => validateRecipe({ format: "tekton-git", source: SRC, target: TARGET, options: { gitUrls: urls } });

/** The informer's view of a secret written as `desired`, plus what others put on it. */
function cached(desired: DesiredSecret, extra: { labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string } = {}): SecretMeta {
    const meta = slimSecret({
        ...desired,
        metadata: {
            ...desired.metadata,
            resourceVersion: extra.resourceVersion ?? "41",
            uid: "u-1",
            labels: { ...desired.metadata.labels, ...(extra.labels ?? {}) },
            annotations: { ...desired.metadata.annotations, ...(extra.annotations ?? {}) },
        },
    });
    return meta;
}

describe("reconciler/writes: cachedDiff", () => {
    it("finds no difference between a derived secret's cached form and the same desired secret", () => {
        for (const urls of [["https://github.com/o/r"], ["https://github.com/o/r", "https://gitlab.com/o/r"]]) {
            const desired = deriveSecret(source("pw-one-123", { ".gitconfig": "[user]\n" }), tekton(urls));
            assert.deepEqual(cachedDiff(slimSecret(desired), desired), []);
            assert.deepEqual(cachedDiff(cached(desired), desired), []);
        }
        const mirror = deriveSecret(source("pw"), validateRecipe({ format: "mirror", source: SRC, target: TARGET, options: {} }));
        assert.deepEqual(cachedDiff(slimSecret(mirror), mirror), []);
    });

    it("names data, type and owned label/annotation differences", () => {
        const recipe = tekton(["https://github.com/o/r", "https://gitlab.com/o/r"]);
        const before = deriveSecret(source("pw-one-123"), recipe);
        const rotated = deriveSecret(source("pw-two-456"), recipe);
        assert.deepEqual(cachedDiff(cached(before), rotated), ["data", `annotations.${ANNOTATION_SOURCE_HASH}`]);
        const oneHost = deriveSecret(source("pw-one-123"), tekton(["https://github.com/o/r"]));
        assert.deepEqual(cachedDiff(cached(before), oneHost), ["annotations.platform-secrets.io/options", "annotations.tekton.dev/git-1"]);
        assert.deepEqual(cachedDiff({ ...cached(before), type: "Opaque" }, before), ["type"]);
        const opaqueSource = deriveSecret(source("pw-one-123", {}, "Opaque"), validateRecipe({ format: "mirror", source: SRC, target: TARGET, options: {} }));
        const basicSource = deriveSecret(source("pw-one-123"), validateRecipe({ format: "mirror", source: SRC, target: TARGET, options: {} }));
        assert.deepEqual(cachedDiff(cached(opaqueSource), basicSource), ["type", "data", `annotations.${ANNOTATION_SOURCE_HASH}`], "same data, other type: the content hash covers the type too");
        assert.deepEqual(cachedDiff(cached(before, { labels: { [ARGOCD_SECRET_TYPE_LABEL]: "repository" } }), before), [`labels.${ARGOCD_SECRET_TYPE_LABEL}`], "an owned label not desired is a difference");
        const wantsLabel: DesiredSecret = { ...before, metadata: { ...before.metadata, labels: { ...before.metadata.labels, [KARGO_CRED_TYPE_LABEL]: "git" } } };
        assert.deepEqual(cachedDiff(cached(before), wantsLabel), [`labels.${KARGO_CRED_TYPE_LABEL}`]);
        const edited = cached(before, { annotations: { "tekton.dev/git-5": "https://evil.example" } });
        assert.deepEqual(cachedDiff(edited, before), ["annotations.tekton.dev/git-5"], "every tekton.dev/git-N is ours: a stale one would still be used");
    });

    it("ignores foreign labels and annotations and our status annotations", () => {
        const desired = deriveSecret(source("pw-one-123"), tekton(["https://github.com/o/r"]));
        const meta = cached(desired, {
            labels: { "team.example/owner": "ci", "platform-secrets.io/extra": "x" },
            annotations: { "example.com/note": "x", [ANNOTATION_STATUS]: "stale", [ANNOTATION_STATUS_MESSAGE]: "m", [ANNOTATION_STATUS_TIME]: "t" },
        });
        assert.deepEqual(cachedDiff(meta, desired), []);
        const hand: SecretMeta = { ...meta, metadata: { ...meta.metadata, labels: { ...meta.metadata.labels, foreign: "1" }, annotations: { ...meta.metadata.annotations, "kubectl.kubernetes.io/last-applied-configuration": "{}" } } };
        assert.deepEqual(cachedDiff(hand, desired), []);
    });

    it("never contains a value (property)", () => {
        const pw = fc.string({ minLength: 8, maxLength: 40 }).filter((s) => s.trim() === s && !s.includes("\n") && s.length > 0);
        fc.assert(
            fc.property(pw, pw, (a, b) => {
                const recipe = tekton(["https://github.com/o/r"]);
                const before = deriveSecret(source(a), recipe);
                const after = deriveSecret(source(b), recipe);
                const text = JSON.stringify(cachedDiff(cached(before), after));
                for (const v of [a, b, b64(a), b64(b), after.data.password, before.data.password]) assert.ok(!text.includes(v), `value in diff: ${text}`);
                assert.equal(cachedDiff(cached(before), after).length === 0, a === b);
            }),
        );
    });
});

describe("reconciler/writes: derivedPatch", () => {
    const before = deriveSecret(source("pw-one-123", { ".gitconfig": "[user]\n" }), tekton(["https://github.com/o/r", "https://gitlab.com/o/r"]));
    const desired = deriveSecret(source("pw-two-456"), tekton(["https://github.com/o/r"]));
    const meta = cached(before, {
        resourceVersion: "77",
        labels: { [ARGOCD_SECRET_TYPE_LABEL]: "repository", "team.example/owner": "ci" },
        annotations: { "example.com/note": "x", [ANNOTATION_STATUS]: "stale", [ANNOTATION_STATUS_MESSAGE]: "old" },
    });
    const extra = { [ANNOTATION_STATUS]: "in-sync", [ANNOTATION_STATUS_MESSAGE]: "in sync with source src/creds" };
    const patch = derivedPatch(meta, desired, extra) as {
        metadata: { resourceVersion?: string; labels: Record<string, string | null>; annotations: Record<string, string | null> };
        data: Record<string, string | null>;
    };

    it("carries the cached resourceVersion as precondition", () => {
        assert.equal(patch.metadata.resourceVersion, "77");
        assert.deepEqual(Object.keys(patch).sort(), ["data", "metadata"]);
        assert.deepEqual(Object.keys(patch.metadata).sort(), ["annotations", "labels", "resourceVersion"]);
    });

    it("writes the desired data and removes data keys the derivation no longer writes", () => {
        assert.deepEqual(patch.data, { ...desired.data, ".gitconfig": null });
    });

    it("nulls owned labels and annotations no longer desired, adds the status, touches nothing foreign", () => {
        assert.deepEqual(patch.metadata.labels, { ...desired.metadata.labels, [ARGOCD_SECRET_TYPE_LABEL]: null });
        assert.deepEqual(patch.metadata.annotations, { ...desired.metadata.annotations, ...extra, "tekton.dev/git-1": null });
        for (const k of ["team.example/owner"]) assert.ok(!(k in patch.metadata.labels));
        for (const k of ["example.com/note"]) assert.ok(!(k in patch.metadata.annotations));
    });

    it("only ever names owned, desired or status keys, and nulls only owned ones (property)", () => {
        const key = fc.constantFrom("app", "team.example/owner", ARGOCD_SECRET_TYPE_LABEL, KARGO_CRED_TYPE_LABEL, "tekton.dev/git-3", "tekton.dev/docker-0", "platform-secrets.io/format", "platform-secrets.io/note", "example.com/x");
        fc.assert(
            fc.property(fc.dictionary(key, fc.constant("v")), fc.dictionary(key, fc.constant("v")), fc.array(fc.constantFrom("a", "b", "password", "username"), { maxLength: 4 }), (labels, annotations, dataKeys) => {
                const m: SecretMeta = { ...meta, metadata: { ...meta.metadata, labels, annotations }, dataKeys };
                const p = derivedPatch(m, desired, extra) as typeof patch;
                for (const [k, v] of Object.entries(p.metadata.labels)) {
                    if (v === null) assert.ok(isOwnedLabel(k) && !(k in desired.metadata.labels), `label ${k} nulled`);
                    else assert.equal(v, desired.metadata.labels[k]);
                }
                for (const [k, v] of Object.entries(p.metadata.annotations)) {
                    if (v === null) assert.ok(isOwnedAnnotation(k) && !(k in desired.metadata.annotations), `annotation ${k} nulled`);
                    else assert.equal(v, { ...desired.metadata.annotations, ...extra }[k]);
                }
                for (const [k, v] of Object.entries(p.data)) {
                    if (v === null) assert.ok((dataKeys as string[]).includes(k) && !(k in desired.data));
                    else assert.equal(v, desired.data[k]);
                }
                assert.equal(p.metadata.resourceVersion, "77");
            }),
        );
    });
});
