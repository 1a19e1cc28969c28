import assert from "node:assert/strict";
import fc from "fast-check";
import {
    ANNOTATION_ALLOW_NAMESPACE_SELECTOR,
    ANNOTATION_ALLOW_NAMESPACES,
    grantedNamespaces,
    grantFix,
    sourceGrants,
    withGrantedNamespace,
    withoutGrantedNamespace,
} from "../../../derive";

const src = (annotations: Record<string, string> = {}, namespace = "src") => ({ metadata: { namespace, name: "creds", annotations } });
const nsName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);

describe("derive/grants: sourceGrants", () => {
    it("the source's own namespace needs no grant", () => {
        assert.equal(sourceGrants(src(), "src", undefined), true);
        assert.equal(sourceGrants(src(), "other", undefined), false);
        assert.equal(sourceGrants({ metadata: { namespace: "src" } }, "other", {}), false);
    });

    it("allow-namespaces grants exactly the listed namespaces (spaces and duplicates tolerated)", () => {
        const s = src({ [ANNOTATION_ALLOW_NAMESPACES]: " team-a ,team-b,,team-a " });
        assert.equal(sourceGrants(s, "team-a", undefined), true);
        assert.equal(sourceGrants(s, "team-b", {}), true);
        assert.equal(sourceGrants(s, "team", {}), false, "no prefix match");
        assert.equal(sourceGrants(s, "team-a-x", {}), false);
        assert.deepEqual(grantedNamespaces(s), ["team-a", "team-b"]);
        assert.deepEqual(grantedNamespaces(src()), []);
    });

    it('"*" is not a wildcard', () => {
        for (const v of ["*", "*,", " * ", "team-*"]) {
            const s = src({ [ANNOTATION_ALLOW_NAMESPACES]: v });
            for (const ns of ["team-a", "kube-system", "default"]) assert.equal(sourceGrants(s, ns, { "kubernetes.io/metadata.name": ns }), false, `${v} grants ${ns}`);
        }
    });

    it("allow-namespace-selector matches the target namespace's labels", () => {
        const s = src({ [ANNOTATION_ALLOW_NAMESPACE_SELECTOR]: "team in (a,b),env!=prod" });
        assert.equal(sourceGrants(s, "x", { team: "a" }), true);
        assert.equal(sourceGrants(s, "x", { team: "b", env: "dev" }), true);
        assert.equal(sourceGrants(s, "x", { team: "b", env: "prod" }), false);
        assert.equal(sourceGrants(s, "x", { team: "c" }), false);
        assert.equal(sourceGrants(s, "x", undefined), false);
        const both = src({ [ANNOTATION_ALLOW_NAMESPACES]: "listed", [ANNOTATION_ALLOW_NAMESPACE_SELECTOR]: "team=a" });
        assert.equal(sourceGrants(both, "listed", {}), true);
        assert.equal(sourceGrants(both, "other", { team: "a" }), true);
    });

    it("an invalid or empty selector grants nothing (never everything)", () => {
        for (const sel of ["", "   ", "a in (", "=x", "a==b==c", "(", "!"]) {
            const s = src({ [ANNOTATION_ALLOW_NAMESPACE_SELECTOR]: sel });
            assert.equal(sourceGrants(s, "x", { a: "b" }), false, `selector ${JSON.stringify(sel)}`);
            assert.equal(sourceGrants(s, "x", {}), false, `selector ${JSON.stringify(sel)}`);
        }
    });

    it("grantFix names the source, the namespace and both annotations, never a value", () => {
        const fix = grantFix("src/creds", "team-a");
        assert.match(fix, /src\/creds/);
        assert.match(fix, /platform-secrets\.io\/allow-namespaces: "team-a"/);
        assert.match(fix, /platform-secrets\.io\/allow-namespace-selector/);
    });
});

describe("derive/grants: withGrantedNamespace / withoutGrantedNamespace", () => {
    it("adds and removes one namespace, sorted and de-duplicated", () => {
        assert.equal(withGrantedNamespace(undefined, "b"), "b");
        assert.equal(withGrantedNamespace("c, a,a", "b"), "a,b,c");
        assert.equal(withGrantedNamespace("a,b", "a"), "a,b");
        assert.equal(withoutGrantedNamespace("a, b ,a", "a"), "b");
        assert.equal(withoutGrantedNamespace("a", "a"), undefined);
        assert.equal(withoutGrantedNamespace(undefined, "a"), undefined);
        assert.equal(withoutGrantedNamespace("", "a"), undefined);
        assert.equal(withoutGrantedNamespace("b", "a"), "b");
    });

    it("round trips (property)", () => {
        fc.assert(
            fc.property(fc.option(fc.array(nsName, { maxLength: 6 }).map((l) => l.join(",")), { nil: undefined }), nsName, (current, ns) => {
                const granted = (v: string | undefined) => grantedNamespaces(src(v === undefined ? {} : { [ANNOTATION_ALLOW_NAMESPACES]: v }));
                const before = granted(current);
                const added = withGrantedNamespace(current, ns);
                assert.deepEqual(granted(added), [...new Set([...before, ns])].sort());
                assert.equal(sourceGrants(src({ [ANNOTATION_ALLOW_NAMESPACES]: added }), ns, undefined), true);
                assert.equal(withGrantedNamespace(added, ns), added, "idempotent");
                const removed = withoutGrantedNamespace(added, ns);
                assert.deepEqual(granted(removed), before.filter((n) => n !== ns));
                if (removed !== undefined) assert.equal(sourceGrants(src({ [ANNOTATION_ALLOW_NAMESPACES]: removed }), ns, undefined), ns === "src");
                assert.equal(removed === undefined, before.filter((n) => n !== ns).length === 0, "undefined exactly when nothing is left");
                assert.equal(withoutGrantedNamespace(removed, ns), removed, "idempotent");
                if (!before.includes(ns)) assert.equal(removed, before.length ? before.join(",") : undefined, "removing what was added restores the (normalised) value");
                assert.equal(withGrantedNamespace(removed, ns), added, "adding back gives the same value");
            }),
        );
    });
});
