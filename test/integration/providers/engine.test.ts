import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { providerStub } from "../../../providers";
import { canaryValue, randomName } from "../../support";
import { DynamicProviderHost, serializeProvider } from "./engine-host";
import { Cluster, unb64 } from "./helpers";

/**
 * The engine path: each provider serialized like pulumi.dynamic.Resource serializes it (the stub of
 * providers/stub.ts, which requires the committed providers/compiled/runtime.js in the host), loaded and run by the real dynamic-provider
 * host of @pulumi/pulumi in another process, over gRPC, from the project directory as the engine starts it.
 * Catches closure-serialization failures (captured module objects, classes, native objects) that in-process
 * tests cannot see.
 */
describe("providers: through the real dynamic-provider host (gRPC, separate process)", function () {
    const c = new Cluster();
    let host: DynamicProviderHost;
    let src: string;
    let dst: string;
    const canaries: string[] = [];
    const errors: string[] = [];

    before(async () => {
        src = await c.namespace("eng-src");
        dst = await c.namespace("eng-dst", { "platform-secrets.io/engine-test": "yes" });
        host = await DynamicProviderHost.start();
    });
    after(async () => {
        await host?.stop();
        await c.cleanup();
    });

    it("DerivedSecret: check, create, read, drift after rotation, update, diff, delete", async () => {
        const provider = await serializeProvider(providerStub("derived"));
        assert.equal(provider.containsSecrets, false);
        const password = canaryValue();
        canaries.push(password);
        const sourceName = randomName("src");
        await c.secret(src, sourceName, "kubernetes.io/basic-auth", { username: "bot", password });
        const urn = "urn:pulumi:test::platform-secrets::pulumi-nodejs:dynamic/platform-secrets:TektonGitCredential::t";
        const inputs = {
            __provider: provider.text,
            format: "tekton-git",
            source: { namespace: src, name: sourceName },
            target: { namespace: dst, name: randomName("tekton") },
            options: { gitUrls: ["https://github.com/org/repo"] },
            kubeconfig: c.kubeconfig,
            adopt: false,
        };

        const bad = await host.check(urn, {}, { ...inputs, options: { gitUrls: ["ftp://nope"] } });
        assert.equal(bad.failures[0]?.property, "options.gitUrls[0]");
        assert.deepEqual((await host.check(urn, {}, inputs)).failures, []);

        const created = await host.create(urn, inputs);
        assert.equal(created.id, `${inputs.target.namespace}/${inputs.target.name}`);
        assert.equal(unb64((created.props.data as Record<string, string>).password), password);
        assert.equal((await c.get(dst, inputs.target.name))?.metadata?.annotations?.["tekton.dev/git-0"], "https://github.com");

        // The grant code runs inside the host too: the source now grants the target's namespace, recorded in state.
        assert.equal(created.props.grantAdded, true);
        assert.equal(created.props.sourceHash, undefined);
        assert.equal((await c.get(src, sourceName))?.metadata?.annotations?.["platform-secrets.io/allow-namespaces"], dst);

        const read1 = await host.read(urn, created.id, created.props);
        assert.deepEqual(read1.props?.drift, []);

        const rotated = canaryValue();
        canaries.push(rotated);
        await c.setText(src, sourceName, "password", rotated);
        const read2 = await host.read(urn, created.id, created.props);
        assert.deepEqual(read2.props?.drift, ["data.password", "annotations.platform-secrets.io/source-hash"]);
        assert.equal((await host.diff(urn, created.id, read2.props!, inputs)).changes, 2 /* DIFF_SOME */);

        const updated = await host.update(urn, created.id, read2.props!, inputs);
        assert.deepEqual(updated.drift, []);
        assert.equal(unb64((await c.get(dst, inputs.target.name))!.data!.password), rotated);

        const moved = await host.diff(urn, created.id, updated, { ...inputs, target: { namespace: dst, name: "elsewhere" } });
        assert.deepEqual(moved.replaces, ["target"]);

        await host.delete(urn, created.id, updated);
        assert.equal(await c.get(dst, inputs.target.name), undefined);
        assert.equal((await c.get(src, sourceName))?.metadata?.annotations?.["platform-secrets.io/allow-namespaces"], undefined, "the grant it added is withdrawn");
        await host.delete(urn, created.id, updated); // already gone is fine

        // An error raised inside the serialized provider reaches the engine as a clean message.
        const missing = { ...inputs, source: { namespace: src, name: randomName("absent") }, target: { namespace: dst, name: randomName("t") } };
        const e = await host.create(urn, missing).then(
            () => undefined,
            (err: Error) => err,
        );
        assert.ok(e, "create with a missing source must fail");
        errors.push(e.message);
        assert.match(e.message, /source secret .* not found\. Fix: create the source secret first/);
    });

    it("MirroredSecret: create into labelled namespaces, read, delete", async () => {
        const provider = await serializeProvider(providerStub("mirror"));
        const value = canaryValue();
        canaries.push(value);
        const sourceName = randomName("shared");
        await c.secret(src, sourceName, "Opaque", { token: value });
        const urn = "urn:pulumi:test::platform-secrets::pulumi-nodejs:dynamic/platform-secrets:MirroredSecret::m";
        const inputs = { __provider: provider.text, source: { namespace: src, name: sourceName }, namespaceSelector: "platform-secrets.io/engine-test=yes", kubeconfig: c.kubeconfig, adopt: false };
        const created = await host.create(urn, inputs);
        assert.deepEqual(created.props.targetNamespaces, [dst]);
        assert.equal(unb64((await c.get(dst, sourceName))!.data!.token), value);
        const r = await host.read(urn, created.id, created.props);
        assert.deepEqual(r.props?.drift, []);
        await host.delete(urn, created.id, created.props);
        assert.equal(await c.get(dst, sourceName), undefined);
    });

    it("outside a platform-secrets checkout, the stub fails naming the runtime module and the fix", async () => {
        const elsewhere = await fs.mkdtemp(path.join(tmpdir(), "ps-not-a-project-"));
        const other = await DynamicProviderHost.start({ cwd: elsewhere });
        try {
            const text = (await serializeProvider(providerStub("derived"))).text;
            const e = await other.check("urn:pulumi:test::p::pulumi-nodejs:dynamic/platform-secrets:DockerConfigSecret::x", {}, { __provider: text, format: "mirror" }).then(
                () => undefined,
                (err: Error) => err,
            );
            assert.ok(e, "expected the stub to fail outside a checkout");
            assert.match(e.message, /providers\/compiled\/runtime\.js not found under .*Fix: run pulumi from the platform-secrets project directory/);
        } finally {
            await other.stop();
            await fs.rm(elsewhere, { recursive: true, force: true });
        }
    });

    it("negative control: a provider capturing a native object fails in the host although it works in-process", async () => {
        // What derive/source.ts once did: a module-level TextDecoder. Its internal slots do not survive serialization.
        const decoder = new TextDecoder("utf-8", { fatal: true });
        const broken = { create: async () => ({ id: "x", outs: { text: decoder.decode(Buffer.from("ok")) } }) };
        assert.deepEqual(await broken.create(), { id: "x", outs: { text: "ok" } });
        const text = (await serializeProvider(broken)).text;
        const e = await host.create("urn:pulumi:test::p::pulumi-nodejs:dynamic:Resource::broken", { __provider: text }).then(
            () => undefined,
            (err: Error) => err,
        );
        assert.ok(e, "the serialized provider was expected to fail inside the host");
    });

    it("canary: no planted value in the host's output, in errors, or in the serialized providers", async () => {
        const texts = [(await serializeProvider(providerStub("derived"))).text, (await serializeProvider(providerStub("mirror"))).text];
        const everything = [...host.output, ...errors, ...texts].join("\n");
        assert.ok(canaries.length >= 3);
        for (const v of canaries) assert.ok(!everything.includes(v), "a planted value leaked");
    });
});
