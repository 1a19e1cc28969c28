import { strict as assert } from "node:assert";
import { T, inventory, isSecret, loadStackFile, ofType, outputValue, runBuild, runStack, Registered } from "./harness";
import { canaryValue } from "../../support";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const APPS = ["rex", "clippy", "qa", "triage", "security"];
const PASSWORDS = ["powerdns-api-key", "authentik-postgres-password", "authentik-bootstrap-token", "platform-webhook-token"];
const CONSUMER_ES = [
    "password-powerdns-api-key-dns-system-powerdns-api-key",
    "password-powerdns-api-key-cert-manager-powerdns-api-key",
    "password-powerdns-api-key-external-dns-powerdns-api-key",
    "password-authentik-postgres-password-authentik-authentik-postgres",
    "password-authentik-bootstrap-token-authentik-authentik-bootstrap",
];

/** The resources every example stack has (type::name), spelled out. */
function common(): string[] {
    const esComponent = (n: string) => [`platform-secrets:eso:VaultExternalSecret::${n}`, `${T.externalSecret}::${n}-es`];
    const cesComponent = (n: string) => [`platform-secrets:eso:VaultClusterExternalSecret::${n}`, `${T.clusterExternalSecret}::${n}-ces`];
    return [
        // The stack's one kubernetes.Provider (stacks/cluster.ts): every Kubernetes object goes through it.
        "pulumi:providers:kubernetes::cluster",
        "platform-secrets:eso:VaultClusterSecretStore::vault",
        `${T.clusterSecretStore}::vault-store`,
        ...PASSWORDS.flatMap((p) => [
            `platform-secrets:passwords:StablePassword::password-${p}`,
            `${T.passwordGuard}::password-${p}-guard`,
            `${T.randomPassword}::password-${p}-random`,
            `${T.secretV2}::password-${p}-vault`,
        ]),
        ...CONSUMER_ES.flatMap(esComponent),
        ...esComponent("external-backstage-backstage-github-oauth"),
        ...cesComponent("fanout-platform-webhook-token"),
        "platform-secrets:eso:DockerRegistryCredentials::registry-application-docker-registry",
        ...cesComponent("registry-application-docker-registry-application"),
        ...cesComponent("registry-application-docker-registry-kargo"),
        "platform-secrets:git:GitCredentials::git-platform-repo",
        ...esComponent("git-platform-repo-source"),
        "pulumi-nodejs:dynamic/platform-secrets:TektonGitCredential::git-platform-repo-tekton",
        "pulumi-nodejs:dynamic/platform-secrets:ArgoCdRepository::git-platform-repo-argocd",
        "pulumi-nodejs:dynamic/platform-secrets:KargoCredential::git-platform-repo-kargo",
        "platform-secrets:reconciler:ReconcilerDeployment::platform-secrets",
        "kubernetes:core/v1:Namespace::platform-secrets-ns",
        `${T.serviceAccount}::platform-secrets-sa`,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::platform-secrets-cluster",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding::platform-secrets-cluster",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::platform-secrets-secrets",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding::platform-secrets-secrets",
        `${T.role}::platform-secrets-own`,
        `${T.roleBinding}::platform-secrets-own`,
        "kubernetes:core/v1:ConfigMap::platform-secrets-policy",
        "kubernetes:apps/v1:Deployment::platform-secrets-deployment",
        "kubernetes:policy/v1:PodDisruptionBudget::platform-secrets-pdb",
        "kubernetes:core/v1:Service::platform-secrets-metrics",
        ...APPS.flatMap((a) => [
            `platform-secrets:github:GitHubAppCredentials::github-app-${a}`,
            `${T.serviceAccount}::github-app-${a}-sa`,
            ...esComponent(`github-app-${a}-credentials`),
            `${T.role}::github-app-${a}-reader`,
            `${T.roleBinding}::github-app-${a}-reader`,
        ]),
    ];
}

