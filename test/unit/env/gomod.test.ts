import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
    compareGoVersions,
    kubernetesStagingVersion,
    maxGoVersion,
    parseGoMod,
    renderWrapperGoMod,
    requiredVersionResolver,
    wrapperReplaces,
} from "../../env/gomod";

const KUBE_LIKE = `// generated
module k8s.io/kubernetes

go 1.24.0

godebug default=go1.24

require (
	github.com/spf13/cobra v1.9.1
	k8s.io/api v0.0.0
	k8s.io/client-go v0.0.0 // indirect
)

require go.uber.org/zap v1.27.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
)
`;

const VAULT_LIKE = `module github.com/hashicorp/vault

go 1.25.3

replace github.com/hashicorp/vault/api => ./api

replace github.com/hashicorp/vault/sdk => ./sdk

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

replace github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1

require (
	github.com/hashicorp/vault/api v1.22.0
	github.com/hashicorp/vault/sdk v0.21.0
)
`;

const ETCD_LIKE = `module go.etcd.io/etcd/server/v3

go 1.24.0

require go.etcd.io/etcd/api/v3 v3.6.8

replace (
	go.etcd.io/etcd/api/v3 => ../api
)

// Bad imports are sometimes causing attempts to pull that code.
replace go.etcd.io/etcd => ./FORBIDDEN_DEPENDENCY
`;

describe("env/gomod", () => {
    it("parses module, go, single and block requires (with indirect) and replaces", () => {
        const m = parseGoMod(KUBE_LIKE);
        assert.equal(m.module, "k8s.io/kubernetes");
        assert.equal(m.go, "1.24.0");
        assert.deepEqual(
            m.requires.map((r) => [r.path, r.version, r.indirect]),
            [
                ["github.com/spf13/cobra", "v1.9.1", false],
                ["k8s.io/api", "v0.0.0", false],
                ["k8s.io/client-go", "v0.0.0", true],
                ["go.uber.org/zap", "v1.27.0", false],
            ],
        );
        assert.deepEqual(m.replaces, [
            { from: "k8s.io/api", fromVersion: undefined, to: "./staging/src/k8s.io/api", toVersion: undefined },
            { from: "k8s.io/client-go", fromVersion: undefined, to: "./staging/src/k8s.io/client-go", toVersion: undefined },
        ]);
    });

    it("rewrites Kubernetes staging replaces to the published v0.<minor>.<patch> modules", () => {
        const staging = kubernetesStagingVersion("v1.34.4");
        assert.equal(staging, "v0.34.4");
        const r = wrapperReplaces(parseGoMod(KUBE_LIKE), requiredVersionResolver(() => staging));
        assert.deepEqual(r, [
            { from: "k8s.io/api", fromVersion: undefined, to: "k8s.io/api", toVersion: "v0.34.4" },
            { from: "k8s.io/client-go", fromVersion: undefined, to: "k8s.io/client-go", toVersion: "v0.34.4" },
        ]);
    });

    it("points vault's ./api and ./sdk at the required versions and copies module replaces verbatim", () => {
        const r = wrapperReplaces(parseGoMod(VAULT_LIKE), requiredVersionResolver());
        const text = renderWrapperGoMod({ module: "w", go: "1.25.3", requires: [{ path: "github.com/hashicorp/vault", version: "v1.21.4" }], replaces: r });
        assert.match(text, /\tgithub.com\/hashicorp\/vault\/api => github.com\/hashicorp\/vault\/api v1.22.0\n/);
        assert.match(text, /\tgithub.com\/hashicorp\/vault\/sdk => github.com\/hashicorp\/vault\/sdk v0.21.0\n/);
        assert.match(text, /\tgithub.com\/99designs\/keyring => github.com\/Jeffail\/keyring v1.2.3\n/);
        assert.match(text, /\tgithub.com\/ma314smith\/signedxml v1.1.1 => github.com\/moov-io\/signedxml v1.1.1\n/);
        assert.match(text, /^module w\n\ngo 1.25.3\n/);
        assert.doesNotMatch(text, /=> \.\.?\//, "no local path survives");
        // The rendered wrapper parses back to the same directives.
        assert.deepEqual(parseGoMod(text).replaces, r);
    });

    it("drops etcd's FORBIDDEN_DEPENDENCY guard (no version known) and keeps ../api at the required version", () => {
        const r = wrapperReplaces(parseGoMod(ETCD_LIKE), requiredVersionResolver());
        assert.deepEqual(r, [{ from: "go.etcd.io/etcd/api/v3", fromVersion: undefined, to: "go.etcd.io/etcd/api/v3", toVersion: "v3.6.8" }]);
    });

    it("rejects malformed input with the line number", () => {
        assert.throws(() => parseGoMod("go 1.22\n"), /no module directive/);
        assert.throws(() => parseGoMod("module x\nreplace a b c\n"), /line 2: malformed replace/);
        assert.throws(() => parseGoMod("module x\nrequire a\n"), /line 2: malformed require/);
        assert.throws(() => kubernetesStagingVersion("1.34"), /v1\.<minor>\.<patch>/);
    });

    it("compares go versions numerically (property: antisymmetric, max is an upper bound)", () => {
        assert.ok(compareGoVersions("1.25.3", "1.24") > 0);
        assert.ok(compareGoVersions("1.9", "1.10") < 0);
        assert.equal(compareGoVersions("1.24", "1.24.0"), 0);
        const ver = fc.tuple(fc.constant(1), fc.nat(40), fc.nat(20)).map(([a, b, c]) => `${a}.${b}.${c}`);
        fc.assert(
            fc.property(ver, ver, (a, b) => {
                assert.equal(Math.sign(compareGoVersions(a, b)), -Math.sign(compareGoVersions(b, a)) || 0);
                const m = maxGoVersion([a, b]);
                assert.ok(compareGoVersions(m, a) >= 0 && compareGoVersions(m, b) >= 0);
            }),
        );
    });
});
