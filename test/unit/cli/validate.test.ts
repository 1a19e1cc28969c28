import assert from "node:assert/strict";
import { deriveSecret, isDerivationError, Recipe, SecretLike } from "../../../derive";
import { checkDerivedRecipe, checkSource, impliedChecks, parseOptions, secretsFromManifest, ValidateUsageError } from "../../../cli/validate";
import { canaryValue } from "../../support";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const src = (data: Record<string, string>, type = "kubernetes.io/basic-auth", annotations: Record<string, string> = {}): SecretLike => ({
    metadata: { namespace: "team-a", name: "git", annotations },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

/** The message the reconciler would record: deriveSecret's DerivationError for the same recipe. */
function reconcilerMessage(s: SecretLike, recipe: Recipe): string | undefined {
    try {
        deriveSecret(s, recipe);
        return undefined;
    } catch (e) {
        assert.ok(isDerivationError(e));
        return e.message;
    }
}

describe("cli: validate uses the derivation core's own messages", () => {
    const target = { namespace: "team-a", name: "git-tekton" };
    const cases: [string, SecretLike, string, Record<string, unknown>][] = [
        ["missing key", src({ username: "u" }), "tekton-git", { gitUrls: ["https://github.com"] }],
        ["wrong type", src({ username: "u", password: "p" }, "Opaque"), "tekton-git", { gitUrls: ["https://github.com"] }],
        ["bad PEM", src({ "ssh-privatekey": "not a key" }, "kubernetes.io/ssh-auth"), "tekton-git", { gitUrls: ["git@github.com:org/repo.git"] }],
        ["bad URL option", src({ username: "u", password: "p" }), "tekton-git", { gitUrls: ["ftp://github.com/x"] }],
        ["unknown option", src({ username: "u", password: "p" }), "mirror", { nope: true }],
        ["trailing newline", src({ username: "u", password: "p\n" }), "tekton-git", { gitUrls: ["https://github.com"] }],
    ];
    for (const [what, s, format, options] of cases) {
        it(`${what}: same message as the reconciler, never a value`, () => {
            const r = checkSource(s, { format, options, target });
            assert.equal(r.ok, false);
            const expected = reconcilerMessage(s, { format, source: { namespace: "team-a", name: "git" }, target, options } as Recipe);
            assert.equal(r.message, expected);
            assert.match(r.message!, /Fix: /);
        });
    }

    it("a valid source reports the type and key names it would produce, no values", () => {
        const secret = canaryValue();
        const r = checkSource(src({ username: "u", password: secret }), { format: "tekton-git", options: { gitUrls: ["https://github.com"] }, target });
        assert.deepEqual(r, { source: "team-a/git", target: "team-a/git-tekton", format: "tekton-git", ok: true, produces: { type: "kubernetes.io/basic-auth", keys: ["password", "username"] } });
        assert.ok(!JSON.stringify(r).includes(secret));
    });

    it("a fan-out declaration implies one check per entry; a malformed one gives the reconciler's message", () => {
        const s = src({ a: "1" }, "Opaque", { "platform-secrets.io/fan-out": JSON.stringify([{ format: "mirror", namespaces: ["b"], targetName: "copy" }, { format: "docker", namespaceSelector: "x=y", options: { registry: "ghcr.io" } }]) });
        const checks = impliedChecks(s);
        assert.ok(Array.isArray(checks));
        assert.deepEqual(checks.map((c) => [c.format, `${c.target.namespace}/${c.target.name}`]), [["mirror", "b/copy"], ["docker", "team-a/git"]]);
        const results = checks.map((c) => checkSource(s, c));
        assert.deepEqual(results.map((r) => r.ok), [true, false]);
        const bad = impliedChecks(src({}, "Opaque", { "platform-secrets.io/fan-out": "{" }));
        assert.ok(!Array.isArray(bad) && bad.ok === false && /not valid JSON/.test(bad.message!));
    });

    it("a derived secret's recipe is checked as the reconciler reads it back", () => {
        const meta = (ann: Record<string, string>): SecretLike => ({ metadata: { namespace: "b", name: "d", labels: { "app.kubernetes.io/managed-by": "platform-secrets", "platform-secrets.io/derived": "true" }, annotations: ann } });
        const ok = checkDerivedRecipe(meta({ "platform-secrets.io/source-namespace": "a", "platform-secrets.io/source-name": "s", "platform-secrets.io/format": "mirror", "platform-secrets.io/options": "{}" }));
        assert.equal(ok.ok, true);
        assert.deepEqual(ok.sourceRef, { namespace: "a", name: "s" });
        const bad = checkDerivedRecipe(meta({ "platform-secrets.io/source-namespace": "a", "platform-secrets.io/source-name": "s", "platform-secrets.io/format": "nope" }));
        assert.equal(bad.ok, false);
        assert.match(bad.message!, /unknown format/);
    });

    it("manifests: stringData is encoded like the apiserver does and wins over data; namespace defaults", () => {
        const yaml = `apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/basic-auth\ndata: {username: ${b64("old")}}\nstringData: {username: new, password: pw}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n`;
        const [s] = secretsFromManifest(yaml, "dflt");
        assert.equal(s.metadata.namespace, "dflt");
        assert.deepEqual(s.data, { username: b64("new"), password: b64("pw") });
        assert.throws(() => secretsFromManifest("kind: ConfigMap\nmetadata: {name: c}\n", "d"), ValidateUsageError);
        assert.throws(() => secretsFromManifest("a: [", "d"), /not valid YAML/);
    });

    it("--options must be a JSON object", () => {
        assert.deepEqual(parseOptions(undefined), {});
        assert.deepEqual(parseOptions('{"registry":"ghcr.io"}'), { registry: "ghcr.io" });
        assert.throws(() => parseOptions("{"), /--options is not valid JSON/);
        assert.throws(() => parseOptions("[1]"), /JSON object/);
    });
});