const drift = ["platform-secrets:drift:DriftChecks::drift", `${T.deploymentSettings}::drift-settings`, `${T.driftSchedule}::drift-schedule`];

/** dev's second repository URL (one more Argo CD / Kargo secret) and its ssh deploy key (Tekton + Argo CD repo-creds). */
const devGit = [
    "pulumi-nodejs:dynamic/platform-secrets:ArgoCdRepository::git-platform-repo-argocd-1",
    "pulumi-nodejs:dynamic/platform-secrets:KargoCredential::git-platform-repo-kargo-1",
    "platform-secrets:git:GitCredentials::git-infra-deploy-key",
    "platform-secrets:eso:VaultExternalSecret::git-infra-deploy-key-source",
    `${T.externalSecret}::git-infra-deploy-key-source-es`,
    "pulumi-nodejs:dynamic/platform-secrets:TektonGitCredential::git-infra-deploy-key-tekton",
    "pulumi-nodejs:dynamic/platform-secrets:ArgoCdRepository::git-infra-deploy-key-argocd",
];

const EXPECTED: Record<string, string[]> = {
    dev: [...common(), ...devGit],
    staging: [
        ...common(),
        ...APPS.flatMap((a) => [
            `${T.githubAccessToken}::github-app-${a}-generator`,
            `platform-secrets:eso:VaultExternalSecret::github-app-${a}-token`,
            `${T.externalSecret}::github-app-${a}-token-es`,
        ]),
        ...drift,
    ],
    prod: [...common(), "platform-secrets:eso:RawManifest::issuer-letsencrypt-powerdns", "kubernetes:cert-manager.io/v1:ClusterIssuer::issuer-letsencrypt-powerdns-cr", ...drift],
};

function remoteKeys(r: Registered): string[] {
    const spec = r.type === T.clusterExternalSecret ? r.inputs.spec.externalSecretSpec : r.inputs.spec;
    return (spec.data ?? []).map((d: any) => d.remoteRef.key);
}

