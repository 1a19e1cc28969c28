import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { derivedSecretProvider, LEGACY_RUNTIME_KEY, loadRuntime, mirroredSecretProvider, passwordPolicyGuardProvider, providerStub, ProviderKind, RUNTIME_MODULE } from "../../../providers";
import { PROVIDERS } from "../../../providers/runtime";

/**
 * The serialized provider stub (providers/stub.ts): small, self-contained, and delegating to the one
 * implementation. Its run inside the real dynamic-provider host is in test/integration/providers/engine.test.ts.
 */
describe("providers: serialized stub", () => {
    const KINDS: ProviderKind[] = ["derived", "mirror", "guard"];

    it("serializes to a few KB that name the runtime module and carry no derivation code", async () => {
        for (const kind of KINDS) {
            const sf = await pulumi.runtime.serializeFunction(() => providerStub(kind), { allowSecrets: true });
            assert.ok(sf.text.length < 8_000, `${kind}: ${sf.text.length} bytes`);
            assert.equal(sf.containsSecrets, false);
            assert.ok(sf.text.includes(RUNTIME_MODULE), kind);
            assert.ok(sf.text.includes(`kind: "${kind}"`), kind);
            for (const f of ["deriveSecret", "goJson", "validateRecipe", "ensureGrants", "@kubernetes/client-node", "esbuild"]) assert.ok(!sf.text.includes(f), `${kind}: ${f} serialized`);
            assert.doesNotMatch(sf.text, /require\(["'](typescript|ts-node)/, kind);
        }
    });

    it("one stub object per kind (Pulumi serializes each provider object once per run)", () => {
        for (const kind of KINDS) assert.equal(providerStub(kind), providerStub(kind), kind);
        assert.notEqual(providerStub("derived"), providerStub("mirror"));
    });

    it("runtime exports every kind with the six provider methods", () => {
        assert.deepEqual(Object.keys(PROVIDERS).sort(), [...KINDS].sort());
        assert.equal(PROVIDERS.derived, derivedSecretProvider);
        assert.equal(PROVIDERS.mirror, mirroredSecretProvider);
        assert.equal(PROVIDERS.guard, passwordPolicyGuardProvider);
        for (const kind of KINDS) {
            for (const m of ["check", "diff", "create", "read", "update", "delete"]) assert.equal(typeof (PROVIDERS[kind] as Record<string, unknown>)[m], "function", `${kind}.${m}`);
        }
    });

    it("delegates each call to the implementation and returns its answer", async () => {
        const news = { format: "mirror", source: { namespace: "a", name: "s" }, target: { namespace: "b", name: "s" }, options: {}, adopt: false };
        const viaStub = await providerStub("derived").check!({}, news);
        assert.deepEqual(viaStub, await derivedSecretProvider.check!({} as never, news as never));
        const bad = await providerStub("derived").check!({}, { ...news, format: "nope" });
        assert.ok((bad.failures ?? []).length > 0);
        const d = await providerStub("derived").diff!("b/s", { ...news }, { ...news, target: { namespace: "b", name: "t" } });
        assert.ok(d.replaces?.includes("target"));
    });

    it("loads the compiled runtime, also under the key schema-1 stubs look it up by (so they need no esbuild)", () => {
        assert.equal(RUNTIME_MODULE, "providers/compiled/runtime.js");
        const loaded = loadRuntime();
        assert.deepEqual(Object.keys(loaded).sort(), [...KINDS].sort());
        const g = globalThis as { __platformSecretsProviders?: Record<string, unknown> };
        assert.equal(g.__platformSecretsProviders?.[RUNTIME_MODULE], loaded);
        assert.equal(g.__platformSecretsProviders?.[LEGACY_RUNTIME_KEY], loaded);
    });

    it("a checkout without the runtime module fails with the module, where it looked, and the fix", () => {
        // Loaded runtimes are kept per module path, so another path is looked up afresh.
        assert.throws(() => loadRuntime("providers/no-such-runtime.ts"), (e: Error) => {
            assert.match(e.message, /providers\/no-such-runtime\.ts not found under /);
            assert.ok(e.message.includes(process.cwd()));
            assert.match(e.message, /Fix: run pulumi from the platform-secrets project directory, a checkout at least as new as the one that last updated this stack, with its dependencies installed \(npm ci, or npm ci --omit=dev\)/);
            return true;
        });
    });
});
