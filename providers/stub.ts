import type * as dynamic from "@pulumi/pulumi/dynamic";

/** The implementations a stub can stand for (the keys of `PROVIDERS` in providers/runtime.ts). */
export type ProviderKind = "derived" | "mirror" | "guard";

/**
 * Where the implementations are, relative to the project root (the directory holding Pulumi.yaml): the COMPILED
 * providers/runtime.ts, committed (`npm run build:providers` writes it; test/unit/providers/compiled.test.ts fails
 * when it is stale), so running it needs node and the production dependencies only.
 */
export const RUNTIME_MODULE = "providers/compiled/runtime.js";

/**
 * What stubs of provider schema 1 (state written before providers/schema.ts) look the loaded runtime up by. They
 * compile providers/runtime.ts with esbuild unless a runtime is already loaded under this key, so the loader
 * below registers the compiled one there too: in a process where a current stub ran first (every `pulumi up`
 * checks each resource with the program's current stub before it touches state), old stubs need no esbuild.
 */
export const LEGACY_RUNTIME_KEY = "providers/runtime.ts";

type Impl = Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;

/**
 * Loads the compiled runtime from the project checkout with a plain `require`, once per process (every stub in
 * that process shares it). Self-contained on purpose: this function is serialized into state with the stub, so it
 * captures nothing but `RUNTIME_MODULE`'s and `LEGACY_RUNTIME_KEY`'s values, and requires what it needs at call
 * time. The dynamic-provider plugin runs in the project directory (Pulumi starts it there), so the checkout is its
 * cwd; a workspace elsewhere that links the project's node_modules (the tests' copies) is found through where
 * @pulumi/pulumi resolves to.
 */
export function loadRuntime(moduleRel: string = RUNTIME_MODULE): Record<ProviderKind, Impl> {
    const g = globalThis as { __platformSecretsProviders?: Record<string, Record<ProviderKind, Impl>> };
    const loaded = g.__platformSecretsProviders?.[moduleRel];
    if (loaded) return loaded;
    /* eslint-disable @typescript-eslint/no-require-imports */
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    const roots = [process.cwd()];
    try {
        roots.push(path.resolve(path.dirname(require.resolve("@pulumi/pulumi/package.json")), "../../.."));
    } catch {
        /* no @pulumi/pulumi resolvable from here: only the cwd is tried */
    }
    const root = roots.find((r) => fs.existsSync(path.join(r, moduleRel)));
    if (root === undefined) {
        throw new Error(
            `platform-secrets providers: ${moduleRel} not found under ${roots.join(" or ")}. ` +
                "Fix: run pulumi from the platform-secrets project directory, a checkout at least as new as the one that last updated this stack, " +
                "with its dependencies installed (npm ci, or npm ci --omit=dev)",
        );
    }
    const providers = (require(path.join(root, moduleRel)) as { PROVIDERS: Record<ProviderKind, Impl> }).PROVIDERS;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const legacy: Record<string, Record<ProviderKind, Impl>> = moduleRel === RUNTIME_MODULE && !g.__platformSecretsProviders?.[LEGACY_RUNTIME_KEY] ? { [LEGACY_RUNTIME_KEY]: providers } : {};
    g.__platformSecretsProviders = { ...g.__platformSecretsProviders, ...legacy, [moduleRel]: providers };
    return providers;
}

/**
 * What every platform-secrets dynamic resource serializes into state as its provider: about 5 KB that delegates
 * each method to the implementation in the project checkout (providers/compiled/runtime.js).
 *
 * Why not the implementation itself: serialized, it carries the whole derivation core (107 KB), and Pulumi sends
 * that string with every RegisterResource, Check and Diff, encoded and decoded by JavaScript protobuf several
 * times per resource. Measured through the real engine (`npm run bench:engine`), a no-op preview paid 94 ms per
 * DerivedSecret for it on a quiet machine (250–540 ms under load); with the stub 15–18 ms, what a resource of any
 * Node-hosted provider costs. The implementation still lives in exactly one place, the
 * same derive/ the reconciler uses, and a checkout's provider must keep handling the state earlier versions wrote
 * (Pulumi's own rule for dynamic providers, which never replace a resource because its provider code changed).
 */
export function providerStub(kind: ProviderKind, moduleRel: string = RUNTIME_MODULE): dynamic.ResourceProvider {
    // One object per kind: Pulumi caches the serialization per provider OBJECT, so a new stub per resource would
    // be serialized again for every resource (measured: ~15 ms each).
    const key = `${kind}\0${moduleRel}`;
    const cached = stubs.get(key);
    if (cached) return cached;
    const stub = newStub(kind, moduleRel);
    stubs.set(key, stub);
    return stub;
}

const stubs = new Map<string, dynamic.ResourceProvider>();

function newStub(kind: ProviderKind, moduleRel: string): dynamic.ResourceProvider {
    const load = loadRuntime;
    const method = (name: string) =>
        async function (...args: unknown[]): Promise<unknown> {
            const impl = load(moduleRel)[kind];
            const f = impl?.[name];
            if (typeof f !== "function") throw new Error(`platform-secrets providers: ${kind}.${name} is not implemented by ${moduleRel}`);
            return f(...args);
        };
    return {
        check: method("check"),
        diff: method("diff"),
        create: method("create"),
        read: method("read"),
        update: method("update"),
        delete: method("delete"),
    } as unknown as dynamic.ResourceProvider;
}