for (const stack of ["dev", "staging", "prod"]) {
    describe(`stacks program: ${stack}`, function () {
        this.timeout(60000);
        let run: Awaited<ReturnType<typeof runStack>>;
        before(async () => {
            run = await runStack(stack);
        });

        it("registers exactly the expected resources (type tokens + names) and no others", () => {
            assert.deepEqual(inventory(run), [...EXPECTED[stack]].sort());
        });

        it("declares no ESO Password generator", () => {
            assert.equal(ofType(run, T.passwordGenerator).length, 0);
            assert.ok(run.resources.every((r) => !/generators\.external-secrets\.io.*:Password$/.test(r.type)));
        });

        it("every password flows RandomPassword (rotation keeper) → Vault KV v2 at its configured mount/path", () => {
            const cfg = loadStackFile(stack) as any;
            for (const p of cfg.passwords) {
                const rnd = run.resources.find((r) => r.name === `password-${p.name}-random`)!;
                const kv = run.resources.find((r) => r.name === `password-${p.name}-vault`)!;
                assert.deepEqual(rnd.inputs.keepers, { rotation: String(p.rotation) }, "the rotation counter is the only keeper");
                assert.equal(rnd.inputs.length, p.length);
                assert.equal(kv.inputs.mount, cfg.vaultKvMount);
                // Under the stack's prefix (default: the environment), stamped with its owner (stacks/ownership.ts).
                assert.equal(kv.inputs.name, `${stack}/${p.vaultPath}`);
                assert.deepEqual(kv.inputs.customMetadata, { data: { "managed-by": "platform-secrets", "pulumi-project": "platform-secrets", "pulumi-stack": stack } });
                // The mocks hand secret inputs over in Pulumi's wire form: the secret signature + value.
                assert.equal(kv.inputs.dataJson[SECRET_SIG], "1b47061264138c4ac30d75fd1eb44270", "dataJson is sent to the provider as a secret");
                assert.deepEqual(JSON.parse(kv.inputs.dataJson.value), { [p.vaultKey ?? "password"]: rnd.state.result });
            }
        });

        it("every ExternalSecret / ClusterExternalSecret reads a Vault path the stack writes or config declares", () => {
            const cfg = loadStackFile(stack) as any;
            const known = new Set([...cfg.passwords.map((p: any) => `${stack}/${p.vaultPath}`), ...cfg.externalVaultPaths]);
            const readers = [...ofType(run, T.externalSecret), ...ofType(run, T.clusterExternalSecret)];
            assert.ok(readers.length >= 10);
            for (const r of readers) {
                const spec = r.type === T.clusterExternalSecret ? r.inputs.spec.externalSecretSpec : r.inputs.spec;
                assert.ok(["CreatedOnce", "Periodic", "OnChange"].includes(spec.refreshPolicy), `${r.name}: explicit refreshPolicy`);
                if (spec.dataFrom) {
                    assert.equal(spec.dataFrom[0].sourceRef.generatorRef.kind, "GithubAccessToken", `${r.name}: only token generators`);
                    continue;
                }
                assert.deepEqual(spec.secretStoreRef, { kind: "ClusterSecretStore", name: `vault-kv-${stack}` });
                for (const key of remoteKeys(r)) assert.ok(known.has(key), `${r.name} reads unknown path ${key}`);
                if (r.type === T.externalSecret) assert.ok(r.inputs.metadata.namespace, `${r.name}: explicit namespace`);
            }
        });

        it("the store is Vault KV v2 with namespace conditions", () => {
            const [store] = ofType(run, T.clusterSecretStore);
            const v = store.inputs.spec.provider.vault;
            assert.equal(v.version, "v2");
            assert.equal(v.path, "secret");
            assert.equal(v.server, "https://vault.vault.svc:8200");
            assert.ok(stack === "dev" ? v.auth.tokenSecretRef : v.auth.kubernetes.role.startsWith("external-secrets-"));
            assert.deepEqual(store.inputs.spec.conditions[0].namespaces, ["dns-system", "cert-manager", "external-dns", "authentik", "workflows", "platform-secrets"]);
            assert.deepEqual(store.inputs.spec.conditions.slice(1).map((c: any) => c.namespaceSelector.matchLabels), [
                { "secrets/gh-docker-registry": "true" },
                { "kargo.akuity.io/project": "true" },
                { "platform-secrets.io/consumer": "true" },
            ]);
        });

        it("GitHub App secrets are readable only by their app's ServiceAccount (resourceNames)", () => {
            for (const a of APPS) {
                const role = run.resources.find((r) => r.type === T.role && r.name === `github-app-${a}-reader`)!;
                const binding = run.resources.find((r) => r.type === T.roleBinding && r.name === `github-app-${a}-reader`)!;
                const names = stack === "staging" ? [`github-app-${a}`, `github-app-${a}-token`] : [`github-app-${a}`];
                assert.deepEqual(role.inputs.rules, [{ apiGroups: [""], resources: ["secrets"], resourceNames: names, verbs: ["get"] }]);
                assert.equal(role.inputs.metadata.namespace, "workflows");
                assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: `github-app-${a}`, namespace: "workflows" }]);
                assert.equal(binding.inputs.roleRef.name, role.inputs.metadata.name);
                const es = run.resources.find((r) => r.name === `github-app-${a}-credentials-es`)!;
                const keys = es.inputs.spec.data.map((d: any) => d.secretKey);
                assert.deepEqual(keys, stack === "prod" && a === "rex" ? ["appId", "privateKey", "installationId"] : ["appId", "privateKey"]);
            }
            assert.equal(ofType(run, T.appInstallationRepositories).length, 0, "no GitHub token configured → no AppInstallationRepositories");
        });
    });
}

