import { strict as assert } from "node:assert";
import fc from "fast-check";
import { DEFAULT_SPECIAL, generate, randomProvider, RANDOM_PASSWORD } from "../../standins/random";
import { isSecret, reveal, secret, UNKNOWN } from "../../standins/secrets";
import { renderTemplate } from "../../standins/eso-template";
import { selectorMatches, storeAdmits, syncedVersion } from "../../standins/eso";
import { parseId, secretId, vaultProvider } from "../../standins/vault";
import { dockerConfigTemplate } from "../../../stacks/eso/manifests";
import { generateKubernetesEmbeds, kubernetesProviderSpec, pulumiCliSpec } from "../../env/pulumi-binaries";
import { wrapperReplaces, parseGoMod } from "../../env/gomod";
import { compileStandIns, standInWrapper } from "../../env/engine";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const URN = `urn:pulumi:local::platform-secrets::${RANDOM_PASSWORD}::pw`;

describe("stand-ins (test/standins): pure parts", () => {
    it("random: generated passwords honour length, classes and minimums", () => {
        fc.assert(
            fc.property(fc.integer({ min: 8, max: 64 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), (length, minSpecial, upper) => {
                const v = generate({ length, special: true, upper, lower: true, numeric: true, minSpecial, minUpper: 0, minLower: 0, minNumeric: 1, overrideSpecial: "-_" });
                assert.equal(v.length, length);
                assert.ok([...v].filter((c) => "-_".includes(c)).length >= minSpecial);
                assert.ok(/[0-9]/.test(v));
                if (!upper) assert.ok(!/[A-Z]/.test(v));
                assert.ok([...v].every((c) => /[A-Za-z0-9]/.test(c) || "-_".includes(c)));
            }),
        );
        assert.ok([...generate({ length: 200, special: true, upper: false, lower: false, numeric: false })].every((c) => DEFAULT_SPECIAL.includes(c)));
    });

    it("random: every input change replaces (keepers included); equal inputs are no change; result is secret", async () => {
        const checked = await randomProvider.check!(URN, {}, { length: 32, special: false, keepers: { rotation: "0" } });
        assert.deepEqual(checked.failures, []);
        const created = await randomProvider.create!(URN, checked.inputs);
        assert.ok(isSecret(created.outs.result));
        assert.equal((reveal(created.outs.result) as string).length, 32);
        const same = await randomProvider.diff!("none", URN, created.outs, checked.inputs);
        assert.equal(same.changes, false);
        const bumped = (await randomProvider.check!(URN, {}, { length: 32, special: false, keepers: { rotation: "1" } })).inputs;
        assert.deepEqual(await randomProvider.diff!("none", URN, created.outs, bumped), { changes: true, replaces: ["keepers"] });
        const longer = (await randomProvider.check!(URN, {}, { length: 40, special: false, keepers: { rotation: "0" } })).inputs;
        assert.deepEqual((await randomProvider.diff!("none", URN, created.outs, longer)).replaces, ["length"]);
        const read = await randomProvider.read!("none", URN, created.outs);
        assert.deepEqual(read.props, created.outs);
        const bad = await randomProvider.check!(URN, {}, { length: 2, minUpper: 2, minNumeric: 2 });
        assert.ok(bad.failures!.some((f) => f.property === "length"));
    });

    it("vault: ids, check failures, force-new vs in-place diffs, dataJson kept secret", async () => {
        assert.equal(secretId("/secret/", "a/b"), "secret/data/a/b");
        assert.deepEqual(parseId("secret/data/a/b"), { mount: "secret", name: "a/b" });
        const urn = "urn:pulumi:local::p::vault:kv/secretV2:SecretV2::s";
        const ok = await vaultProvider.check!(urn, {}, { mount: "secret", name: "x", dataJson: '{"a":"1"}' });
        assert.deepEqual(ok.failures, []);
        assert.ok(isSecret(ok.inputs.dataJson));
        assert.ok((await vaultProvider.check!(urn, {}, { mount: "secret", name: "x", dataJson: "[1]" })).failures!.some((f) => f.property === "dataJson"));
        const olds = { mount: "secret", name: "x", dataJson: secret('{"a":"1","b":"2"}'), deleteAllVersions: false };
        assert.deepEqual(await vaultProvider.diff!("secret/data/x", urn, olds, { ...olds, dataJson: secret('{"b":"2","a":"1"}') }), { changes: false, replaces: [] });
        assert.deepEqual(await vaultProvider.diff!("secret/data/x", urn, olds, { ...olds, dataJson: secret('{"a":"3"}') }), { changes: true, replaces: [] });
        assert.deepEqual(await vaultProvider.diff!("secret/data/x", urn, olds, { ...olds, name: "y" }), { changes: true, replaces: ["name"] });
        // Preview of a rotation: dataJson is computed from the replaced password, so not known yet.
        const unknown = await vaultProvider.check!(urn, olds, { mount: "secret", name: "x", dataJson: secret(UNKNOWN) });
        assert.deepEqual(unknown.failures, []);
        assert.deepEqual(await vaultProvider.diff!("secret/data/x", urn, olds, unknown.inputs), { changes: true, replaces: [] });
    });

    it("ESO template subset renders the program's dockerconfigjson template like Go's text/template + sprig", () => {
        const d = { username: 'bot"x', password: "p{{w}}:" };
        const out = JSON.parse(renderTemplate(dockerConfigTemplate("ghcr.io")[".dockerconfigjson"]!, d));
        assert.deepEqual(out.auths["ghcr.io"], { username: 'bot"x', password: "p{{w}}:", auth: Buffer.from('bot"x:p{{w}}:').toString("base64") });
        assert.equal(renderTemplate('a{{ "{{" }}b', {}), "a{{b");
        assert.throws(() => renderTemplate("{{ .nope }}", {}), /no entry for key "nope"/);
        assert.throws(() => renderTemplate("{{ .a | sha256sum }}", { a: "x" }), /unsupported template function "sha256sum"/);
        // The refusals derive makes, made by the template (fail), never with the value.
        const tpl = dockerConfigTemplate("ghcr.io")[".dockerconfigjson"]!;
        assert.throws(() => renderTemplate(tpl, { username: "a:b", password: "p" }), /error calling fail: docker: key "username": the user name contains ':'/);
        assert.throws(() => renderTemplate(tpl, { username: "a", password: "  " }), /key "password": the value is empty/);
        assert.throws(() => renderTemplate(tpl, { username: "a", password: "pw\n" }), /key "password": the value ends with a newline/);
        assert.equal(renderTemplate("x {{- if eq .a \"1\" }} one {{ end -}} y", { a: "1" }), "x one y");
        assert.equal(renderTemplate("x{{ if (eq .a \"1\") }}{{ .nope }}{{ end }}y", { a: "2" }), "xy");
    });

    it("ESO: store conditions, selectors, and syncedResourceVersion changing with annotations", () => {
        const store = { spec: { conditions: [{ namespaces: ["app"] }, { namespaceSelector: { matchLabels: { team: "a" } } }] } };
        assert.ok(storeAdmits(store, "app", {}));
        assert.ok(storeAdmits(store, "other", { team: "a" }));
        assert.ok(!storeAdmits(store, "other", {}));
        assert.ok(selectorMatches({ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }, {}));
        const es = { metadata: { generation: 1, annotations: { r: "0" } } };
        assert.notEqual(syncedVersion(es), syncedVersion({ metadata: { generation: 1, annotations: { r: "1" } } }));
    });
});

describe("engine builds (test/env/pulumi-binaries.ts): specs", () => {
    it("CLI: sdk/v3 => ../sdk dropped, clipboard replace kept, version ldflag", () => {
        const spec = pulumiCliSpec();
        const mod = parseGoMod("module github.com/pulumi/pulumi/pkg/v3\n\ngo 1.25\n\nreplace github.com/pulumi/pulumi/sdk/v3 => ../sdk\n\nreplace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e\n\nrequire github.com/pulumi/pulumi/sdk/v3 v3.248.0\n");
        assert.deepEqual(wrapperReplaces(mod, spec.resolveLocal), [{ from: "github.com/atotto/clipboard", fromVersion: undefined, to: "github.com/tgummerer/clipboard", toVersion: "v0.0.0-20241001131231-d02d263e614e" }]);
        assert.ok(spec.ldflags.includes("-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.248.0"));
    });

    it("kubernetes provider: embed files generated from schema.json with the version set, minified", async () => {
        const spec = kubernetesProviderSpec("4.34.2");
        assert.ok(spec.ldflags.some((f) => f.endsWith("pkg/version.Version=4.34.2")));
        const dir = mkdtempSync(path.join(tmpdir(), "ps-k8s-embed-"));
        try {
            const cmd = path.join(dir, "cmd", "pulumi-resource-kubernetes");
            mkdirSync(cmd, { recursive: true });
            writeFileSync(path.join(cmd, "schema.json"), JSON.stringify({ name: "kubernetes", version: "", x: [1] }, null, 4));
            writeFileSync(path.join(cmd, "terraform-mapping.json"), '{\n  "a": {}\n}');
            await generateKubernetesEmbeds(dir, "4.34.2");
            assert.equal(readFileSync(path.join(cmd, "schema-embed.json"), "utf8"), '{"name":"kubernetes","version":"4.34.2","x":[1]}');
            assert.equal(readFileSync(path.join(cmd, "terraform-mapping-embed.json"), "utf8"), '{"a":{}}');
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("stand-in plugin wrapper runs the compiled serve.js with plain node, its name and version, and passes the engine's args", () => {
        const w = standInWrapper("vault", "7.8.0", "/cache/standins-x");
        assert.match(w, /^#!\/bin\/sh\n/);
        assert.match(w, /STAND-IN/);
        assert.match(w, /'\/cache\/standins-x\/serve.js' vault 7.8.0 "\$@"/);
        assert.doesNotMatch(w, /ts-node/);
    });

    it("stand-ins compile once per content to JavaScript that runs without ts-node", async function () {
        this.timeout(60_000);
        const dir = await compileStandIns();
        assert.equal(await compileStandIns(), dir, "same content, same cached directory");
        for (const f of ["serve.js", "random.js", "vault.js", "secrets.js"]) assert.ok(existsSync(path.join(dir, f)), f);
        // No args: serve.js prints its usage and exits 2, which proves it loads under plain node.
        const r = spawnSync(process.execPath, [path.join(dir, "serve.js")], { encoding: "utf8", env: { PATH: process.env.PATH } });
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /usage: serve.ts <random\|vault>/);
    });
});
