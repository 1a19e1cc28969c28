import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import * as fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import {
    ConfigError, SCALAR_KEYS, STRUCTURED_KEYS, namespaceAllowed, parseStackConfig, readRawConfig, selectorMatches, StoreSettings,
} from "../../../stacks/config";
import { renderProjectYaml } from "../../../stacks/config/project-yaml";
import { ROOT, loadStackFile, runStack, toRawConfig } from "./harness";
import { canaryValue } from "../../support";

const STACKS = ["dev", "staging", "prod"];
/** What a stack must set (an empty one fails listing these). */
const REQUIRED = { environment: "dev", vaultAddress: "https://vault.example:8200", reconcilerImage: "registry.example/platform-secrets/reconciler:1" };

function parse(stack: string, overrides: Record<string, unknown> = {}, token?: string) {
    const cfg = { ...loadStackFile(stack), ...overrides };
    for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete cfg[k];
    return parseStackConfig(toRawConfig(cfg), token ? pulumi.secret(token) : undefined);
}

function rejects(fn: () => unknown, key: string, message: RegExp): ConfigError {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
        assert.ok(e instanceof pulumi.RunError, "ConfigError must be a pulumi.RunError (no stack trace in preview)");
        assert.equal(e.key, key);
        assert.match(e.message, message);
        assert.match(e.message, /; fix: \S/, "every message ends with the fix");
        return e;
    }
    assert.fail(`expected a ConfigError for ${key}`);
}

const dev = () => loadStackFile("dev");
const devPasswords = () => JSON.parse(JSON.stringify(dev().passwords)) as any[];

