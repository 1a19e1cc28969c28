import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
    ANNOTATION_SOURCE_HASH,
    DesiredSecret,
    Recipe,
    SecretLike,
    deriveSecret,
    isDerivationError,
    mergeForUpdate,
    needsUpdate,
    parseGitHost,
    recipeFromSecret,
    validateRecipe,
} from "../../../derive";
import { SRC, b64, secret, tgt, unb64 } from "./fixtures";

/** Printable text that passes validation: non-empty, not whitespace-only, no trailing newline. */
const cred = (noColon = false) =>
    fc
        .string({ minLength: 1, maxLength: 40, unit: "grapheme" })
        .filter((s) => s.trim() !== "" && !/[\r\n]$/.test(s) && (!noColon || !s.includes(":")));
// Not "xn--…": that prefix marks an IDNA A-label, which URL parsers decode and refuse unless it is valid punycode.
const hostLabel = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/).filter((l) => !l.startsWith("xn--"));
const host = fc.tuple(hostLabel, fc.constantFrom("com", "io", "corp", "example.org")).map(([a, b]) => `${a}.${b}`);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const registry = fc.tuple(host, port).map(([h, p]) => (p === undefined ? h : `${h}:${p}`));
/** Credentials that cannot occur in a lower-case host: any leak is detectable by substring search. */
const credToken = fc.stringMatching(/^[A-Z][A-Z0-9]{5,15}$/).map((s) => `CRED${s}`);

const FORMATS_FOR_BASIC: ((gitHost: string) => Recipe)[] = [
    (h) => ({ format: "tekton-git", source: SRC, target: tgt("t"), options: { gitUrls: [`https://${h}/org/repo`] } }),
    (h) => ({ format: "docker", source: SRC, target: tgt("d"), options: { registry: h } }),
    (h) => ({ format: "kargo", source: SRC, target: tgt("k"), options: { credType: "git", repoURL: `https://${h}/org/repo` } }),
    (h) => ({ format: "argocd", source: SRC, target: tgt("a"), options: { secretType: "repository", url: `https://${h}/org/repo` } }),
    () => ({ format: "mirror", source: SRC, target: tgt("m") }),
];

const basicSource = fc.record({ username: cred(true), password: cred(), extra: fc.dictionary(fc.stringMatching(/^x-[a-z]{1,8}$/), fc.string({ maxLength: 20 }), { maxKeys: 3 }) }).map(
    ({ username, password, extra }) => secret("src", "creds", "kubernetes.io/basic-auth", { ...extra, username, password }),
);

function keysOf(d: DesiredSecret): string[] {
    return Object.keys(d.data).sort();
}

