import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { SecretLike } from "../../../derive";
import { PROVIDER_SCHEMA, derivedSecretProvider, mirroredSecretProvider, passwordPolicyGuardProvider, providerStub } from "../../../providers";
import { FakeApi } from "./fake-api";
import type { RecordedResource, RecordedState } from "./fixtures/record-state";

const ROOT = path.resolve(__dirname, "../../..");
/** State as the providers of schema 1 wrote it (commit be4bd67), recorded by fixtures/record-state.ts. */
const SCHEMA_1 = JSON.parse(readFileSync(path.join(__dirname, "fixtures/schema-1.json"), "utf8")) as RecordedState;

type P = Record<string, (...a: unknown[]) => Promise<any>>;
const PROVIDER: Record<string, P> = { derived: derivedSecretProvider as unknown as P, mirror: mirroredSecretProvider as unknown as P, guard: passwordPolicyGuardProvider as unknown as P };

function resource(type: string): RecordedResource & { p: P } {
    const r = SCHEMA_1.resources.find((x) => x.type === type);
    assert.ok(r, type);
    return { ...r, p: PROVIDER[r.kind] };
}

/** The cluster as the schema-1 providers left it. */
function cluster(): FakeApi {
    const api = new FakeApi();
    for (const s of SCHEMA_1.live as SecretLike[]) api.put(s);
    for (const ns of ["fixture-src", "fixture-ci", "fixture-a", "fixture-b"]) api.nsLabels.set(ns, {});
    return api;
}

/**
 * This checkout against state the previous format wrote: read (refresh), diff (preview), update (the migrating
 * `up`) and delete (destroy) through the provider objects the compiled runtime exports (compiled.test.ts keeps
 * the two the same), against an in-memory apiserver holding what the old providers left.
 */
describe("providers: state written by provider schema 1", () => {
    let api: FakeApi;
    let restore: () => void;
    beforeEach(() => {
        api = cluster();
        restore = api.use();
    });
    afterEach(() => restore());

    it("the fixture is schema-1 state: no __schema, the esbuild stub beside it", () => {
        for (const r of SCHEMA_1.resources) {
            assert.equal(r.outputs.__schema, undefined, r.type);
            assert.match(String(r.outputs.__provider), /providers\/runtime\.ts/, r.type);
            assert.match(String(r.outputs.__provider), /esbuild/, r.type);
        }
    });

    for (const type of ["platform-secrets:TektonGitCredential", "platform-secrets:DockerConfigSecret"]) {
        it(`${type}: read reports it in sync, keeps schema 1 and the recorded stub; diff asks for the migrating update; update stamps schema ${PROVIDER_SCHEMA} without rewriting the secret; delete cleans up`, async () => {
            const r = resource(type);
            const read = await r.p.read(r.id, r.outputs);
            assert.deepEqual(read.props.drift, []);
            assert.deepEqual(read.props.data, r.outputs.data);
            assert.equal(read.props.__schema, undefined, "read returns the recorded stub, so it must not claim a newer schema");
            assert.equal(read.props.__provider, r.outputs.__provider);

            const diff = await r.p.diff(r.id, read.props, r.inputs);
            assert.deepEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: false });

            const target = r.inputs.target as { namespace: string; name: string };
            const before = JSON.stringify((await api.get(target.namespace, target.name))!.data);
            const writes = api.writes;
            const updated = await r.p.update(r.id, read.props, r.inputs);
            assert.equal(updated.outs.__schema, PROVIDER_SCHEMA);
            assert.equal(api.writes, writes, "the live secret was already right: nothing written");
            assert.equal(JSON.stringify((await api.get(target.namespace, target.name))!.data), before);
            assert.deepEqual(await r.p.diff(r.id, updated.outs, r.inputs), { changes: false, replaces: [], deleteBeforeReplace: false }, "migrated: no further change");

            await r.p.delete(r.id, r.outputs);
            assert.equal(await api.get(target.namespace, target.name), undefined);
            if (r.outputs.grantAdded === true) assert.equal(api.annotation("fixture-src", "git"), undefined, "the grant the old provider added is withdrawn");
        });
    }

    it("MirroredSecret: read in sync, migrating diff, delete removes both copies and their grants", async () => {
        const r = resource("platform-secrets:MirroredSecret");
        const read = await r.p.read(r.id, r.outputs);
        assert.deepEqual(read.props.drift, []);
        assert.deepEqual(read.props.targetNamespaces, ["fixture-a", "fixture-b"]);
        assert.equal(read.props.__schema, undefined);
        assert.equal((await r.p.diff(r.id, read.props, r.inputs)).changes, true);
        const updated = await r.p.update(r.id, read.props, r.inputs);
        assert.equal(updated.outs.__schema, PROVIDER_SCHEMA);
        await r.p.delete(r.id, r.outputs);
        assert.equal(await api.get("fixture-a", "shared"), undefined);
        assert.equal(await api.get("fixture-b", "shared"), undefined);
        assert.equal(api.annotation("fixture-src", "shared"), undefined);
    });

    it("PasswordPolicyGuard: read keeps the policy, the refusal still applies to old state, migrating diff otherwise", async () => {
        const r = resource("platform-secrets:PasswordPolicyGuard");
        const read = await r.p.read(r.id, r.outputs);
        assert.equal(read.props.policy, r.outputs.policy);
        assert.equal(read.props.__schema, undefined);
        assert.equal((await r.p.diff(r.id, read.props, r.inputs)).changes, true);
        const longer = { ...r.inputs, policy: String(r.inputs.policy).replace('"length":32', '"length":40') };
        await assert.rejects(r.p.diff(r.id, read.props, longer), /password app-db: length changed from 32 to 40.*fix: bump platform-secrets:passwords\[0\]\.rotation from 1 to 2/);
        assert.equal((await r.p.update(r.id, read.props, r.inputs)).outs.__schema, PROVIDER_SCHEMA);
        await r.p.delete(r.id, r.outputs);
    });
});

