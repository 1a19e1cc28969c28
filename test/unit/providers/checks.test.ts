import { KubeApiError } from "../../../lib/kube";
import { strict as assert } from "node:assert";
import { UNKNOWN, checkDerivedInputs, checkMirrorInputs, diffDerived, diffMirror, kubeError, plainError } from "../../../providers";
import { canaryValue } from "../../support";

const base = {
    format: "tekton-git",
    source: { namespace: "src", name: "creds" },
    target: { namespace: "dst", name: "out" },
    options: { gitUrls: ["https://github.com/o/r"] },
};

describe("providers: check", () => {
    it("accepts a valid recipe", () => assert.deepEqual(checkDerivedInputs(base), []));

    it("names the property and the fix for a bad recipe", () => {
        const f = checkDerivedInputs({ ...base, options: { gitUrls: ["ftp://x/y"] } });
        assert.equal(f.length, 1);
        assert.equal(f[0].property, "options.gitUrls[0]");
        assert.match(f[0].reason, /dst\/out.*Fix: /);
    });

    it("rejects bad formats, names, kubeconfig and adopt types", () => {
        assert.equal(checkDerivedInputs({ ...base, format: "zip" })[0].property, "format");
        assert.equal(checkDerivedInputs({ ...base, target: { namespace: "Bad_NS", name: "x" } })[0].property, "target.namespace");
        assert.deepEqual(checkDerivedInputs({ ...base, kubeconfig: 42, adopt: "yes" }).map((f) => f.property), ["kubeconfig", "adopt"]);
    });

    it("skips validation of values unknown during preview", () => {
        assert.deepEqual(checkDerivedInputs({ ...base, options: { gitUrls: [UNKNOWN] } }), []);
        assert.deepEqual(checkDerivedInputs({ ...base, target: UNKNOWN }), []);
    });

    it("never echoes a credential from a URL", () => {
        const canary = canaryValue();
        const f = checkDerivedInputs({ format: "argocd", source: base.source, target: base.target, options: { secretType: "repository", url: `https://u:${canary}@github.com/o/r` } });
        assert.equal(f.length, 1);
        assert.ok(!JSON.stringify(f).includes(canary));
    });

    it("mirror: needs namespaces or a selector, validates the selector", () => {
        assert.equal(checkMirrorInputs({ source: base.source })[0].property, "namespaces");
        assert.deepEqual(checkMirrorInputs({ source: base.source, namespaces: ["a", "b"] }), []);
        assert.deepEqual(checkMirrorInputs({ source: base.source, namespaceSelector: "team=a" }), []);
        assert.equal(checkMirrorInputs({ source: base.source, namespaceSelector: "team=(a" })[0].property, "namespaceSelector");
        assert.equal(checkMirrorInputs({ source: base.source, namespaces: ["Not Valid"] })[0].property, "namespaces");
        assert.equal(checkMirrorInputs({ source: base.source, namespaces: ["a"], targetName: "Bad Name" })[0].property, "targetName");
        assert.equal(checkMirrorInputs({ source: { namespace: "src" }, namespaces: ["a"], targetName: "x" })[0].property, "source.name");
        // The source's own namespace is skipped, not an error.
        assert.deepEqual(checkMirrorInputs({ source: base.source, namespaces: ["src"] }), []);
    });
});

