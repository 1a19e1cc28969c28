import { strict as assert } from "node:assert";
import { DerivationError, DerivationErrorCode, Recipe, SecretLike, deriveSecret, isDerivationError } from "../../../derive";
import { canaryValue } from "../../support";
import { SRC, b64, basicAuth, opaque, pemKey, secret, sshAuth, tgt } from "./fixtures";

interface Case {
    name: string;
    source: (canary: string) => SecretLike;
    recipe: Recipe;
    code: DerivationErrorCode;
    key?: string;
    /** The error names this object; default the source. */
    object?: string;
}

const tekton = (gitUrls: string[] = ["https://github.com/o/r"]): Recipe => ({ format: "tekton-git", source: SRC, target: tgt(), options: { gitUrls } });
const docker: Recipe = { format: "docker", source: SRC, target: tgt(), options: { registry: "ghcr.io" } };
const kargo: Recipe = { format: "kargo", source: SRC, target: tgt(), options: { credType: "git", repoURL: "https://github.com/o/r" } };
const argo = (url = "https://github.com/o/r"): Recipe => ({ format: "argocd", source: SRC, target: tgt(), options: { secretType: "repository", url } });
const mirror: Recipe = { format: "mirror", source: SRC, target: tgt() };
const withData = (s: SecretLike, key: string, raw: string): SecretLike => ({ ...s, data: { ...s.data, [key]: raw } });

