import { strict as assert } from "node:assert";
import {
    ANNOTATION_FAN_OUT,
    diffSecret,
    deriveSecret,
    fanOutFromSource,
    isDerivationError,
    isManaged,
    matchesLabelSelector,
    mergeForUpdate,
    recipesForFanOut,
    requiresReplace,
} from "../../../derive";
import { SRC, basicAuth, tgt } from "./fixtures";

describe("derive: ownership and updates", () => {
    const desired = deriveSecret(basicAuth(), { format: "tekton-git", source: SRC, target: tgt(), options: { gitUrls: ["https://github.com/o/r"] } });

    it("diffSecret names what differs (never values), including removed keys and stale tekton annotations", () => {
        const live = {
            ...desired,
            type: "kubernetes.io/basic-auth",
            data: { ...desired.data, stale: "eA==" },
            metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, "tekton.dev/git-1": "https://old", "kubectl.kubernetes.io/x": "y" } },
        };
        assert.deepEqual(diffSecret(live, desired), ["data.stale", "annotations.tekton.dev/git-1"]);
    });

    it("mergeForUpdate keeps foreign labels/annotations and resourceVersion, drops stale owned ones", () => {
        const live = {
            metadata: {
                namespace: "dst",
                name: "out",
                resourceVersion: "42",
                labels: { team: "a", "app.kubernetes.io/managed-by": "platform-secrets" },
                annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", "tekton.dev/git-3": "https://old" },
            },
            type: "kubernetes.io/basic-auth",
            data: { old: "eA==" },
        };
        const m = mergeForUpdate(live, desired);
        assert.equal(m.metadata.resourceVersion, "42");
        assert.equal(m.metadata.labels.team, "a");
        assert.equal(m.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"], "{}");
        assert.equal(m.metadata.annotations["tekton.dev/git-3"], undefined);
        assert.deepEqual(m.data, desired.data);
        assert.deepEqual(diffSecret(m, desired), []);
    });

    it("requiresReplace when the type differs; isManaged by label", () => {
        assert.equal(requiresReplace({ ...desired, type: "Opaque" }, desired), true);
        assert.equal(requiresReplace(desired, desired), false);
        assert.equal(isManaged(desired), true);
        assert.equal(isManaged(basicAuth()), false);
    });
});

describe("derive: fan-out declarations and label selectors", () => {
    it("matches label selectors like the apiserver", () => {
        const l = { team: "a", env: "prod" };
        assert.ok(matchesLabelSelector(l, "team=a"));
        assert.ok(matchesLabelSelector(l, "team==a,env in (prod, stage)"));
        assert.ok(matchesLabelSelector(l, "env notin (dev),!legacy"));
        assert.ok(matchesLabelSelector(l, "team"));
        assert.ok(!matchesLabelSelector(l, "team!=a"));
        assert.ok(!matchesLabelSelector(l, "missing"));
        assert.ok(!matchesLabelSelector(undefined, "team=a"));
        assert.throws(() => matchesLabelSelector(l, "team=(a"));
    });

    it("reads fan-out specs from the source and expands them to recipes, skipping the source itself", () => {
        const src = basicAuth();
        src.metadata.annotations = { [ANNOTATION_FAN_OUT]: JSON.stringify([{ format: "mirror", namespaceSelector: "team=a" }]) };
        const [spec] = fanOutFromSource(src);
        const recipes = recipesForFanOut(src, spec, ["b", "src", "a", "b"]);
        assert.deepEqual(recipes.map((r) => `${r.target.namespace}/${r.target.name}`), ["a/creds", "b/creds"]);
    });

    it("rejects a malformed fan-out annotation with a DerivationError naming the annotation", () => {
        for (const bad of ["{", "{}", '[{"format":"zip","namespaces":["a"]}]', '[{"format":"mirror"}]', '[{"format":"mirror","namespaceSelector":"a=(b"}]']) {
            const src = basicAuth();
            src.metadata.annotations = { [ANNOTATION_FAN_OUT]: bad };
            assert.throws(() => fanOutFromSource(src), (e: unknown) => isDerivationError(e) && e.key === `annotations.${ANNOTATION_FAN_OUT}` && e.object === "src/creds");
        }
    });
});
