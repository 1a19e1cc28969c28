import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { deriveSecret, validateRecipe } from "../../../derive";
import { ConfigError, gitTargets, parseStackConfig } from "../../../stacks/config";
import { gitSourceShape } from "../../../stacks/git";
import { rejectsConfig } from "./config-helpers";
import { loadStackFile, runStack, toRawConfig } from "./harness";

/**
 * Git credentials as the stack file expresses them: several repository URLs per credential and ssh deploy keys,
 * mapped onto the recipes derive/ already accepts (tekton-git gitUrls, argocd repository/repo-creds, kargo), checked
 * by derive's own validateRecipe at preview.
 */
const base = () => ({ name: "repos", vaultPath: "git/platform-repo", sourceNamespace: "platform-secrets" });
const parse = (cred: Record<string, unknown>) => parseStackConfig(toRawConfig({ ...loadStackFile("dev"), gitCredentials: [cred] })).gitCredentials[0];

function rejects(cred: Record<string, unknown>, key: string, message: RegExp): void {
    rejectsConfig(() => parse(cred), key, message);
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n";

describe("stacks/config: git credentials (several URLs, ssh)", () => {
    it("url (one) and urls (several) both work; https URLs mean a basic-auth source with username/password", () => {
        const one = parse({ ...base(), url: "https://github.com/o/a.git", tekton: {} });
        assert.deepEqual([one.urls, one.auth], [["https://github.com/o/a.git"], "basic"]);
        assert.deepEqual(gitSourceShape(one), {
            secretType: "kubernetes.io/basic-auth",
            data: [{ secretKey: "username", key: "git/platform-repo", property: "username" }, { secretKey: "password", key: "git/platform-repo", property: "password" }],
        });
    });

    it("several URLs: one Tekton secret for all, one Argo CD / Kargo secret per URL (the first keeps the plain name)", () => {
        const c = parse({ ...base(), urls: ["https://github.com/o/a.git", "https://github.com/o/b.git", "https://gitlab.example.com/o/c.git"], tekton: {}, argocd: { project: "p" }, kargo: {} });
        assert.deepEqual(gitTargets(c).map((t) => [t.resource, `${t.target.namespace}/${t.target.name}`, t.options]), [
            ["tekton", "tekton-pipelines/repos-tekton", { gitUrls: ["https://github.com/o/a.git", "https://github.com/o/b.git", "https://gitlab.example.com/o/c.git"] }],
            ["argocd", "argocd/repos-argocd", { secretType: "repository", url: "https://github.com/o/a.git", type: "git", project: "p" }],
            ["argocd-1", "argocd/repos-argocd-1", { secretType: "repository", url: "https://github.com/o/b.git", type: "git", project: "p" }],
            ["argocd-2", "argocd/repos-argocd-2", { secretType: "repository", url: "https://gitlab.example.com/o/c.git", type: "git", project: "p" }],
            ["kargo", "kargo/repos-kargo", { credType: "git", repoURL: "https://github.com/o/a.git", repoURLIsRegex: false }],
            ["kargo-1", "kargo/repos-kargo-1", { credType: "git", repoURL: "https://github.com/o/b.git", repoURLIsRegex: false }],
            ["kargo-2", "kargo/repos-kargo-2", { credType: "git", repoURL: "https://gitlab.example.com/o/c.git", repoURLIsRegex: false }],
        ]);
        // derive/ turns the Tekton URLs into one annotation per host, and derives every target from a basic-auth source.
        const source = { metadata: { namespace: "platform-secrets", name: "repos" }, type: "kubernetes.io/basic-auth", data: { username: b64("bot"), password: b64("pw") } };
        const tekton = deriveSecret(source, validateRecipe({ format: "tekton-git", source: source.metadata, target: gitTargets(c)[0].target, options: gitTargets(c)[0].options }));
        assert.deepEqual(Object.entries(tekton.metadata.annotations ?? {}).filter(([k]) => k.startsWith("tekton.dev/git-")), [["tekton.dev/git-0", "https://github.com"], ["tekton.dev/git-1", "https://gitlab.example.com"]]);
        for (const t of gitTargets(c).slice(1)) deriveSecret(source, validateRecipe({ format: t.format, source: source.metadata, target: t.target, options: t.options }));
    });

    it("ssh URLs mean an ssh-auth source (key and optional known_hosts from Vault) that Tekton and Argo CD (repository or repo-creds) derive from", () => {
        const c = parse({ ...base(), urls: ["git@github.com:o/infra.git", "ssh://git@git.example.com:2222/o/x.git"], sshPrivateKeyProperty: "privateKey", knownHostsProperty: "knownHosts", tekton: {}, argocd: { secretType: "repo-creds", url: "git@github.com:o" } });
        assert.equal(c.auth, "ssh");
        assert.deepEqual(gitSourceShape(c), {
            secretType: "kubernetes.io/ssh-auth",
            data: [{ secretKey: "ssh-privatekey", key: "git/platform-repo", property: "privateKey" }, { secretKey: "known_hosts", key: "git/platform-repo", property: "knownHosts" }],
        });
        const source = { metadata: { namespace: "platform-secrets", name: "repos" }, type: "kubernetes.io/ssh-auth", data: { "ssh-privatekey": b64(KEY), known_hosts: b64("github.com ssh-ed25519 AAAA") } };
        const [tekton, argo] = gitTargets(c).map((t) => deriveSecret(source, validateRecipe({ format: t.format, source: source.metadata, target: t.target, options: t.options })));
        assert.equal(tekton.type, "kubernetes.io/ssh-auth");
        assert.deepEqual(Object.keys(tekton.data).sort(), ["known_hosts", "ssh-privatekey"]);
        assert.equal(tekton.metadata.annotations?.["tekton.dev/git-1"], "git.example.com:2222");
        assert.equal(argo.metadata.labels?.["argocd.argoproj.io/secret-type"], "repo-creds");
        assert.equal(Buffer.from(argo.data.url, "base64").toString(), "git@github.com:o");
        assert.equal(argo.data.sshPrivateKey, b64(KEY));
        // Without knownHostsProperty the source carries only the key.
        assert.deepEqual(gitSourceShape(parse({ ...base(), urls: ["git@github.com:o/infra.git"], tekton: {} })).data.map((d) => d.secretKey), ["ssh-privatekey"]);
    });

    it("rejects what the source or derive/ could not serve, naming the key and the fix", () => {
        rejects({ ...base(), urls: ["https://github.com/o/a.git", "git@github.com:o/b.git"], tekton: {} }, "platform-secrets:gitCredentials[0].urls[1]", /is an ssh URL but .*urls\[0\] is http.*fix: split them into two gitCredentials entries/);
        rejects({ ...base(), urls: ["git@github.com:o/b.git"], usernameProperty: "user", tekton: {} }, "platform-secrets:gitCredentials[0].usernameProperty", /does not apply to an ssh credential/);
        rejects({ ...base(), urls: ["https://github.com/o/b.git"], sshPrivateKeyProperty: "k", tekton: {} }, "platform-secrets:gitCredentials[0].sshPrivateKeyProperty", /does not apply to an https credential/);
        rejects({ ...base(), urls: ["git@github.com:o/b.git"], kargo: {} }, "platform-secrets:gitCredentials[0].kargo", /Kargo credentials take username\/password .*not an ssh key.*fix: remove kargo/);
        rejects({ ...base(), urls: ["https://bot:hunter2@github.com/o/a.git"], tekton: {} }, "platform-secrets:gitCredentials[0].urls[0]", /embeds credentials; fix: remove the user:password@ part/);
        rejects({ ...base(), urls: ["ftp://github.com/o/a.git"], tekton: {} }, "platform-secrets:gitCredentials[0].urls[0]", /scheme "ftp" is not supported/);
        rejects({ ...base(), urls: ["https://github.com/o/a.git", "https://github.com/o/a.git"], tekton: {} }, "platform-secrets:gitCredentials[0].urls[1]", /repeats .*urls\[0\]/);
        rejects({ ...base(), url: "https://github.com/o/a.git", urls: ["https://github.com/o/b.git"], tekton: {} }, "platform-secrets:gitCredentials[0].url", /is set together with urls/);
        rejects({ ...base(), urls: [], tekton: {} }, "platform-secrets:gitCredentials[0].urls", /is empty/);
        rejects({ ...base(), tekton: {} }, "platform-secrets:gitCredentials[0].urls", /is required/);
        rejects({ ...base(), urls: ["https://github.com/o/a.git"], argocd: { secretType: "repo-creds" } }, "platform-secrets:gitCredentials[0].argocd.url", /required for repo-creds/);
        rejects({ ...base(), urls: ["https://github.com/o/a.git"], argocd: { secretType: "repo-creds", url: "git@github.com:o" } }, "platform-secrets:gitCredentials[0].argocd.url", /not an http URL like the credential's urls/);
        rejects({ ...base(), urls: ["https://github.com/o/a.git"], argocd: { secretType: "helm" } }, "platform-secrets:gitCredentials[0].argocd.secretType", /not an Argo CD secret type/);
        rejects({ ...base(), urls: ["https://github.com/o/a.git"], kargo: { repoURLIsRegex: true } }, "platform-secrets:gitCredentials[0].kargo.repoURLIsRegex", /without repoURL/);
        rejects({ ...base(), urls: ["https://github.com/o/a.git"], tekton: { namespace: "ci", secretName: "x" }, argocd: { namespace: "ci", secretName: "x" } }, "platform-secrets:gitCredentials[0].argocd.secretName", /ci\/x is also the tekton secret/);
        // derive's own validation of the recipe (here the target name) fails preview, re-keyed onto the config.
        rejects({ ...base(), urls: ["https://github.com/o/a.git"], tekton: { namespace: "platform-secrets", secretName: "repos" } }, "platform-secrets:gitCredentials[0].tekton.secretName", /tekton secret platform-secrets\/repos: the target is the source itself; fix: choose another target/);
    });

    it("two credentials writing one derived secret are refused across entries", () => {
        const a = { ...base(), urls: ["https://github.com/o/a.git"], tekton: { namespace: "ci", secretName: "git" } };
        const b = { ...base(), name: "other", vaultPath: "git/infra-deploy-key", urls: ["https://github.com/o/b.git"], tekton: { namespace: "ci", secretName: "git" } };
        assert.throws(() => parseStackConfig(toRawConfig({ ...loadStackFile("dev"), gitCredentials: [a, b] })), (e: unknown) => e instanceof ConfigError && e.key === "platform-secrets:gitCredentials[1].tekton.secretName" && /ci\/git is already written by/.test(e.message));
    });

    it("Argo CD and Kargo names: <secretName> then <secretName>-<i>; appending a URL never renames an earlier one (property)", () => {
        const url = fc.stringMatching(/^[a-z]{1,8}$/).map((r) => `https://github.com/o/${r}.git`);
        fc.assert(fc.property(fc.uniqueArray(url, { minLength: 1, maxLength: 5 }), url, (urls, extra) => {
            fc.pre(!urls.includes(extra));
            const spec = { name: "c", urls, auth: "basic" as const, vaultPath: "p", usernameProperty: "u", passwordProperty: "p", sshPrivateKeyProperty: "k", sourceNamespace: "s", refreshInterval: "1h", argocd: { namespace: "a", secretName: "r", secretType: "repository" as const }, kargo: { namespace: "k", secretName: "g", repoURLIsRegex: false } };
            const before = gitTargets(spec);
            const after = gitTargets({ ...spec, urls: [...urls, extra] });
            for (const t of before) assert.deepEqual(after.find((x) => x.resource === t.resource), t);
            assert.deepEqual(before.filter((t) => t.consumer === "argocd").map((t) => t.target.name), urls.map((_, i) => (i ? `r-${i}` : "r")));
        }));
    });
});

describe("stacks program: git credentials from the dev stack file (mocks)", function () {
    this.timeout(60000);

    it("renders the ssh-auth source and every derived secret of both dev credentials", async () => {
        const run = await runStack("dev");
        const src = run.resources.find((r) => r.name === "git-infra-deploy-key-source-es")!;
        assert.equal(src.inputs.spec.target.template.type, "kubernetes.io/ssh-auth");
        assert.deepEqual(src.inputs.spec.data, [
            { secretKey: "ssh-privatekey", remoteRef: { key: "git/infra-deploy-key", property: "privateKey" } },
            { secretKey: "known_hosts", remoteRef: { key: "git/infra-deploy-key", property: "knownHosts" } },
        ]);
        assert.deepEqual(src.inputs.spec.target.template.metadata.annotations, { "platform-secrets.io/allow-namespaces": "argocd,tekton-pipelines" });
        const byName = (n: string) => run.resources.find((r) => r.name === n)!.inputs;
        assert.deepEqual(byName("git-infra-deploy-key-tekton").options, { gitUrls: ["git@github.com:example-org/infra.git"] });
        assert.deepEqual(byName("git-infra-deploy-key-argocd").options, { secretType: "repo-creds", url: "git@github.com:example-org", type: "git" });
        assert.deepEqual(byName("git-platform-repo-argocd-1").target, { namespace: "argocd", name: "platform-repo-1" });
        assert.deepEqual(byName("git-platform-repo-kargo-1").options, { credType: "git", repoURL: "https://github.com/example-org/docs.git", repoURLIsRegex: false });
    });
});

describe("stacks/program: git credentials do not wait for the reconciler's rollout (issue 19 §3)", () => {
    it("no git resource depends on the ReconcilerDeployment component or its Deployment, only on its Namespace", async () => {
        const run = await runStack("dev");
        const rec = run.resources.find((r) => r.type === "platform-secrets:reconciler:ReconcilerDeployment");
        const dep = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.meta.urn?.includes("ReconcilerDeployment"));
        const ns = run.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && r.meta.urn?.includes("ReconcilerDeployment"));
        assert.ok(rec?.meta.urn && dep?.meta.urn && ns?.meta.urn, "the dev stack deploys the reconciler");
        const git = run.resources.filter((r) => r.meta.urn?.includes("GitCredentials"));
        assert.ok(git.length > 0, "the dev stack has git credentials");
        for (const r of git) {
            for (const d of [rec.meta.urn, dep.meta.urn]) assert.ok(!r.meta.dependencies.includes(d), `${r.type} ${r.name} waits for ${d}: a first up whose image cannot be pulled would create no git credentials`);
        }
        assert.ok(git.some((r) => r.meta.dependencies.includes(ns.meta.urn!)), "the git sources wait for the reconciler's Namespace (they land in it)");
    });
});
