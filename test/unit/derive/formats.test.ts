import { strict as assert } from "node:assert";
import {
    ANNOTATION_FORMAT,
    ANNOTATION_OPTIONS,
    ANNOTATION_SOURCE_HASH,
    ANNOTATION_SOURCE_NAME,
    ANNOTATION_SOURCE_NAMESPACE,
    ANNOTATION_DERIVATION_VERSION,
    DERIVATION_VERSION,
    deriveSecret,
    isManaged,
    recipeFromSecret,
} from "../../../derive";
import { SRC, basicAuth, opaque, pemKey, secret, sshAuth, tgt, unb64 } from "./fixtures";

describe("derive: tekton-git", () => {
    it("basic-auth → basic-auth with tekton.dev/git-0 <scheme>://<host>", () => {
        const d = deriveSecret(basicAuth(), { format: "tekton-git", source: SRC, target: tgt(), options: { gitUrls: ["https://github.com/org/repo"] } });
        assert.equal(d.type, "kubernetes.io/basic-auth");
        assert.deepEqual(Object.keys(d.data).sort(), ["password", "username"]);
        assert.equal(unb64(d.data.username), "alice");
        assert.equal(unb64(d.data.password), "s3cret");
        assert.equal(d.metadata.annotations["tekton.dev/git-0"], "https://github.com");
        assert.equal(d.metadata.annotations["tekton.dev/git-1"], undefined);
    });

    it("several hosts → git-0..git-N in order, one per distinct host; enterprise ports kept", () => {
        const d = deriveSecret(basicAuth(), {
            format: "tekton-git",
            source: SRC,
            target: tgt(),
            options: { gitUrls: ["https://github.com/a/b", "https://GITHUB.com/c", "https://ghe.corp.example:8443/x/y.git", "http://gitea.local:3000/z"] },
        });
        const a = d.metadata.annotations;
        assert.equal(a["tekton.dev/git-0"], "https://github.com");
        assert.equal(a["tekton.dev/git-1"], "https://ghe.corp.example:8443");
        assert.equal(a["tekton.dev/git-2"], "http://gitea.local:3000");
        assert.equal(a["tekton.dev/git-3"], undefined);
    });

    it("strips credentials embedded in URLs: they reach no annotation", () => {
        const d = deriveSecret(basicAuth(), { format: "tekton-git", source: SRC, target: tgt(), options: { gitUrls: ["https://bob:hunter2@github.com/org/repo", "https://tokenABC@gitlab.com/x"] } });
        const all = JSON.stringify(d.metadata);
        assert.ok(!all.includes("hunter2") && !all.includes("bob") && !all.includes("tokenABC"));
        assert.equal(d.metadata.annotations["tekton.dev/git-0"], "https://github.com");
        assert.equal(d.metadata.annotations["tekton.dev/git-1"], "https://gitlab.com");
    });

    it("passes .gitconfig through", () => {
        const d = deriveSecret(basicAuth({ username: "u", password: "p", ".gitconfig": "[user]\n\tname = x\n" }), { format: "tekton-git", source: SRC, target: tgt(), options: { gitUrls: ["https://github.com/o/r"] } });
        assert.deepEqual(Object.keys(d.data).sort(), [".gitconfig", "password", "username"]);
    });

    it("ssh-auth → ssh-auth with tekton.dev/git-0 <host>, port per Tekton's host:port convention, known_hosts kept", () => {
        const d = deriveSecret(sshAuth({ known_hosts: "github.com ssh-ed25519 AAAA" }), {
            format: "tekton-git",
            source: SRC,
            target: tgt(),
            options: { gitUrls: ["git@github.com:org/repo.git", "ssh://git@git.corp:2222/x/y", "ssh://git@other.corp:22/z"] },
        });
        assert.equal(d.type, "kubernetes.io/ssh-auth");
        assert.deepEqual(Object.keys(d.data).sort(), ["known_hosts", "ssh-privatekey"]);
        assert.equal(unb64(d.data["ssh-privatekey"]), pemKey());
        assert.equal(d.metadata.annotations["tekton.dev/git-0"], "github.com");
        assert.equal(d.metadata.annotations["tekton.dev/git-1"], "git.corp:2222");
        assert.equal(d.metadata.annotations["tekton.dev/git-2"], "other.corp");
    });
});

