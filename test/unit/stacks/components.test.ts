import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { tokenGeneratorFragment, PRIVATE_KEY_FILE, TOKEN_PATH } from "../../../stacks/github/tokenGenerator";
import { clusterSecretStoreManifest, dockerConfigTemplate, externalSecretSpec, kargoImageTemplate } from "../../../stacks/eso/manifests";
import { passwordKeepers } from "../../../stacks/passwords";
import { appReaderRules } from "../../../stacks/github/apps";
import type { GitHubAppSpec } from "../../../stacks/config/types";
import { runBuild } from "./harness";

describe("stacks/github: tokenGeneratorFragment", () => {
    it("keeps the token generator's env contract", () => {
        const f = tokenGeneratorFragment({ name: "rex" }, { sidecar: true, owner: "example-org", repository: "example-org/platform" });
        assert.equal(f.initContainers.length, 1);
        assert.equal(f.containers.length, 1);
        const [init] = f.initContainers;
        const [side] = f.containers;
        assert.equal(init.image, "ghcr.io/platform-secrets/github-token-generator:0.1.0");
        assert.deepEqual(init.args, ["once"]);
        assert.deepEqual(side.args, ["sidecar"]);
        const env = Object.fromEntries(init.env.map((e) => [e.name, e]));
        assert.deepEqual(env.APP_ID.valueFrom, { secretKeyRef: { name: "github-app-rex", key: "appId" } });
        assert.deepEqual(env.INSTALLATION_ID.valueFrom, { secretKeyRef: { name: "github-app-rex", key: "installationId", optional: true } });
        assert.equal(env.PRIVATE_KEY_FILE.value, PRIVATE_KEY_FILE);
        assert.equal(env.OUTPUT_PATH.value, "/var/run/github/token");
        assert.equal(env.GITHUB_API_URL.value, "https://api.github.com");
        assert.equal(env.GITHUB_OWNER.value, "example-org");
        assert.equal(env.GITHUB_REPOSITORY.value, "example-org/platform");
        assert.ok(!init.env.some((e) => e.name === "PRIVATE_KEY"), "the key is a file, never an env var");
        for (const c of [init, side]) {
            assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
            assert.equal(c.securityContext.runAsNonRoot, true);
            assert.equal(c.securityContext.readOnlyRootFilesystem, true);
            assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        }
        const vols = Object.fromEntries(f.volumes.map((v: any) => [v.name, v]));
        assert.deepEqual(vols["github-token"].emptyDir.medium, "Memory");
        assert.deepEqual(vols["github-token-app-key"].secret, { secretName: "github-app-rex", items: [{ key: "privateKey", path: "private-key.pem" }], defaultMode: 0o400 });
        const keyMount = init.volumeMounts.find((m) => m.name === "github-token-app-key")!;
        assert.equal(`${keyMount.mountPath}/private-key.pem`, PRIVATE_KEY_FILE);
        assert.deepEqual(init.volumeMounts.find((m) => m.name === "github-token")!.mountPath, "/var/run/github");
        assert.deepEqual(f.volumeMounts, [{ name: "github-token", mountPath: "/var/run/github", readOnly: true }]);
        assert.deepEqual(f.env, [{ name: "GITHUB_TOKEN_FILE", value: TOKEN_PATH }]);
    });

    it("omits optional pieces by default and names everything after the app (property)", () => {
        fc.assert(fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/), (name) => {
            const f = tokenGeneratorFragment({ name });
            assert.equal(f.containers.length, 0);
            assert.equal(f.initContainers[0].name, `${name}-token-init`);
            assert.ok(!f.initContainers[0].env.some((e) => e.name === "GITHUB_OWNER" || e.name === "GITHUB_REPOSITORY"));
            assert.equal((f.volumes[1] as any).secret.secretName, `github-app-${name}`);
        }));
        assert.throws(() => tokenGeneratorFragment({ name: "Rex!" }), /app name "Rex!" is not a DNS label/);
    });
});

