import { strict as assert } from "node:assert";
import { UrlProblem, checkRepoUrl, parseGitHost, parseRegistryLike } from "../../../derive";

describe("derive: git host extraction", () => {
    const cases: [string, string, "http" | "ssh"][] = [
        ["https://github.com/org/repo", "https://github.com", "http"],
        ["https://github.com/org/repo.git", "https://github.com", "http"],
        ["https://GitHub.COM/org/repo", "https://github.com", "http"],
        ["https://github.com:443/org/repo", "https://github.com", "http"],
        ["https://ghe.example.com:8443/org/repo", "https://ghe.example.com:8443", "http"],
        ["http://gitea.local:3000/a/b", "http://gitea.local:3000", "http"],
        ["https://user:pass@github.com/org/repo", "https://github.com", "http"],
        ["https://ghp_token@github.com/org/repo", "https://github.com", "http"],
        ["git@github.com:org/repo.git", "github.com", "ssh"],
        ["github.com:org/repo.git", "github.com", "ssh"],
        ["ssh://git@github.com/org/repo.git", "github.com", "ssh"],
        ["ssh://git@host.corp:2222/x", "host.corp:2222", "ssh"],
        ["ssh://git@host.corp:22/x", "host.corp", "ssh"],
        ["git+ssh://git@host.corp/x", "host.corp", "ssh"],
        ["ssh://git@[::1]:2222/x", "[::1]:2222", "ssh"],
    ];
    for (const [url, annotation, transport] of cases) {
        it(`${url} → ${annotation}`, () => {
            const h = parseGitHost(url);
            assert.equal(h.annotation, annotation);
            assert.equal(h.transport, transport);
            assert.deepEqual(parseGitHost(h.canonicalUrl).annotation, annotation, "canonical URL parses to the same host");
        });
    }
    for (const bad of ["", "github.com", "ftp://github.com/x", "file:///etc/passwd", "https://", "https://git hub.com/x", "https://github.com\n/x", "https://exa$mple.com/x", "https://host:99999/x"]) {
        it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parseGitHost(bad), UrlProblem));
    }
});

describe("derive: repository and registry URLs", () => {
    it("accepts plain repository URLs and an ssh login name", () => {
        assert.equal(checkRepoUrl("https://github.com/o/r", ["http"]), "http");
        assert.equal(checkRepoUrl("git@github.com:o/r.git", ["ssh"]), "ssh");
        assert.equal(checkRepoUrl("ssh://git@github.com/o/r.git", ["ssh"]), "ssh");
        assert.equal(checkRepoUrl("oci://ghcr.io/org/charts", ["oci"]), "oci");
        assert.equal(checkRepoUrl("ghcr.io/org/app", ["image"]), "image");
    });
    it("rejects credentials and wrong kinds", () => {
        assert.throws(() => checkRepoUrl("https://u:p@github.com/o/r", ["http"]), /credentials/);
        assert.throws(() => checkRepoUrl("https://tok@github.com/o/r", ["http"]), /credentials/);
        assert.throws(() => checkRepoUrl("ssh://git:pw@github.com/o/r", ["ssh"]), /credentials/);
        assert.throws(() => checkRepoUrl("git@github.com:o/r", ["http"]), /not accepted/);
    });
    it("registries", () => {
        assert.equal(parseRegistryLike("ghcr.io"), "ghcr.io");
        assert.equal(parseRegistryLike("https://index.docker.io/v1/"), "index.docker.io");
        assert.equal(parseRegistryLike("registry.example.com:5000/path"), "registry.example.com:5000");
        assert.throws(() => parseRegistryLike("u:p@ghcr.io"), /credentials/);
        assert.throws(() => parseRegistryLike("ghcr io"), UrlProblem);
    });
});