describe("providers: state written by provider schema 2 (before context)", () => {
    const SCHEMA_2 = JSON.parse(readFileSync(path.join(__dirname, "fixtures/schema-2.json"), "utf8")) as RecordedState;
    it("read keeps schema 2; diff asks for the migrating update; update stamps the current schema", async () => {
        const api = new FakeApi();
        for (const s of SCHEMA_2.live as SecretLike[]) api.put(s);
        for (const ns of ["fixture-src", "fixture-ci", "fixture-a", "fixture-b"]) api.nsLabels.set(ns, {});
        const restore = api.use();
        try {
            for (const r of SCHEMA_2.resources) {
                const p = PROVIDER[r.kind];
                assert.equal(r.outputs.__schema, 2, r.type);
                const read = await p.read(r.id, r.outputs);
                assert.equal(read.props.__schema, 2, r.type);
                assert.equal((await p.diff(r.id, read.props, r.inputs)).changes, true, r.type);
                assert.equal((await p.update(r.id, read.props, r.inputs)).outs.__schema, PROVIDER_SCHEMA, r.type);
            }
        } finally {
            restore();
        }
    });
});

describe("providers: state written by provider schema 3 (this one)", () => {
    // Recorded now, kept for the checkout that bumps the schema: its "previous format" fixture.
    const SCHEMA_3 = JSON.parse(readFileSync(path.join(__dirname, "fixtures/schema-3.json"), "utf8")) as RecordedState;
    it("read keeps schema 3, diff against the same inputs is no change, the stub is the compiled-runtime one", async () => {
        const api = new FakeApi();
        for (const s of SCHEMA_3.live as SecretLike[]) api.put(s);
        for (const ns of ["fixture-src", "fixture-ci", "fixture-a", "fixture-b"]) api.nsLabels.set(ns, {});
        const restore = api.use();
        try {
            assert.equal(SCHEMA_3.resources.length, 4);
            assert.equal(PROVIDER_SCHEMA, 3, "a new schema needs its own fixture and this test moved to the 'previous' block");
            for (const r of SCHEMA_3.resources) {
                const p = PROVIDER[r.kind];
                assert.equal(r.outputs.__schema, 3, r.type);
                assert.match(String(r.outputs.__provider), /providers\/compiled\/runtime\.js/);
                const read = await p.read(r.id, r.outputs);
                assert.equal(read.props.__schema, 3, r.type);
                assert.equal((await p.diff(r.id, read.props, r.inputs)).changes, false, r.type);
            }
        } finally {
            restore();
        }
    });
});