describe("stacks/eso: manifests", () => {
    it("the store carries one condition for names/regexes and one namespaceSelector per label", () => {
        const m = clusterSecretStoreManifest(
            { address: "https://vault:8200", kvMount: "kv", auth: { method: "kubernetes", role: "eso", mountPath: "kubernetes" } },
            { name: "s", allowedNamespaces: ["a"], allowedNamespaceRegexes: ["^team-"], allowedNamespaceLabels: [{ key: "x", value: "1" }, { key: "y", value: "2" }] },
            {},
        );
        assert.deepEqual(m.spec, {
            provider: { vault: { server: "https://vault:8200", path: "kv", version: "v2", auth: { kubernetes: { mountPath: "kubernetes", role: "eso" } } } },
            conditions: [{ namespaces: ["a"], namespaceRegexes: ["^team-"] }, { namespaceSelector: { matchLabels: { x: "1" } } }, { namespaceSelector: { matchLabels: { y: "2" } } }],
        });
        const open = clusterSecretStoreManifest({ address: "http://v:8200", kvMount: "secret", auth: { method: "token", secretName: "t", secretNamespace: "eso", secretKey: "token" } }, { name: "s", allowedNamespaces: [], allowedNamespaceRegexes: [], allowedNamespaceLabels: [] }, {});
        assert.equal(open.spec.conditions, undefined);
        assert.deepEqual((open.spec.provider as any).vault.auth, { tokenSecretRef: { name: "t", namespace: "eso", key: "token" } });
    });

    it("refreshInterval is written only for Periodic", () => {
        for (const policy of ["CreatedOnce", "OnChange", "Periodic"] as const) {
            const s = externalSecretSpec({ storeName: "s", refreshPolicy: policy, refreshInterval: "5m", targetName: "t", data: [{ secretKey: "k", key: "p", property: "q" }] });
            assert.equal(s.refreshPolicy, policy);
            assert.equal(s.refreshInterval, policy === "Periodic" ? "5m" : undefined);
        }
    });

    it("the dockerconfigjson template renders valid JSON for any credentials once ESO fills it (toJson escaping)", () => {
        const full = dockerConfigTemplate("ghcr.io")[".dockerconfigjson"];
        // The refusal guards in front render nothing for accepted input (real ESO: test/integration/eso/fanout.test.ts).
        const tpl = full.slice(full.indexOf('{"auths"'));
        assert.match(full.slice(0, full.indexOf('{"auths"')), /^(\{\{-? if [^}]*\}\}\{\{ fail "[^"\\]*(\\.[^"\\]*)*" \}\}\{\{ end -\}\})+$/);
        fc.assert(fc.property(fc.string(), fc.string(), (user, pass) => {
            // Emulate ESO's engine for the three expressions the template uses.
            const out = tpl
                .replace("{{ .username | toJson }}", () => JSON.stringify(user))
                .replace("{{ .password | toJson }}", () => JSON.stringify(pass))
                .replace('{{ printf "%s:%s" .username .password | b64enc | toJson }}', () => JSON.stringify(Buffer.from(`${user}:${pass}`).toString("base64")));
            const parsed = JSON.parse(out);
            assert.deepEqual(parsed.auths["ghcr.io"], { username: user, password: pass, auth: Buffer.from(`${user}:${pass}`).toString("base64") });
        }));
    });

    it("the Kargo template escapes template delimiters in a literal repoURL", () => {
        const t = kargoImageTemplate("^ghcr\\.io/{{x}}", true);
        assert.equal(t.data.repoURL, '^ghcr\\.io/{{ "{{" }}x}}');
        assert.equal(t.data.repoURLIsRegex, "true");
        assert.deepEqual(t.labels, { "kargo.akuity.io/cred-type": "image" });
    });

    it("password keepers hold only the rotation counter", () => {
        fc.assert(fc.property(fc.nat(), (n) => assert.deepEqual(passwordKeepers(n), { rotation: String(n) })));
    });

    it("an app's reader role names exactly its own secrets", () => {
        const app: GitHubAppSpec = { name: "qa", vaultPath: "p", secretName: "github-app-qa", serviceAccount: "github-app-qa", syncInstallationId: false, repositories: [] };
        assert.deepEqual(appReaderRules(app, "externalSecret")[0].resourceNames, ["github-app-qa"]);
        assert.deepEqual(appReaderRules(app, "generator")[0].resourceNames, ["github-app-qa", "github-app-qa-token"]);
    });
});

describe("stacks components: validation at the top (ResourceError)", function () {
    this.timeout(60000);

    async function fresh() {
        return (await runBuild({})).stacks;
    }

    it("StablePassword rejects a non-positive length and a negative rotation", async () => {
        const s = await fresh();
        assert.throws(() => new s.StablePassword("bad", { mount: "secret", path: "p", length: 0, rotation: 0 }), (e: unknown) => e instanceof pulumi.ResourceError && /StablePassword bad: length 0 is not positive/.test((e as Error).message));
        assert.throws(() => new s.StablePassword("bad2", { mount: "secret", path: "p", length: 32, rotation: -1 }), /rotation must be a whole number >= 0/);
    });

    it("GitHubAppCredentials rejects generator mode without ids; VaultClusterExternalSecret rejects no selectors; DriftChecks rejects a bad cron", async () => {
        const s = await fresh();
        const app: GitHubAppSpec = { name: "rex", vaultPath: "p", secretName: "github-app-rex", serviceAccount: "github-app-rex", syncInstallationId: false, repositories: [] };
        assert.throws(() => new s.GitHubAppCredentials("g", { app, namespace: "workflows", storeName: "s", mode: "generator" }), /generator mode needs app.appId and app.installationId/);
        assert.throws(() => new s.VaultClusterExternalSecret("c", { namespaceSelectors: [], spec: { storeName: "s", refreshPolicy: "Periodic", refreshInterval: "1h", targetName: "t", data: [] } }), /namespaceSelectors is empty/);
        assert.throws(() => new s.VaultExternalSecret("e", { namespace: "n", spec: { storeName: "s", refreshPolicy: "Periodic", refreshInterval: "1h", targetName: "t", data: [] } }), /neither data nor generatorRef/);
        assert.throws(() => new s.DriftChecks("d", { drift: { ...s.parseStackConfig({ environment: "dev", vaultAddress: "https://vault.example:8200" }).drift, organization: "o", cron: "hourly", repoUrl: "https://x/y.git" } }), /cron "hourly" is not a 5-field cron expression/);
    });
});