const CASES: Case[] = [
    { name: "missing password", source: (c) => basicAuth({ username: c }), recipe: tekton(), code: "missing-key", key: "password" },
    { name: "missing username", source: (c) => basicAuth({ password: c }), recipe: docker, code: "missing-key", key: "username" },
    { name: "missing ssh-privatekey", source: () => secret("src", "creds", "kubernetes.io/ssh-auth", { known_hosts: "h" }), recipe: tekton(["git@github.com:o/r"]), code: "missing-key", key: "ssh-privatekey" },
    { name: "wrong secret type for tekton-git (Opaque)", source: (c) => opaque({ username: "u", password: c }), recipe: tekton(), code: "wrong-type" },
    { name: "wrong secret type for docker (tls)", source: (c) => secret("src", "creds", "kubernetes.io/tls", { "tls.crt": "x", "tls.key": c }), recipe: docker, code: "wrong-type" },
    { name: "service-account token refused by mirror", source: (c) => secret("src", "creds", "kubernetes.io/service-account-token", { token: c }), recipe: mirror, code: "wrong-type" },
    { name: "https URL with an ssh-auth source", source: () => sshAuth(), recipe: tekton(["https://github.com/o/r"]), code: "wrong-type" },
    { name: "invalid base64", source: (c) => withData(basicAuth({ username: "u", password: c }), "password", "%%not-base64%%"), recipe: tekton(), code: "invalid-base64", key: "password" },
    { name: "base64 with a line break", source: (c) => withData(basicAuth({ username: "u" }), "password", `${b64(c).slice(0, 8)}\n${b64(c).slice(8)}`), recipe: docker, code: "invalid-base64", key: "password" },
    { name: "empty password", source: () => basicAuth({ username: "u", password: "" }), recipe: docker, code: "empty-value", key: "password" },
    { name: "whitespace-only password", source: () => basicAuth({ username: "u", password: "   " }), recipe: kargo, code: "empty-value", key: "password" },
    { name: "password with a trailing newline", source: (c) => basicAuth({ username: "u", password: `${c}\n` }), recipe: tekton(), code: "invalid-value", key: "password" },
    { name: "non-UTF-8 password bytes", source: (c) => withData(basicAuth({ username: "u" }), "password", Buffer.concat([Buffer.from(c), Buffer.from([0xff, 0xfe, 0xc3])]).toString("base64")), recipe: docker, code: "invalid-utf8", key: "password" },
    { name: "1 MiB value", source: (c) => basicAuth({ username: "u", password: c + "x".repeat(1024 * 1024) }), recipe: tekton(), code: "too-large", key: "password" },
    { name: "513 KiB .gitconfig", source: (c) => basicAuth({ username: "u", password: c, ".gitconfig": "y".repeat(513 * 1024) }), recipe: tekton(), code: "too-large", key: ".gitconfig" },
    {
        name: "derived secret above 1 MiB (three 400 KiB keys, mirror)",
        source: (c) => opaque({ a: c + "a".repeat(400 * 1024), b: "b".repeat(400 * 1024), c: "c".repeat(400 * 1024) }),
        recipe: mirror,
        code: "too-large",
        object: "dst/out",
    },
    { name: "invalid JSON in .dockerconfigjson (mirror)", source: (c) => secret("src", "creds", "kubernetes.io/dockerconfigjson", { ".dockerconfigjson": `{"auths": ${c}` }), recipe: mirror, code: "invalid-json", key: ".dockerconfigjson" },
    { name: "JSON array as .dockerconfigjson (mirror)", source: () => secret("src", "creds", "kubernetes.io/dockerconfigjson", { ".dockerconfigjson": "[]" }), recipe: mirror, code: "invalid-json", key: ".dockerconfigjson" },
    { name: "ssh key that is not PEM", source: (c) => sshAuth({ "ssh-privatekey": `ssh-rsa ${c}` }), recipe: tekton(["git@github.com:o/r"]), code: "invalid-pem", key: "ssh-privatekey" },
    { name: "truncated PEM (no END line)", source: () => sshAuth({ "ssh-privatekey": pemKey().split("-----END")[0] }), recipe: argo("git@github.com:o/r"), code: "invalid-pem", key: "ssh-privatekey" },
    { name: "GitHub App key not PEM", source: (c) => opaque({ githubAppID: "1", githubAppInstallationID: "2", githubAppPrivateKey: c }), recipe: kargo, code: "invalid-pem", key: "githubAppPrivateKey" },
    { name: "non-numeric GitHub App ID", source: () => opaque({ githubAppID: "abc", githubAppInstallationID: "2", githubAppPrivateKey: pemKey() }), recipe: argo(), code: "invalid-value", key: "githubAppID" },
    { name: "two credential kinds at once", source: (c) => opaque({ username: "u", password: c, githubAppID: "1" }), recipe: kargo, code: "ambiguous-credentials" },
    { name: "docker user name with ':'", source: (c) => basicAuth({ username: "a:b", password: c }), recipe: docker, code: "invalid-value", key: "username" },
    {
        name: "Argo CD URL with credentials",
        source: () => basicAuth({ username: "u", password: "p" }),
        recipe: argo("https://u:CANARYURL@github.com/o/r"),
        code: "credentials-in-url",
        key: "options.url",
        object: "dst/out",
    },
    {
        name: "Kargo repoURL with a token as user name",
        source: () => basicAuth(),
        recipe: { format: "kargo", source: SRC, target: tgt(), options: { credType: "git", repoURL: "https://CANARYURL@github.com/o/r" } },
        code: "credentials-in-url",
        key: "options.repoURL",
        object: "dst/out",
    },
    { name: "unsupported git URL scheme", source: () => basicAuth(), recipe: tekton(["ftp://github.com/o/r"]), code: "invalid-url", key: "options.gitUrls[0]", object: "dst/out" },
    { name: "git URL with whitespace", source: () => basicAuth(), recipe: tekton(["https://github.com/o r"]), code: "invalid-url", key: "options.gitUrls[0]", object: "dst/out" },
    { name: "registry with credentials", source: () => basicAuth(), recipe: { format: "docker", source: SRC, target: tgt(), options: { registry: "u:CANARYURL@ghcr.io" } }, code: "credentials-in-url", key: "options.registry", object: "dst/out" },
    { name: "target equals source", source: () => basicAuth(), recipe: { format: "mirror", source: SRC, target: SRC }, code: "invalid-recipe", key: "target", object: "src/creds" },
    { name: "unknown option", source: () => basicAuth(), recipe: { format: "docker", source: SRC, target: tgt(), options: { registry: "ghcr.io", regstry: "x" } as never }, code: "invalid-option", key: "options.regstry", object: "dst/out" },
    { name: "source other than the recipe names", source: () => secret("src", "other", "kubernetes.io/basic-auth", { username: "u", password: "p" }), recipe: docker, code: "invalid-recipe", object: "src/other" },
];

describe("derive: bad input is rejected with a DerivationError naming object, key and fix, never the value", () => {
    it(`has at least 15 cases (${CASES.length})`, () => assert.ok(CASES.length >= 15));

    for (const c of CASES) {
        it(c.name, () => {
            const canary = canaryValue();
            let thrown: unknown;
            try {
                deriveSecret(c.source(canary), c.recipe);
            } catch (e) {
                thrown = e;
            }
            assert.ok(isDerivationError(thrown), `expected a DerivationError, got ${String(thrown)}`);
            const e = thrown as DerivationError;
            assert.equal(e.code, c.code, e.message);
            assert.equal(e.object, c.object ?? "src/creds");
            if (c.key !== undefined) assert.equal(e.key, c.key, e.message);
            assert.ok(e.message.includes(e.object), "message names the object");
            assert.ok(e.message.includes("Fix: ") && e.fix.length > 10, "message carries a fix");
            const everything = `${e.message} ${e.stack} ${JSON.stringify(e)}`;
            assert.ok(!everything.includes(canary), "the planted value leaked into the error");
            assert.ok(!everything.includes("CANARYURL"), "a credential from a URL leaked into the error");
        });
    }
});