describe("providers: state written by a newer provider schema", () => {
    const NEWER = PROVIDER_SCHEMA + 1;
    for (const [type, name] of [
        ["platform-secrets:TektonGitCredential", "DerivedSecret fixture-ci/git-tekton"],
        ["platform-secrets:MirroredSecret", "MirroredSecret fixture-src/shared->shared"],
        ["platform-secrets:PasswordPolicyGuard", "PasswordPolicyGuard password-policy/app-db"],
    ]) {
        it(`${type}: read, diff, update and delete refuse it, naming the resource, both schemas and the fix, and touch nothing`, async () => {
            const api = cluster();
            const restore = api.use();
            try {
                const r = resource(type);
                const newer = { ...r.outputs, __schema: NEWER };
                const refused = (e: Error) => {
                    assert.ok(e.message.startsWith(`${name}: its state was written by platform-secrets provider schema ${NEWER}, newer than this checkout's schema ${PROVIDER_SCHEMA}`), e.message);
                    assert.match(e.message, /Fix: upgrade this checkout to the platform-secrets version that last ran pulumi up on this stack \(git pull, then npm ci\)/);
                    return true;
                };
                const live = JSON.stringify([...api.store.values()]);
                await assert.rejects(r.p.read(r.id, newer), refused);
                await assert.rejects(r.p.diff(r.id, newer, r.inputs), refused);
                await assert.rejects(r.p.update(r.id, newer, r.inputs), refused);
                await assert.rejects(r.p.delete(r.id, newer), refused);
                assert.equal(JSON.stringify([...api.store.values()]), live, "nothing written or deleted");
                await assert.rejects(r.p.read(r.id, { ...r.outputs, __schema: "2" }), /its state records provider schema "2", which is not a version number/);
            } finally {
                restore();
            }
        });
    }
});

describe("providers: the schema-1 stub recorded in state", () => {
    // Both stubs loaded as the dynamic-provider host loads them (require-from-string), in a process where esbuild,
    // typescript and ts-node cannot be loaded: what `npm ci --omit=dev` leaves.
    function host(stubs: string[]): { ok: boolean[]; errors: string[] } {
        const script = `
            const Module = require("node:module");
            const resolve = Module._resolveFilename;
            Module._resolveFilename = function (request, ...rest) {
                if (/^(esbuild|typescript|ts-node)(\\/|$)/.test(request)) throw new Error("Cannot find module '" + request + "'");
                return resolve.call(this, request, ...rest);
            };
            const requireFromString = require("require-from-string");
            const stubs = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
            const news = { format: "mirror", source: { namespace: "a", name: "s" }, target: { namespace: "b", name: "s" }, options: {} };
            (async () => {
                const ok = [], errors = [];
                for (const text of stubs) {
                    try { await requireFromString(text).handler().check({}, news); ok.push(true); }
                    catch (e) { ok.push(false); errors.push(e.message); }
                }
                process.stdout.write(JSON.stringify({ ok, errors }));
            })();
        `;
        const out = execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8", input: JSON.stringify(stubs), env: { ...process.env, NODE_ENV: "production", NODE_OPTIONS: "" } });
        return JSON.parse(out) as { ok: boolean[]; errors: string[] };
    }
    const oldStub = resource("platform-secrets:TektonGitCredential").outputs.__provider as string;

    it("alone (a refresh or destroy before the migrating up), it needs esbuild and says so", () => {
        const r = host([oldStub]);
        assert.deepEqual(r.ok, [false]);
        assert.match(r.errors[0], /esbuild is not installed in .*Fix: npm ci in the project directory/);
    });

    it("after a current stub ran in the same process (any pulumi up), it uses the compiled runtime without esbuild", async () => {
        const stub = providerStub("derived");
        const current = (await pulumi.runtime.serializeFunction(() => stub, { allowSecrets: true })).text;
        assert.deepEqual(host([current, oldStub]), { ok: [true, true], errors: [] });
    });
});