describe("derive: docker", () => {
    it("username/password/email → dockerconfigjson with auth = base64(user:pass)", () => {
        const d = deriveSecret(basicAuth({ username: "bot", password: "pa:ss", email: "bot@example.com" }), {
            format: "docker",
            source: SRC,
            target: tgt(),
            options: { registry: "ghcr.io" },
        });
        assert.equal(d.type, "kubernetes.io/dockerconfigjson");
        assert.deepEqual(Object.keys(d.data), [".dockerconfigjson"]);
        const cfg = JSON.parse(unb64(d.data[".dockerconfigjson"]));
        assert.deepEqual(cfg, { auths: { "ghcr.io": { username: "bot", password: "pa:ss", auth: Buffer.from("bot:pa:ss").toString("base64"), email: "bot@example.com" } } });
        assert.equal(d.metadata.annotations["tekton.dev/docker-0"], undefined);
    });

    it("optional tekton.dev/docker-0 annotation; Opaque source accepted; port in registry", () => {
        const d = deriveSecret(opaque({ username: "bot", password: "x" }), { format: "docker", source: SRC, target: tgt(), options: { registry: "registry.example.com:5000", tektonAnnotation: true } });
        assert.equal(d.metadata.annotations["tekton.dev/docker-0"], "https://registry.example.com:5000");
        assert.ok(JSON.parse(unb64(d.data[".dockerconfigjson"])).auths["registry.example.com:5000"]);
    });
});

describe("derive: kargo", () => {
    it("username/password → cred-type label, repoURL, username, password", () => {
        const d = deriveSecret(basicAuth(), { format: "kargo", source: SRC, target: tgt(), options: { credType: "git", repoURL: "https://github.com/org/repo" } });
        assert.equal(d.metadata.labels["kargo.akuity.io/cred-type"], "git");
        assert.equal(d.type, "Opaque");
        assert.deepEqual(Object.keys(d.data).sort(), ["password", "repoURL", "username"]);
        assert.equal(unb64(d.data.repoURL), "https://github.com/org/repo");
    });

    it("GitHub App + regex repoURL", () => {
        const d = deriveSecret(opaque({ githubAppID: "123", githubAppInstallationID: "456", githubAppPrivateKey: pemKey() }), {
            format: "kargo",
            source: SRC,
            target: tgt(),
            options: { credType: "git", repoURL: "^https://github\\.com/org/.*$", repoURLIsRegex: true },
        });
        assert.deepEqual(Object.keys(d.data).sort(), ["githubAppID", "githubAppInstallationID", "githubAppPrivateKey", "repoURL", "repoURLIsRegex"]);
        assert.equal(unb64(d.data.repoURLIsRegex), "true");
    });

    it("image and helm credentials", () => {
        const img = deriveSecret(basicAuth(), { format: "kargo", source: SRC, target: tgt(), options: { credType: "image", repoURL: "ghcr.io/org/app" } });
        assert.equal(img.metadata.labels["kargo.akuity.io/cred-type"], "image");
        const helm = deriveSecret(basicAuth(), { format: "kargo", source: SRC, target: tgt(), options: { credType: "helm", repoURL: "oci://ghcr.io/org/charts" } });
        assert.equal(helm.metadata.labels["kargo.akuity.io/cred-type"], "helm");
    });
});

