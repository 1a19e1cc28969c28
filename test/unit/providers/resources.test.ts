import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "node:assert";
import { canaryValue } from "../../support";

interface Seen {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Mocks hand secret inputs over wrapped; the real engine unwraps them for dynamic providers (acceptSecrets=false). */
function unwrap(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(unwrap);
    if (typeof v === "object" && v !== null) {
        const o = v as Record<string, unknown>;
        if (SECRET_SIG in o) return unwrap(o.value);
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
    }
    return v;
}

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

describe("providers: Pulumi resource classes (mocks)", function () {
    const seen: Seen[] = [];
    // Loaded after setMocks so the resources register against the mock monitor.
    let P: typeof import("../../../providers");

    before(async () => {
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    seen.push({ type: args.type, name: args.name, inputs: args.inputs });
                    return { id: `${args.name}-id`, state: args.inputs };
                },
                call: () => ({}),
            },
            "platform-secrets",
            "unit",
            false,
        );
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        P = require("../../../providers");
    });

    it("wrappers register dynamic resources with the format and options the core expects", async () => {
        const common = { source: { namespace: "src", name: "creds" }, kubeconfig: "apiVersion: v1" };
        const r = [
            new P.TektonGitCredential("t", { ...common, target: { namespace: "ci", name: "git" }, gitUrls: ["https://github.com/o/r"] }),
            new P.DockerConfigSecret("d", { ...common, target: { namespace: "ci", name: "reg" }, registry: "ghcr.io" }),
            new P.KargoCredential("k", { ...common, target: { namespace: "kargo", name: "git" }, credType: "git", repoURL: "https://github.com/o/r" }),
            new P.ArgoCdRepository("a", { ...common, target: { namespace: "argocd", name: "repo" }, secretType: "repository", url: "https://github.com/o/r", project: "p" }),
            new P.MirroredSecret("m", { source: common.source, namespaceSelector: "team=a" }),
        ];
        await Promise.all(r.map((x) => promiseOf(x.urn)));
        const byName = Object.fromEntries(seen.map((s) => [s.name, s]));
        assert.equal(byName.t.type, "pulumi-nodejs:dynamic/platform-secrets:TektonGitCredential");
        assert.deepEqual(byName.t.inputs.options, { gitUrls: ["https://github.com/o/r"] });
        assert.deepEqual(byName.d.inputs.options, { registry: "ghcr.io", tektonAnnotation: false });
        assert.deepEqual(byName.k.inputs.options, { credType: "git", repoURL: "https://github.com/o/r", repoURLIsRegex: false });
        assert.deepEqual(byName.a.inputs.options, { secretType: "repository", url: "https://github.com/o/r", type: "git", project: "p" });
        assert.equal(byName.m.type, "pulumi-nodejs:dynamic/platform-secrets:MirroredSecret");
        for (const s of seen) {
            assert.equal(typeof s.inputs.__provider, "string", `${s.name}: provider serialized`);
            // The stub (providers/stub.ts), not the 107 KB implementation: it travels with every Check and Diff.
            assert.ok((s.inputs.__provider as string).length < 8_000, `${s.name}: serialized provider is ${(s.inputs.__provider as string).length} bytes`);
            assert.match(s.inputs.__provider as string, /providers\/compiled\/runtime\.js/);
            assert.ok(!(s.inputs.__provider as string).includes("esbuild"), `${s.name}: the stub must not need esbuild`);
            assert.equal(s.inputs.adopt, false);
            // Each input validates with the provider's own check.
            const inputs = unwrap(s.inputs) as Record<string, unknown>;
            if (s.name !== "m") assert.ok(SECRET_SIG in (s.inputs.kubeconfig as object), `${s.name}: kubeconfig registered as a secret`);
            const failures = s.name === "m" ? P.checkMirrorInputs(inputs) : P.checkDerivedInputs(inputs);
            assert.deepEqual(failures, [], s.name);
        }
    });

    it("kubeconfig is a secret input and data/kubeconfig are registered as secret outputs", async () => {
        const kc = P.secretKubeconfig(canaryValue());
        assert.ok(kc && (await pulumi.isSecret(kc)));
        assert.equal(P.secretKubeconfig(undefined), undefined);
        const opts = P.withSecretOutputs({ additionalSecretOutputs: ["labels"], protect: true });
        assert.deepEqual([...(opts.additionalSecretOutputs ?? [])].sort(), ["data", "kubeconfig", "labels"]);
        assert.equal(opts.protect, true);
    });
});