describe("stacks program: behaviour", function () {
    this.timeout(60000);

    it("password results and Vault data are secret outputs", async () => {
        const { platform } = await runBuild("dev");
        assert.equal(platform.passwords.size, 4);
        for (const pw of platform.passwords.values()) {
            assert.equal(await isSecret(pw.result), true);
            // random.result's own secrecy comes from the engine (additionalSecretOutputs), which mocks do not run;
            // the component wraps it in pulumi.secret itself.
            assert.equal(await isSecret(pw.secret.dataJson), true);
            assert.equal(await isSecret(pw.vaultPath), false);
        }
    });

    it("bumping one rotation counter changes exactly one password; an unchanged config changes none", async () => {
        const results = async (overrides: Record<string, unknown> = {}) => {
            const run = await runStack("dev", { overrides });
            return new Map(ofType(run, T.randomPassword).map((r) => [r.name, r.state.result as string]));
        };
        const before = await results();
        const again = await results();
        assert.deepEqual([...again], [...before], "same config → same values (refresh/up never rotate)");
        const pw = JSON.parse(JSON.stringify(loadStackFile("dev").passwords));
        pw[1].rotation = 1;
        const after = await results({ passwords: pw });
        const changed = [...before.keys()].filter((k) => before.get(k) !== after.get(k));
        assert.deepEqual(changed, ["password-authentik-postgres-password-random"]);
    });

    it("the rotation counter also lands on the consumer ExternalSecrets so ESO re-syncs at once", async () => {
        const pw = JSON.parse(JSON.stringify(loadStackFile("dev").passwords));
        pw[0].rotation = 3;
        const run = await runStack("dev", { overrides: { passwords: pw } });
        const es = ofType(run, T.externalSecret).filter((r) => r.name.startsWith("password-powerdns-api-key-"));
        assert.equal(es.length, 3);
        for (const r of es) assert.equal(r.inputs.metadata.annotations["platform-secrets.io/rotation"], "3");
        const dns = es.find((r) => r.inputs.metadata.namespace === "dns-system")!;
        assert.equal(dns.inputs.spec.refreshPolicy, "OnChange");
        assert.equal(dns.inputs.spec.refreshInterval, undefined);
        // Hooks reach the reconciler only through its policy ConfigMap: nothing on the synced secret declares them.
        for (const r of es) {
            assert.deepEqual(r.inputs.spec.target.template.metadata.annotations, {}, `${r.name}: no hooks annotation`);
            assert.equal(r.inputs.spec.target.template.metadata.labels["platform-secrets.io/source"], undefined, `${r.name}: no source label`);
        }
        assert.deepEqual(dns.inputs.spec.data, [{ secretKey: "PDNS_API_KEY", remoteRef: { key: "dev/dns/powerdns-api-key", property: "password" } }]);
    });

    it("with a GitHub token: a provider and one AppInstallationRepositories per app; the token stays secret", async () => {
        const token = canaryValue();
        const apps = (loadStackFile("staging").githubApps as any[]).map((a) => ({ ...a }));
        const run = await runStack("dev", { overrides: { githubApps: apps }, secrets: { githubToken: token } });
        const repos = ofType(run, T.appInstallationRepositories);
        assert.deepEqual(repos.map((r) => [r.inputs.installationId, r.inputs.selectedRepositories]), apps.map((a) => [a.installationId, a.repositories]));
        const provider = run.resources.find((r) => r.type === "pulumi:providers:github")!;
        assert.ok(provider, "explicit github provider");
        const leaks = run.resources.filter((r) => r !== provider && JSON.stringify(r.inputs).includes(token));
        assert.deepEqual(leaks.map((r) => r.name), [], "the token reaches only the provider");
        const { platform } = await runBuild("dev", { overrides: { githubApps: apps }, secrets: { githubToken: token } });
        assert.equal(platform.githubApps.length, 5);
    });

    it("generator mode renders GithubAccessToken scoped to the app's repositories, reading the synced private key", async () => {
        const run = await runStack("staging");
        const gen = ofType(run, T.githubAccessToken).find((r) => r.name === "github-app-rex-generator")!;
        assert.deepEqual(gen.inputs.spec, {
            appID: "100001",
            installID: "200001",
            url: "https://api.github.com",
            repositories: ["platform", "docs"],
            auth: { privateKey: { secretRef: { name: "github-app-rex", key: "privateKey" } } },
        });
        const es = run.resources.find((r) => r.name === "github-app-rex-token-es")!;
        assert.deepEqual(es.inputs.spec.dataFrom, [{ sourceRef: { generatorRef: { apiVersion: "generators.external-secrets.io/v1alpha1", kind: "GithubAccessToken", name: "github-app-rex-token" } } }]);
        assert.equal(es.inputs.spec.refreshInterval, "50m");
    });

    it("drift checks exist only when enabled, with cron and autoRemediate from config", async () => {
        const off = await runStack("prod", { overrides: { driftEnabled: false } });
        assert.equal(ofType(off, T.driftSchedule).length + ofType(off, T.deploymentSettings).length, 0);
        const on = await runStack("prod");
        const [sched] = ofType(on, T.driftSchedule);
        assert.deepEqual({ cron: sched.inputs.scheduleCron, auto: sched.inputs.autoRemediate, org: sched.inputs.organization, stack: sched.inputs.stack, project: sched.inputs.project }, { cron: "0 * * * *", auto: true, org: "example-org", stack: "prod", project: "platform-secrets" });
        const [settings] = ofType(on, T.deploymentSettings);
        assert.deepEqual(settings.inputs.sourceContext.git, { repoUrl: "https://github.com/example-org/platform.git", branch: "refs/heads/main", repoDir: "." });
    });

    it("seed 003: one Vault source, dockerconfigjson for labelled namespaces, Kargo image creds for Kargo namespaces", async () => {
        const run = await runStack("dev");
        const app = run.resources.find((r) => r.name === "registry-application-docker-registry-application-ces")!;
        const kargo = run.resources.find((r) => r.name === "registry-application-docker-registry-kargo-ces")!;
        assert.equal(app.inputs.metadata.name, "application-docker-registry");
        assert.deepEqual(app.inputs.spec.namespaceSelectors, [{ matchLabels: { "secrets/gh-docker-registry": "true" }, matchExpressions: [{ key: "platform-secrets.io/sandbox", operator: "DoesNotExist" }] }]);
        const appTpl = app.inputs.spec.externalSecretSpec.target.template;
        assert.equal(appTpl.type, "kubernetes.io/dockerconfigjson");
        assert.match(appTpl.data[".dockerconfigjson"], /^\{\{- if .*\{\{ end -\}\}\{"auths":\{"ghcr\.io":\{"username":\{\{ \.username \| toJson \}\}/);
        assert.equal(kargo.inputs.metadata.name, "kargo-docker-registry");
        const kTpl = kargo.inputs.spec.externalSecretSpec.target.template;
        assert.equal(kTpl.metadata.labels["kargo.akuity.io/cred-type"], "image");
        assert.deepEqual(Object.keys(kTpl.data).sort(), ["password", "repoURL", "repoURLIsRegex", "username"]);
        assert.deepEqual(remoteKeys(app), remoteKeys(kargo), "same Vault source");
    });

    it("git credentials: a basic-auth source granting its consumer namespaces, derived for Tekton, Argo CD and Kargo", async () => {
        const run = await runStack("dev");
        const src = run.resources.find((r) => r.name === "git-platform-repo-source-es")!;
        assert.equal(src.inputs.spec.target.template.type, "kubernetes.io/basic-auth");
        assert.equal(src.inputs.spec.target.template.metadata.labels["platform-secrets.io/source"], undefined, "the reconciler watches every Secret: no source label");
        // ESO writes the source's consent with every sync, so the reconciler honours the three cross-namespace derivations.
        assert.deepEqual(src.inputs.spec.target.template.metadata.annotations, { "platform-secrets.io/allow-namespaces": "argocd,kargo-platform,tekton-pipelines" });
        assert.equal(src.inputs.metadata.annotations?.["pulumi.com/waitFor"], undefined, "no generic await: the providers wait and explain");
        const tekton = run.resources.find((r) => r.name === "git-platform-repo-tekton")!;
        // The derived providers wait for the ESO-written source and name the ExternalSecret, store and Vault path.
        assert.deepEqual(tekton.inputs.sourceOrigin, { externalSecret: { namespace: "platform-secrets", name: "platform-repo" }, store: "vault-kv-dev", vaultPath: "secret/git/platform-repo" });
        assert.deepEqual([tekton.inputs.format, tekton.inputs.source, tekton.inputs.target, tekton.inputs.options], ["tekton-git", { namespace: "platform-secrets", name: "platform-repo" }, { namespace: "tekton-pipelines", name: "platform-repo-git" }, { gitUrls: ["https://github.com/example-org/platform.git", "https://github.com/example-org/docs.git"] }]);
        const argo = run.resources.find((r) => r.name === "git-platform-repo-argocd")!;
        assert.deepEqual(argo.inputs.options, { secretType: "repository", url: "https://github.com/example-org/platform.git", type: "git", project: "platform" });
        const kargo = run.resources.find((r) => r.name === "git-platform-repo-kargo")!;
        assert.deepEqual(kargo.inputs.options, { credType: "git", repoURL: "https://github.com/example-org/platform.git", repoURLIsRegex: false });
    });

    it("the reconciler follows its config and is left out when disabled", async () => {
        const run = await runStack("staging");
        const dep = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
        assert.equal(dep.inputs.spec.replicas, 2);
        assert.equal(dep.inputs.metadata.namespace, "platform-secrets");
        assert.equal(dep.inputs.spec.template.spec.containers[0].image, "ghcr.io/platform-secrets/reconciler:0.1.0");
        // Hooks act only through the reconciler: disabling it while hooks are declared fails preview.
        await assert.rejects(runStack("staging", { overrides: { reconcilerEnabled: false } }), /passwords\[0\]\.consumers\[0\]\.hooks: hooks run only in the reconciler.*fix: set platform-secrets:reconcilerEnabled: true, or remove the hooks/);
        const pw = (JSON.parse(JSON.stringify(loadStackFile("staging").passwords)) as any[]).map((p) => ({ ...p, consumers: (p.consumers ?? []).map((c: any) => ({ ...c, hooks: undefined })) }));
        const off = await runStack("staging", { overrides: { reconcilerEnabled: false, passwords: pw } });
        assert.ok(!off.resources.some((r) => r.type.startsWith("platform-secrets:reconciler:") || r.type === "kubernetes:apps/v1:Deployment" || r.type === "kubernetes:core/v1:ConfigMap"));
    });

    it("index.ts exports non-secret summaries only", async () => {
        const run = await runStack("prod");
        assert.deepEqual(run.exports.storeName, "vault-kv-prod");
        assert.deepEqual(run.exports.vaultPathsWritten, ["secret/prod/dns/powerdns-api-key", "secret/prod/authentik/postgres", "secret/prod/authentik/bootstrap", "secret/prod/platform/webhook-token"]);
        assert.equal(run.exports.instance, "prod");
        assert.equal(run.exports.vaultPathPrefix, "secret/prod");
        assert.equal(run.exports.driftSchedule, "0 * * * *");
        const values = ofType(run, T.randomPassword).map((r) => r.state.result as string);
        const text = JSON.stringify(run.exports);
        for (const v of values) assert.ok(!text.includes(v), "no password value in stack outputs");
        assert.equal(await outputValue(run.module.storeName as any), "vault-kv-prod");
    });
});