describe("derive: argocd", () => {
    it("repository with username/password", () => {
        const d = deriveSecret(basicAuth(), { format: "argocd", source: SRC, target: tgt(), options: { secretType: "repository", url: "https://github.com/org/repo", project: "default", name: "repo" } });
        assert.equal(d.metadata.labels["argocd.argoproj.io/secret-type"], "repository");
        assert.deepEqual(Object.keys(d.data).sort(), ["name", "password", "project", "type", "url", "username"]);
        assert.equal(unb64(d.data.type), "git");
    });

    it("repo-creds with an ssh key (ssh-privatekey → sshPrivateKey)", () => {
        const d = deriveSecret(sshAuth(), { format: "argocd", source: SRC, target: tgt(), options: { secretType: "repo-creds", url: "git@github.com:org" } });
        assert.deepEqual(Object.keys(d.data).sort(), ["sshPrivateKey", "type", "url"]);
        assert.equal(unb64(d.data.sshPrivateKey), pemKey());
    });

    it("GitHub App with enterprise base URL", () => {
        const d = deriveSecret(opaque({ githubAppID: "1", githubAppInstallationID: "2", githubAppPrivateKey: pemKey() }), {
            format: "argocd",
            source: SRC,
            target: tgt(),
            options: { secretType: "repo-creds", url: "https://ghe.corp/org", githubAppEnterpriseBaseUrl: "https://ghe.corp/api/v3" },
        });
        assert.deepEqual(Object.keys(d.data).sort(), ["githubAppEnterpriseBaseUrl", "githubAppID", "githubAppInstallationID", "githubAppPrivateKey", "type", "url"]);
    });
});

describe("derive: mirror", () => {
    it("copies type and data verbatim into another namespace", () => {
        const src = secret("central", "shared", "kubernetes.io/dockerconfigjson", { ".dockerconfigjson": '{"auths":{}}' });
        const d = deriveSecret(src, { format: "mirror", source: { namespace: "central", name: "shared" }, target: { namespace: "team-a", name: "shared" } });
        assert.equal(d.type, src.type);
        assert.deepEqual(d.data, src.data);
        assert.equal(d.metadata.namespace, "team-a");
    });
});

describe("derive: common metadata", () => {
    it("stamps managed-by, derived, source, format, options, hash and version; recipeFromSecret reads it back", () => {
        const recipe = { format: "docker" as const, source: SRC, target: tgt(), options: { registry: "ghcr.io" } };
        const d = deriveSecret(basicAuth(), recipe);
        assert.equal(d.metadata.labels["app.kubernetes.io/managed-by"], "platform-secrets");
        assert.equal(d.metadata.labels["platform-secrets.io/derived"], "true");
        const a = d.metadata.annotations;
        assert.equal(a[ANNOTATION_SOURCE_NAMESPACE], "src");
        assert.equal(a[ANNOTATION_SOURCE_NAME], "creds");
        assert.equal(a[ANNOTATION_FORMAT], "docker");
        assert.deepEqual(JSON.parse(a[ANNOTATION_OPTIONS]), { registry: "ghcr.io", tektonAnnotation: false });
        assert.match(a[ANNOTATION_SOURCE_HASH], /^[0-9a-f]{64}$/);
        assert.equal(a[ANNOTATION_DERIVATION_VERSION], DERIVATION_VERSION);
        assert.ok(isManaged(d));
        assert.deepEqual(recipeFromSecret(d), { ...recipe, options: { registry: "ghcr.io", tektonAnnotation: false } });
    });

    it("recipeFromSecret ignores secrets that are not ours or whose annotations are malformed", () => {
        const d = deriveSecret(basicAuth(), { format: "mirror", source: SRC, target: tgt() });
        assert.equal(recipeFromSecret(basicAuth()), undefined);
        assert.equal(recipeFromSecret({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [ANNOTATION_OPTIONS]: "{nope" } } }), undefined);
        assert.equal(recipeFromSecret({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [ANNOTATION_FORMAT]: "zip" } } }), undefined);
    });
});
