import { strict as assert } from "node:assert";
import { allSpecs, specDir } from "../../env/binaries";
import { esoArgs, esoEnv } from "../../env/eso";
import { ESO_MODULE, esoRegisterPatches, esoSpec, keepBlankImports } from "../../env/eso-binary";
import { checkNoConversionWebhook } from "../../env/eso-crds";

const REGISTER = `/*
license
*/

package register

// packages imported here are registered to the controller schema.

import (
\t_ "${ESO_MODULE}/pkg/provider/aws"
\t_ "${ESO_MODULE}/pkg/provider/fake"
\t_ "${ESO_MODULE}/pkg/provider/kubernetes"
\t_ "${ESO_MODULE}/pkg/provider/vault"
\t_ "${ESO_MODULE}/pkg/provider/yandex/lockbox"
)
`;

const crd = (name: string, versions: { name: string; served: boolean; storage: boolean }[], conversion?: unknown): any => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name },
    spec: { versions, ...(conversion ? { conversion } : {}) },
});
const CORE = ["externalsecrets", "clusterexternalsecrets", "secretstores", "clustersecretstores"].map((p) =>
    crd(`${p}.external-secrets.io`, [
        { name: "v1", served: true, storage: true },
        { name: "v1beta1", served: true, storage: false },
    ]),
);

describe("env/eso (the trimmed ESO controller)", () => {
    it("keeps only the wanted blank imports of a register file", () => {
        const out = keepBlankImports(REGISTER, `${ESO_MODULE}/pkg/provider`, ["fake", "kubernetes", "vault"]);
        assert.match(out, /^package register$/m);
        assert.match(out, /_ "github\.com\/external-secrets\/external-secrets\/pkg\/provider\/vault"/);
        assert.doesNotMatch(out, /aws|lockbox/);
        assert.equal((out.match(/^\t_ "/gm) ?? []).length, 3);
    });

    it("fails loudly when the register file changed shape", () => {
        assert.throws(() => keepBlankImports(REGISTER, `${ESO_MODULE}/pkg/provider`, ["vault", "conjur"]), /not found: .*conjur/);
        assert.throws(() => keepBlankImports(REGISTER.replace('_ "', 'x "'), `${ESO_MODULE}/pkg/provider`, ["vault"]), /not a blank import/);
        assert.throws(() => keepBlankImports("package register\n", `${ESO_MODULE}/pkg/provider`, ["vault"]), /found 0/);
    });

    it("is a distinct cached build of the ESO module, patched, and part of `build`", () => {
        const s = esoSpec();
        assert.equal(s.module, ESO_MODULE);
        assert.equal(s.patchedModules?.[0]?.module, ESO_MODULE);
        assert.equal(s.patchedModules?.[0]?.version, s.version);
        assert.deepEqual(esoRegisterPatches().map((p) => p.file), ["pkg/provider/register/register.go", "pkg/generator/register/register.go"]);
        assert.match(specDir(s, "/r"), /^\/r\/external-secrets-vault-v\d/);
        assert.ok(allSpecs().some((x) => x.name === s.name));
    });

    it("binds only loopback, without leader election, and hides ambient Vault/AWS credentials", () => {
        const args = esoArgs(1234);
        assert.ok(args.includes("--metrics-addr=127.0.0.1:1234"));
        assert.ok(args.includes("--enable-leader-election=false"));
        assert.ok(!args.some((a) => a.startsWith("--kubeconfig")), "v0.16.2 has no --kubeconfig flag");
        const env = esoEnv("/k", "/h", { PATH: "/bin", VAULT_TOKEN: "t", VAULT_ADDR: "a", AWS_REGION: "r", KUBECONFIG: "/other" });
        assert.deepEqual(env, { PATH: "/bin", KUBECONFIG: "/k", HOME: "/h" });
    });

    it("accepts CRDs that need no conversion webhook and serve v1; refuses the others", () => {
        checkNoConversionWebhook(CORE, "vX");
        checkNoConversionWebhook([...CORE, crd("x", [{ name: "v1alpha1", served: true, storage: true }], { strategy: "None" })], "vX");
        assert.throws(() => checkNoConversionWebhook([...CORE.slice(1), crd("externalsecrets.external-secrets.io", CORE[0].spec.versions, { strategy: "Webhook" })], "vX"), /Webhook/);
        assert.throws(
            () => checkNoConversionWebhook([...CORE.slice(1), crd("externalsecrets.external-secrets.io", [{ name: "v1beta1", served: true, storage: true }])], "vX"),
            /does not serve external-secrets.io\/v1/,
        );
        assert.throws(() => checkNoConversionWebhook(CORE.slice(1), "vX"), /3 of the 4/);
    });
});