describe("providers: diff", () => {
    const olds = { ...base, kubeconfig: "k", adopt: false, type: "kubernetes.io/basic-auth", drift: [] };

    it("no change → no update", () => {
        assert.deepEqual(diffDerived(olds, { ...base, kubeconfig: "k", adopt: false }), { changes: false, replaces: [], deleteBeforeReplace: false, reasons: [] });
    });

    it("option key order does not matter", () => {
        const o = { ...olds, options: { b: 1, a: 2 } };
        assert.equal(diffDerived(o, { ...base, kubeconfig: "k", adopt: false, options: { a: 2, b: 1 } }).changes, false);
    });

    it("target name or namespace change → replace (create before delete: names differ)", () => {
        for (const target of [{ namespace: "dst", name: "other" }, { namespace: "other", name: "out" }]) {
            const d = diffDerived(olds, { ...base, target, kubeconfig: "k", adopt: false });
            assert.deepEqual([d.changes, d.replaces, d.deleteBeforeReplace], [true, ["target"], false]);
        }
    });

    it("format change that changes the immutable type on the same target → delete before replace", () => {
        const d = diffDerived(olds, { ...base, format: "docker", options: { registry: "ghcr.io" }, kubeconfig: "k", adopt: false });
        assert.deepEqual([d.replaces, d.deleteBeforeReplace], [["format"], true]);
    });

    it("source or options change → in-place update", () => {
        const d = diffDerived(olds, { ...base, source: { namespace: "src", name: "new" }, kubeconfig: "k", adopt: false });
        assert.deepEqual([d.changes, d.replaces], [true, []]);
        assert.deepEqual(diffDerived(olds, { ...base, options: { gitUrls: ["https://gitlab.com/x"] }, kubeconfig: "k", adopt: false }).reasons, ["options"]);
    });

    it("drift recorded by read → update", () => {
        const d = diffDerived({ ...olds, drift: ["data.password"] }, { ...base, kubeconfig: "k", adopt: false });
        assert.deepEqual([d.changes, d.reasons], [true, ["drift:data.password"]]);
    });

    it("mirror: new copy name replaces; namespace and selector changes update", () => {
        const m = { source: base.source, namespaces: ["a"], drift: [] };
        assert.deepEqual(diffMirror(m, { source: base.source, namespaces: ["a"] }).changes, false);
        assert.deepEqual(diffMirror(m, { source: base.source, namespaces: ["a", "b"] }).replaces, []);
        assert.deepEqual(diffMirror(m, { source: base.source, namespaces: ["a"], targetName: "other" }).replaces, ["targetName"]);
        assert.deepEqual(diffMirror(m, { source: base.source, namespaces: ["a"], targetName: "creds" }).changes, true); // input changed,
        assert.deepEqual(diffMirror(m, { source: base.source, namespaces: ["a"], targetName: "creds" }).replaces, []); // same effective name
        assert.equal(diffMirror({ ...m, drift: ["b: missing"] }, { source: base.source, namespaces: ["a"] }).changes, true);
    });
});

describe("providers: errors", () => {
    it("kubeError keeps code, reason and the fix, and drops bodies of 400/422 responses", () => {
        const canary = canaryValue();
        // As lib/kube's client raises them (statusError): the apiserver's message and the refused fields' names.
        const e422 = kubeError(new KubeApiError(422, "Invalid", `POST /api/v1/namespaces/a/secrets: 422 Invalid: data: Invalid value: "${canary}"`, "a/b", `data: Invalid value: "${canary}"`, ["data[x]"]), "creating", "secret a/b");
        assert.match(e422.message, /creating secret a\/b failed: HTTP 422 Invalid \(data\[x\]\)\. Fix: /);
        assert.ok(!e422.message.includes(canary));
        const e403 = kubeError(new KubeApiError(403, "Forbidden", "GET …: 403 Forbidden: secrets is forbidden", "a/b", "secrets is forbidden"), "reading", "secret a/b");
        assert.match(e403.message, /HTTP 403 Forbidden \(secrets is forbidden\)\. Fix: grant/);
        const conn = kubeError(new Error("connect ECONNREFUSED 127.0.0.1:1"), "reading", "secret a/b");
        assert.match(conn.message, /cannot reach the apiserver/);
    });

    it("plainError makes a real Error with the same message and name", () => {
        const e = plainError({ message: "m", name: "DerivationError" });
        assert.ok(e instanceof Error);
        assert.equal(`${e}`, "DerivationError: m");
    });
});
