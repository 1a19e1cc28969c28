import type { BinarySpec, CopiedModule } from "./binaries";
import type { SourcePatch } from "./patches";

/**
 * The External Secrets Operator controller, built from its Go module like the servers (build.ts), trimmed to the
 * providers the stack and its tests use.
 *
 * v0.16.2: the proxy lists v1.3.2 too, but does not serve it whole (go-partial.tsv). ESO's go.mod replaces
 * Masterminds/sprig with its own fork; that non-local replace is copied into the wrapper as is (wrapperReplaces).
 * The root package is the controller's main package (main.go → cmd/controller). It reads KUBECONFIG (there is no
 * --kubeconfig flag) and serves the external-secrets.io/v1 API that the stack renders.
 *
 * Trim: pkg/provider/register and pkg/generator/register blank-import every provider and generator (AWS, Azure,
 * GCP, IBM, Oracle, …), about 1,760 non-standard packages in all, most of them cloud SDKs this project never
 * talks to. The module is copied into the wrapper with both import lists cut down to what the stack may use
 * (about 760 packages; client-go's typed clients are most of what is left):
 *   providers: vault (the stack's ClusterSecretStore), kubernetes, fake (throwaway stores in tests);
 *   generators: password and uuid (the stack's `esoGenerators` config accepts them), vault (VaultDynamicSecret;
 *   free, the vault provider is compiled anyway), fake.
 * The vault provider still pulls a slice of aws-sdk-go (its AWS IAM auth method); that is part of the provider.
 * A store or generator of a dropped kind is accepted by the apiserver (the CRDs are all installed) and fails at
 * reconcile with ESO's own error naming it ("failed to find registered store backend for type: …", "generatorRef
 * has unknown kind …").
 */
export const ESO_CONTROLLER_VERSION = "v0.16.2";
export const ESO_MODULE = "github.com/external-secrets/external-secrets";

export const ESO_PROVIDERS = ["fake", "kubernetes", "vault"] as const;
export const ESO_GENERATORS = ["fake", "password", "uuid", "vault"] as const;

/**
 * Keeps only the blank imports `_ "<prefix>/<name>"` for `keep` in the single `import ( … )` block of a Go
 * register file. Throws when the block is missing, holds anything but blank imports, or lacks one of `keep`:
 * a version bump that reshapes the file fails the build instead of silently building something else.
 */
export function keepBlankImports(text: string, prefix: string, keep: readonly string[]): string {
    const blocks = [...text.matchAll(/^import \(\n([\s\S]*?)^\)\n/gm)];
    if (blocks.length !== 1) throw new Error(`expected one "import (…)" block, found ${blocks.length}`);
    const block = blocks[0]!;
    const lines = block[1]!.split("\n").filter((l) => l.trim() !== "");
    const imports = lines.map((l) => {
        const m = /^\s*_ "([^"]+)"\s*$/.exec(l);
        if (!m) throw new Error(`the import block has a line that is not a blank import: ${l.trim()}`);
        return m[1]!;
    });
    const wanted = keep.map((k) => `${prefix}/${k}`);
    const missing = wanted.filter((w) => !imports.includes(w));
    if (missing.length) throw new Error(`expected blank imports not found: ${missing.join(", ")} (has: ${imports.join(", ")})`);
    const body = wanted.map((w) => `\t_ "${w}"\n`).join("");
    return text.slice(0, block.index!) + `import (\n${body})\n` + text.slice(block.index! + block[0].length);
}

export function esoRegisterPatches(): SourcePatch[] {
    return [
        {
            file: "pkg/provider/register/register.go",
            description: `register only the ${ESO_PROVIDERS.join(", ")} providers`,
            apply: (t) => keepBlankImports(t, `${ESO_MODULE}/pkg/provider`, ESO_PROVIDERS),
        },
        {
            file: "pkg/generator/register/register.go",
            description: `register only the ${ESO_GENERATORS.join(", ")} generators`,
            apply: (t) => keepBlankImports(t, `${ESO_MODULE}/pkg/generator`, ESO_GENERATORS),
        },
    ];
}

export function esoSpec(version = ESO_CONTROLLER_VERSION): BinarySpec {
    const trimmed: CopiedModule = { module: ESO_MODULE, version, dir: "patched/external-secrets", patches: esoRegisterPatches() };
    return {
        // Not "external-secrets": the cache holds the trimmed build, never to be mistaken for the full controller.
        name: "external-secrets-vault",
        module: ESO_MODULE,
        version,
        outputs: [{ pkg: ESO_MODULE, bin: "external-secrets" }],
        ldflags: ["-s", "-w"],
        tags: [],
        resolveLocal: () => undefined,
        patchedModules: [trimmed],
    };
}