describe("derive: properties (fast-check)", () => {
    it("round-trip: .dockerconfigjson decodes to the same credentials", () => {
        fc.assert(
            fc.property(cred(true), cred(), registry, fc.option(fc.emailAddress(), { nil: undefined }), (username, password, reg, email) => {
                const text: Record<string, string> = { username, password };
                if (email !== undefined) text.email = email;
                const d = deriveSecret(secret("src", "creds", "kubernetes.io/basic-auth", text), { format: "docker", source: SRC, target: tgt(), options: { registry: reg } });
                const entry = JSON.parse(unb64(d.data[".dockerconfigjson"])).auths[reg];
                assert.equal(entry.username, username);
                assert.equal(entry.password, password);
                assert.equal(entry.email, email);
                const auth = Buffer.from(entry.auth, "base64").toString("utf8");
                const i = auth.indexOf(":");
                assert.deepEqual([auth.slice(0, i), auth.slice(i + 1)], [username, password]);
            }),
        );
    });

    it("determinism: same input → byte-identical output, whatever the key order of the source", () => {
        fc.assert(
            fc.property(basicSource, host, fc.integer({ min: 0, max: FORMATS_FOR_BASIC.length - 1 }), (src, h, f) => {
                const recipe = FORMATS_FOR_BASIC[f](h);
                const reversed: SecretLike = { ...src, data: Object.fromEntries(Object.entries(src.data ?? {}).reverse()) };
                assert.equal(JSON.stringify(deriveSecret(src, recipe)), JSON.stringify(deriveSecret(src, recipe)));
                assert.deepEqual(deriveSecret(reversed, recipe), deriveSecret(src, recipe));
            }),
        );
    });

    it("idempotence: needsUpdate(derive(x), derive(x)) is false; the recipe read back derives the same secret", () => {
        fc.assert(
            fc.property(basicSource, host, fc.integer({ min: 0, max: FORMATS_FOR_BASIC.length - 1 }), (src, h, f) => {
                const recipe = FORMATS_FOR_BASIC[f](h);
                const d = deriveSecret(src, recipe);
                assert.equal(needsUpdate(d, d), false);
                assert.equal(needsUpdate(mergeForUpdate(d, d), d), false);
                const back = recipeFromSecret(d);
                assert.ok(back);
                assert.deepEqual(deriveSecret(src, back), d);
                assert.deepEqual(deriveSecret(src, validateRecipe(recipe)), d);
            }),
        );
    });

    it("no key leakage: derived data holds only the keys its format defines", () => {
        const allowed: Record<string, string[]> = {
            "tekton-git": ["password", "username"],
            docker: [".dockerconfigjson"],
            kargo: ["password", "repoURL", "username"],
            argocd: ["password", "type", "url", "username"],
        };
        fc.assert(
            fc.property(basicSource, host, fc.integer({ min: 0, max: FORMATS_FOR_BASIC.length - 1 }), (src, h, f) => {
                const recipe = FORMATS_FOR_BASIC[f](h);
                const d = deriveSecret(src, recipe);
                if (recipe.format === "mirror") assert.deepEqual(keysOf(d), Object.keys(src.data ?? {}).sort());
                else assert.deepEqual(keysOf(d), allowed[recipe.format]);
            }),
        );
    });

    it("one source → several formats carry the same credentials", () => {
        fc.assert(
            fc.property(basicSource, host, (src, h) => {
                const [t, dk, k, a] = FORMATS_FOR_BASIC.slice(0, 4).map((r) => deriveSecret(src, r(h)));
                const user = unb64(src.data!.username);
                const pass = unb64(src.data!.password);
                for (const d of [t, k, a]) assert.deepEqual([unb64(d.data.username), unb64(d.data.password)], [user, pass]);
                const entry = JSON.parse(unb64(dk.data[".dockerconfigjson"])).auths[h];
                assert.deepEqual([entry.username, entry.password], [user, pass]);
                // kargo and argocd consume the same keys: same source hash.
                assert.equal(k.metadata.annotations[ANNOTATION_SOURCE_HASH], a.metadata.annotations[ANNOTATION_SOURCE_HASH]);
            }),
        );
    });

    it("host extraction never leaks credentials into annotations", () => {
        fc.assert(
            fc.property(credToken, fc.option(credToken, { nil: undefined }), host, port, fc.constantFrom("https", "http", "ssh", "scp"), (user, pass, h, p, scheme) => {
                const userinfo = pass === undefined ? user : `${user}:${pass}`;
                const hp = p === undefined ? h : `${h}:${p}`;
                const url = scheme === "scp" ? `${user}@${h}:org/repo.git` : `${scheme}://${userinfo}@${hp}/org/repo`;
                const parsed = parseGitHost(url);
                assert.ok(!parsed.annotation.includes("CRED") && !parsed.canonicalUrl.includes("CRED"));
                const src =
                    parsed.transport === "ssh"
                        ? secret("src", "creds", "kubernetes.io/ssh-auth", { "ssh-privatekey": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n" })
                        : secret("src", "creds", "kubernetes.io/basic-auth", { username: "u", password: "p" });
                const d = deriveSecret(src, { format: "tekton-git", source: SRC, target: tgt(), options: { gitUrls: [url] } });
                assert.ok(!JSON.stringify(d.metadata).includes("CRED"));
                assert.ok(d.metadata.annotations["tekton.dev/git-0"].includes(h));
            }),
        );
    });

    it("fuzz: any source either derives or fails with a DerivationError that quotes no value", () => {
        const value = fc.oneof(
            fc.stringMatching(/^[A-Z0-9]{6,12}$/).map((s) => b64(`CANARY${s}`)),
            fc.stringMatching(/^[A-Z0-9]{6,12}$/).map((s) => `CANARY${s}`), // not base64-canonical or not decodable
            fc.uint8Array({ minLength: 1, maxLength: 24 }).map((u) => Buffer.concat([Buffer.from("CANARY"), Buffer.from(u)]).toString("base64")),
            fc.constant(b64("")),
            fc.constant(b64("-----BEGIN RSA PRIVATE KEY-----\nCANARYKEY\n-----END RSA PRIVATE KEY-----\n")),
        );
        const keys = fc.constantFrom("username", "password", "email", ".gitconfig", "ssh-privatekey", "known_hosts", "githubAppID", "githubAppPrivateKey", "githubAppInstallationID", "sshPrivateKey", ".dockerconfigjson", "other");
        const type = fc.constantFrom("kubernetes.io/basic-auth", "kubernetes.io/ssh-auth", "Opaque", "kubernetes.io/dockerconfigjson", "kubernetes.io/tls", "kubernetes.io/service-account-token");
        fc.assert(
            fc.property(fc.dictionary(keys, value, { maxKeys: 6 }), type, host, fc.integer({ min: 0, max: FORMATS_FOR_BASIC.length - 1 }), (data, t, h, f) => {
                const src: SecretLike = { metadata: { namespace: "src", name: "creds" }, type: t, data };
                try {
                    deriveSecret(src, FORMATS_FOR_BASIC[f](h));
                } catch (e) {
                    assert.ok(isDerivationError(e), `unexpected ${String(e)}`);
                    assert.ok(!`${e.message} ${e.fix}`.includes("CANARY"), e.message);
                    for (const v of Object.values(data)) if (v.length >= 8) assert.ok(!e.message.includes(v), e.message);
                }
            }),
            { numRuns: 500 },
        );
    });

    describe("needsUpdate is true exactly when something the output depends on changed", () => {
        type Mutation = { name: string; expected: boolean; apply: (src: SecretLike, recipe: Recipe, live: DesiredSecret) => { src: SecretLike; recipe: Recipe; live: SecretLike } };
        const withText = (s: SecretLike, key: string, value: string | undefined): SecretLike => {
            const data = { ...(s.data ?? {}) };
            if (value === undefined) delete data[key];
            else data[key] = b64(value);
            return { ...s, data };
        };
        const meta = (live: DesiredSecret, f: (m: { labels: Record<string, string>; annotations: Record<string, string> }) => void): SecretLike => {
            const m = { labels: { ...live.metadata.labels }, annotations: { ...live.metadata.annotations } };
            f(m);
            return { ...live, metadata: { ...live.metadata, ...m } };
        };
        const MUTATIONS: Mutation[] = [
            { name: "nothing", expected: false, apply: (src, recipe, live) => ({ src, recipe, live }) },
            { name: "rotate password", expected: true, apply: (src, recipe, live) => ({ src: withText(src, "password", `${unb64(src.data!.password)}!`), recipe, live }) },
            { name: "change username", expected: true, apply: (src, recipe, live) => ({ src: withText(src, "username", `${unb64(src.data!.username)}x`), recipe, live }) },
            { name: "unrelated source key", expected: false, apply: (src, recipe, live) => ({ src: withText(src, "x-unrelated", "whatever"), recipe, live }) },
            { name: "tamper derived data", expected: true, apply: (src, recipe, live) => ({ src, recipe, live: { ...live, data: { ...live.data, [Object.keys(live.data)[0]]: b64("tampered") } } }) },
            { name: "extra data key on live", expected: true, apply: (src, recipe, live) => ({ src, recipe, live: { ...live, data: { ...live.data, extra: b64("x") } } }) },
            { name: "live type changed", expected: true, apply: (src, recipe, live) => ({ src, recipe, live: { ...live, type: "Opaque-ish" } }) },
            { name: "foreign annotation added (kubectl)", expected: false, apply: (src, recipe, live) => ({ src, recipe, live: meta(live, (m) => (m.annotations["kubectl.kubernetes.io/last-applied-configuration"] = "{}")) }) },
            { name: "foreign label added", expected: false, apply: (src, recipe, live) => ({ src, recipe, live: meta(live, (m) => (m.labels["team"] = "a")) }) },
            { name: "managed label removed", expected: true, apply: (src, recipe, live) => ({ src, recipe, live: meta(live, (m) => delete m.labels["platform-secrets.io/derived"]) }) },
            { name: "hash annotation edited", expected: true, apply: (src, recipe, live) => ({ src, recipe, live: meta(live, (m) => (m.annotations[ANNOTATION_SOURCE_HASH] = "0".repeat(64))) }) },
            { name: "stale tekton.dev/git-7 on live", expected: true, apply: (src, recipe, live) => ({ src, recipe, live: meta(live, (m) => (m.annotations["tekton.dev/git-7"] = "https://old.example")) }) },
            {
                name: "recipe option changed",
                expected: true,
                apply: (src, recipe, live) => {
                    const r = validateRecipe(recipe);
                    const o = { ...(r.options as Record<string, unknown>) };
                    if ("gitUrls" in o) o.gitUrls = ["https://changed.example/x"];
                    if ("registry" in o) o.registry = "changed.example";
                    if ("repoURL" in o) o.repoURL = "https://changed.example/x";
                    if ("url" in o) o.url = "https://changed.example/x";
                    if (r.format === "mirror") return { src: withText(src, "password", "changed-for-mirror"), recipe, live };
                    return { src, recipe: { ...r, options: o } as unknown as Recipe, live };
                },
            },
        ];
        for (const m of MUTATIONS) {
            it(m.name, () => {
                fc.assert(
                    fc.property(basicSource, host, fc.integer({ min: 0, max: FORMATS_FOR_BASIC.length - 1 }), (src0, h, f) => {
                        const recipe0 = FORMATS_FOR_BASIC[f](h);
                        const live0 = deriveSecret(src0, recipe0);
                        const { src, recipe, live } = m.apply(src0, recipe0, live0);
                        // Mirror copies every key: for it an "unrelated" key is a dependency.
                        const expected = recipe0.format === "mirror" && m.name === "unrelated source key" ? true : m.expected;
                        assert.equal(needsUpdate(live, deriveSecret(src, recipe)), expected);
                        // mergeForUpdate repairs whatever differed and keeps foreign metadata.
                        const repaired = mergeForUpdate(live, deriveSecret(src, recipe));
                        assert.equal(needsUpdate(repaired, deriveSecret(src, recipe)), false);
                        for (const [k, v] of Object.entries(live.metadata.labels ?? {})) if (k === "team") assert.equal(repaired.metadata.labels[k], v);
                    }),
                    { numRuns: 60 },
                );
            });
        }
    });
});