describe("stacks/config: Pulumi.yaml schema", () => {
    it("is exactly what `npm run gen:pulumi-yaml` renders from stacks/config/schema.ts", () => {
        assert.equal(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"), renderProjectYaml(), "Pulumi.yaml is stale: run npm run gen:pulumi-yaml");
    });

    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const text = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");

    it("names the project and the TypeScript nodejs runtime", () => {
        assert.equal(project.name, "platform-secrets");
        assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
    });

    it("declares every scalar setting with type, description and default, exactly as the validator's schema", () => {
        // Optional secrets are documented, not declared: the real CLI refuses `secret: true` with a plaintext default
        // ("must be encrypted as it's secret") and treats a declared key without a default as required.
        assert.deepEqual(Object.keys(project.config).sort(), SCALAR_KEYS.filter((k) => !k.secret).map((k) => k.key).sort());
        for (const k of SCALAR_KEYS.filter((x) => x.secret)) assert.ok(text.includes(`#   platform-secrets:${k.key} (secret `), `${k.key} documented`);
        for (const k of SCALAR_KEYS.filter((x) => !x.secret)) {
            const e = project.config[k.key];
            assert.ok(["string", "integer", "boolean", "array"].includes(e.type), `${k.key}: Pulumi accepts only string|integer|boolean|array`);
            assert.equal(e.type, k.type, k.key);
            assert.equal(e.description, k.description, k.key);
            assert.deepEqual(e.default, k.default, k.key);
            if (e.type === "array") assert.deepEqual(e.items, { type: "string" }, `${k.key}: arrays need items`);
            assert.equal(e.secret, undefined, `${k.key}: no declared key is secret`);
        }
    });

    it("documents every structured setting (no object type in Pulumi's project schema)", () => {
        for (const k of STRUCTURED_KEYS) assert.ok(text.includes(`#   platform-secrets:${k.key} (`), k.key);
    });
});

describe("stacks/config: example stacks", () => {
    for (const stack of STACKS) {
        it(`${stack}: validates, with every key in the platform-secrets namespace`, () => {
            const cfg = parse(stack);
            assert.equal(cfg.environment, stack);
            assert.equal(cfg.passwords.length, 4);
            assert.equal(cfg.github.apps.length, 5);
            assert.deepEqual(cfg.github.apps.map((a) => a.name), ["rex", "clippy", "qa", "triage", "security"]);
        });
    }

    it("an empty stack fails listing everything it must set", () => {
        rejects(() => parseStackConfig({}), "platform-secrets:environment, platform-secrets:vaultAddress", /are not set .*; fix: pulumi config set platform-secrets:environment dev; pulumi config set platform-secrets:vaultAddress https:\/\/.*/);
        rejects(() => parseStackConfig({ environment: "dev", reconcilerEnabled: "false" }), "platform-secrets:vaultAddress", /is not set/);
    });

    it("refuses plain-http Vault except on loopback", () => {
        rejects(() => parseStackConfig({ ...REQUIRED, vaultAddress: "http://vault.vault.svc:8200" }), "platform-secrets:vaultAddress", /"http:\/\/vault.vault.svc:8200" is plain http to a non-loopback host.*; fix: use https:\/\/vault.vault.svc:8200/);
        rejects(() => parseStackConfig({ ...REQUIRED, reconcilerVaultAddress: "http://10.0.0.5:8200" }), "platform-secrets:reconcilerVaultAddress", /plain http to a non-loopback host/);
        for (const ok of ["http://127.0.0.1:8200", "http://localhost:8200", "http://[::1]:8200", "https://vault.example:8200"]) assert.equal(parseStackConfig({ ...REQUIRED, vaultAddress: ok }).vault.address, ok);
    });

    it("applies schema defaults when a key is absent", () => {
        const cfg = parseStackConfig(REQUIRED);
        assert.equal(cfg.vault.kvMount, "secret");
        assert.equal(cfg.vault.auth.method, "kubernetes");
        assert.equal(cfg.store.name, "vault-kv-dev");
        assert.deepEqual(cfg.installation, { instance: "dev", vaultPathPrefix: "dev", vaultOwnershipCheck: true });
        assert.equal(cfg.passwordMinLength, 24);
        assert.equal(cfg.drift.enabled, false);
        assert.equal(cfg.github.tokenGeneratorImage, "ghcr.io/platform-secrets/github-token-generator:0.1.0");
        assert.deepEqual(cfg.passwords, []);
    });

    it("keeps the secret githubToken out of the plain config map", () => {
        const raw = readRawConfig({ "platform-secrets:githubToken": "CANARY-token", "platform-secrets:environment": "dev", "other:key": "x" });
        assert.deepEqual(raw, { environment: "dev" });
    });

    it("defaults the docker selector to seed 003's secrets/gh-docker-registry label and Kargo's repoURL to a registry regex", () => {
        const cfg = parseStackConfig(toRawConfig({ ...REQUIRED, externalVaultPaths: ["r"], dockerRegistries: [{ name: "app-reg", server: "ghcr.io", vaultPath: "r", kargo: { namespaceSelectors: [{ matchLabels: { k: "v" } }] } }] }));
        assert.deepEqual(cfg.dockerRegistries[0].namespaceSelectors, [{ matchLabels: { "secrets/gh-docker-registry": "true" } }]);
        assert.equal(cfg.dockerRegistries[0].kargo!.repoURL, "^ghcr\\.io/");
        assert.equal(cfg.dockerRegistries[0].kargo!.repoURLIsRegex, true);
        assert.equal(cfg.dockerRegistries[0].kargo!.name, "kargo-app-reg");
    });
});

describe("stacks/config: guardrails reject bad config naming the key and the fix", () => {
    const pdnsGenerator = { name: "powerdns-api-key-generator", namespace: "dns-system", kind: "Password", spec: { length: 32, allowRepeat: true, noUpper: false }, target: { secretName: "powerdns-api-key-gen" } };

    it("1. an ESO Password generator with the default (periodic) refresh", () => {
        rejects(() => parse("dev", { esoGenerators: [pdnsGenerator] }), "platform-secrets:esoGenerators[0].target.refreshPolicy", /Password generator "powerdns-api-key-generator" refreshes periodically \(default Periodic, every 1h\).*NEW password.*fix: declare it under platform-secrets:passwords/);
    });

    it("2. an ESO Password generator with an explicit Periodic 8760h refresh (seed 004's stop-gap)", () => {
        rejects(() => parse("dev", { esoGenerators: [{ ...pdnsGenerator, target: { secretName: "x", refreshPolicy: "Periodic", refreshInterval: "8760h" } }] }), "platform-secrets:esoGenerators[0].target.refreshPolicy", /refreshes periodically \(Periodic, every 8760h\)/);
    });

    it("   (a Password generator created once, and a non-Password generator, pass)", () => {
        parse("dev", { esoGenerators: [{ ...pdnsGenerator, target: { secretName: "x", refreshPolicy: "CreatedOnce" } }] });
        parse("dev", { esoGenerators: [{ ...pdnsGenerator, target: { secretName: "x", refreshPolicy: "Periodic", refreshInterval: "0s" } }] });
        parse("dev", { esoGenerators: [{ ...pdnsGenerator, kind: "UUID" }] });
    });

    it("3. a cert-manager ClusterIssuer apiKeySecretRef without namespace", () => {
        const issuer = (ref: Record<string, string>) => ({ name: "pdns", kind: "ClusterIssuer", spec: { acme: { solvers: [{ dns01: { webhook: { groupName: "g", solverName: "pdns", config: { apiKeySecretRef: ref } } } }] } } });
        rejects(() => parse("dev", { certManagerIssuers: [issuer({ name: "powerdns-api-key", key: "PDNS_API_KEY" })] }), "platform-secrets:certManagerIssuers[0].spec.acme.solvers[0].dns01.webhook.config.apiKeySecretRef.namespace", /ClusterIssuer "pdns" references secret "powerdns-api-key" without a namespace.*each Certificate's namespace; fix: set apiKeySecretRef.namespace/);
        parse("dev", { certManagerIssuers: [issuer({ name: "powerdns-api-key", key: "PDNS_API_KEY", namespace: "cert-manager" })] });
    });

    it("4. a password consumer namespace excluded by the store's conditions", () => {
        const pw = devPasswords();
        pw[0].consumers[0].namespace = "monitoring";
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[0].consumers[0].namespace", /namespace "monitoring" is excluded by the conditions of ClusterSecretStore "vault-kv-dev"; fix: add "monitoring" to platform-secrets:storeAllowedNamespaces/);
    });

    it("5. an ExternalSecret namespace whose declared labels miss every label condition", () => {
        rejects(() => parse("dev", { namespaceLabels: { backstage: { team: "portal" } } }), "platform-secrets:externalSecrets[0].namespace", /namespace "backstage" is excluded/);
    });

    it("6. a ClusterExternalSecret selector the store's conditions do not guarantee", () => {
        const ces = JSON.parse(JSON.stringify(dev().clusterExternalSecrets));
        ces[0].namespaceSelectors = [{ matchLabels: { team: "a" } }];
        rejects(() => parse("dev", { clusterExternalSecrets: ces }), "platform-secrets:clusterExternalSecrets[0].namespaceSelectors[0]", /do not guarantee; fix: require one of secrets\/gh-docker-registry=true \| kargo.akuity.io\/project=true/);
    });

    it("7. two passwords on one Vault path", () => {
        const pw = devPasswords();
        pw[1].vaultPath = pw[0].vaultPath;
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[1].vaultPath", /Vault path "dev\/dns\/powerdns-api-key" is already written by passwords\[0\] \("powerdns-api-key"\); fix: give each secret its own vaultPath/);
    });

    it("8. a password path also declared as written elsewhere", () => {
        rejects(() => parse("dev", { externalVaultPaths: ["dns/powerdns-api-key"] }), "platform-secrets:externalVaultPaths[0]", /written by this stack .* and declared as written elsewhere/);
    });

    it("9. a password shorter than the policy", () => {
        const pw = devPasswords();
        pw[2].length = 16;
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[2].length", /password "authentik-bootstrap-token" is 16 characters, shorter than the policy minimum 24.*fix: set length to 24 or more/);
        rejects(() => parse("prod", { passwordMinLength: "64" }), "platform-secrets:passwords[0].length", /shorter than the policy minimum 64/);
    });

    it("10. an ExternalSecret reading a Vault path nobody writes", () => {
        const es = JSON.parse(JSON.stringify(dev().externalSecrets));
        es[0].vaultPath = "oauth/backstage-gihtub";
        rejects(() => parse("dev", { externalSecrets: es }), "platform-secrets:externalSecrets[0].vaultPath", /"oauth\/backstage-gihtub" is neither written by this stack .* nor declared in platform-secrets:externalVaultPaths/);
    });

    it("11. a misspelt config key, with a suggestion", () => {
        rejects(() => parse("dev", { pasword: [] }), "platform-secrets:pasword", /is not a setting this program reads; fix: did you mean "platform-secrets:passwords"\?/);
    });

    it("12. a misspelt field, with a suggestion", () => {
        const pw = devPasswords();
        pw[0].lenght = 40;
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[0].lenght", /unknown field; fix: did you mean "length"\?/);
    });

    it("13. a GitHub App name that cannot name Kubernetes objects (any DNS-1123 name is fine)", () => {
        rejects(() => parse("dev", { githubApps: [{ name: "Deploy_Bot" }] }), "platform-secrets:githubApps[0].name", /"Deploy_Bot" is not a DNS-1123 label .*; fix: use lower-case letters, digits and '-', e.g. rex, clippy, qa, triage, security/);
        const cfg = parse("dev", { githubApps: [{ name: "deploy-bot" }], externalVaultPaths: [...(loadStackFile("dev").externalVaultPaths as string[]), "github-apps/deploy-bot"] });
        assert.deepEqual(cfg.github.apps.map((a) => [a.name, a.vaultPath, a.secretName]), [["deploy-bot", "github-apps/deploy-bot", "github-app-deploy-bot"]]);
    });

    it("14. generator mode without the literal app/installation ids", () => {
        rejects(() => parse("dev", { githubAppsMode: "generator" }), "platform-secrets:githubApps[0].appId", /required when githubAppsMode is generator/);
    });

    it("15. repositories declared with a GitHub token but no installationId", () => {
        rejects(() => parse("dev", {}, "CANARY-gh-token"), "platform-secrets:githubApps[0].installationId", /required to declare the installation's repositories/);
    });

    it("16. an unknown Vault auth method", () => {
        rejects(() => parse("dev", { vaultAuthMethod: "userpass" }), "platform-secrets:vaultAuthMethod", /"userpass" is not allowed; fix: use one of kubernetes, token/);
    });

    it("17. drift enabled without an organization, and a bad cron", () => {
        rejects(() => parse("staging", { driftOrganization: "" }), "platform-secrets:driftOrganization", /required when driftEnabled is true/);
        rejects(() => parse("staging", { driftCron: "hourly" }), "platform-secrets:driftCron", /not a 5-field cron/);
    });

    it("18. two ExternalSecrets writing one Kubernetes Secret", () => {
        const pw = devPasswords();
        pw[1].consumers[0].namespace = "authentik";
        pw[1].consumers[0].secretName = "authentik-bootstrap";
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[2].consumers[0].secretName", /Secret authentik\/authentik-bootstrap is already written by platform-secrets:passwords\[1\]|already written by passwords\[1\]/);
    });

    it("19. a selector expression In without values, and an empty selector", () => {
        const ces = JSON.parse(JSON.stringify(dev().clusterExternalSecrets));
        ces[0].namespaceSelectors = [{ matchExpressions: [{ key: "a", operator: "In" }] }];
        rejects(() => parse("dev", { clusterExternalSecrets: ces }), "platform-secrets:clusterExternalSecrets[0].namespaceSelectors[0].matchExpressions[0].values", /must be non-empty for In/);
        ces[0].namespaceSelectors = [{}];
        rejects(() => parse("dev", { clusterExternalSecrets: ces }), "platform-secrets:clusterExternalSecrets[0].namespaceSelectors[0]", /selects every namespace/);
    });

    it("20. ill-typed scalars and structures", () => {
        rejects(() => parse("dev", { passwordMinLength: "twenty" }), "platform-secrets:passwordMinLength", /must be an integer/);
        rejects(() => parse("dev", { driftEnabled: "yes" }), "platform-secrets:driftEnabled", /must be true or false/);
        rejects(() => parse("dev", { passwords: { name: "x" } }), "platform-secrets:passwords", /must be a list/);
        rejects(() => parseStackConfig({ ...REQUIRED, passwords: "not json" }), "platform-secrets:passwords", /is not structured config/);
        const pw = devPasswords();
        pw[0].upper = false;
        pw[0].lower = false;
        pw[0].numeric = false;
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[0].lower", /every character class is disabled/);
    });

    it("21. a hook the reconciler would reject", () => {
        const pw = devPasswords();
        pw[0].consumers[0].hooks = [{ type: "restart-everything" }];
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[0].consumers[0].hooks", /unknown type "restart-everything"/);
    });

    it("22. a postgres hook reading a Vault path other than its own password's (seed 004: the previous version of the OWN path logs in)", () => {
        const pw = devPasswords();
        pw[1].consumers[0].hooks[0].vault = { path: "authentik/postgres-previous" };
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[1].consumers[0].hooks[0].vault.path", /would read Vault path "authentik\/postgres-previous", but a hook may read only its own password's path \(password "authentik-postgres-password" is stored at mount "secret", path "dev\/authentik\/postgres", key "password"\).*fix: remove vault \(it defaults to the password's own path\) or set vault.path: dev\/authentik\/postgres/);
        // Another password's path is refused just the same: a hook may not read what it does not belong to.
        pw[1].consumers[0].hooks[0].vault = { path: "dns/powerdns-api-key" };
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[1].consumers[0].hooks[0].vault.path", /may read only its own password's path/);
        // The own path, spelled out, is what the old guardrail rejected; it is the natural config now.
        pw[1].consumers[0].hooks[0].vault = { path: "authentik/postgres", mount: "secret", key: "password" };
        parse("dev", { passwords: pw });
    });

    it("fails the program itself (what `pulumi preview` runs) with the ConfigError", async () => {
        // The program module is loaded fresh, so compare by name and base class rather than this module's class.
        await assert.rejects(runStack("dev", { overrides: { esoGenerators: [pdnsGenerator] } }), (e: unknown) => (e as Error).name === "ConfigError" && e instanceof pulumi.RunError && /esoGenerators\[0\]\.target\.refreshPolicy/.test((e as Error).message));
    });

    it("never echoes the secret githubToken in a message (canary)", async () => {
        const canary = canaryValue();
        await assert.rejects(runStack("dev", { secrets: { githubToken: canary } }), (e: unknown) => /githubApps\[0\]\.installationId/.test((e as Error).message) && !(e as Error).message.includes(canary));
    });
});

describe("stacks/config: store conditions (ESO semantics)", () => {
    const store = (p: Partial<StoreSettings>): StoreSettings => ({ name: "s", allowedNamespaces: [], allowedNamespaceRegexes: [], allowedNamespaceLabels: [], ...p });
    const label = fc.stringMatching(/^[a-z]{1,5}$/);

    it("no conditions allows every namespace; a listed name, an unanchored regex or a matching label allows it", () => {
        fc.assert(fc.property(label, fc.dictionary(label, label), (ns, labels) => {
            assert.equal(namespaceAllowed(store({}), ns, labels), true);
            assert.equal(namespaceAllowed(store({ allowedNamespaces: [ns] }), ns, undefined), true);
            assert.equal(namespaceAllowed(store({ allowedNamespaceRegexes: [ns.slice(1) || ns] }), ns, undefined), true);
            const [k] = Object.keys(labels);
            if (k) assert.equal(namespaceAllowed(store({ allowedNamespaceLabels: [{ key: k, value: labels[k] }] }), ns, labels), true);
            assert.equal(namespaceAllowed(store({ allowedNamespaces: [`${ns}x`] }), ns, labels), false);
        }));
    });

    it("selectorMatches follows Kubernetes label selector semantics", () => {
        fc.assert(fc.property(fc.dictionary(label, label), label, label, (labels, k, v) => {
            const has = Object.prototype.hasOwnProperty.call(labels, k);
            assert.equal(selectorMatches({ matchExpressions: [{ key: k, operator: "Exists" }] }, labels), has);
            assert.equal(selectorMatches({ matchExpressions: [{ key: k, operator: "DoesNotExist" }] }, labels), !has);
            assert.equal(selectorMatches({ matchExpressions: [{ key: k, operator: "In", values: [v] }] }, labels), has && labels[k] === v);
            assert.equal(selectorMatches({ matchExpressions: [{ key: k, operator: "NotIn", values: [v] }] }, labels), !(has && labels[k] === v));
            assert.equal(selectorMatches({ matchLabels: { [k]: v } }, labels), labels[k] === v);
        }));
    });
});
