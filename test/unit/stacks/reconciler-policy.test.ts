import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { parsePolicy, POLICY_CONFIGMAP_NAME, POLICY_KEY } from "../../../reconciler/trust/policy";
import { buildReconcilerPolicy, hookVaultPaths, policyNeedsVault } from "../../../stacks/policy";
import { sourceGrantAnnotations } from "../../../stacks/git";
import { parseStackConfig } from "../../../stacks/config";
import type { GitCredentialSpec } from "../../../stacks/config/types";
import { T, loadStackFile, ofType, runStack, toRawConfig, Registered } from "./harness";

/**
 * What `pulumi up` gives the reconciler: the administrator policy ConfigMap (hooks from passwords[].consumers[].hooks,
 * fan-out grants from reconcilerFanOutGrants) and its Vault login in env, from the example stacks as written.
 */
const devPasswords = () => JSON.parse(JSON.stringify(loadStackFile("dev").passwords)) as any[];

function policyOf(resources: Registered[]) {
    const [cm] = resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap");
    // Named after the stack's instance (default: the environment) and labelled with it (the instance claim).
    assert.match(cm.inputs.metadata.name, /^platform-secrets-[a-z]+-policy$/);
    assert.equal(cm.inputs.metadata.name, `platform-secrets-${cm.inputs.metadata.labels["platform-secrets.io/reconciler-instance"]}-policy`);
    assert.notEqual(cm.inputs.metadata.name, POLICY_CONFIGMAP_NAME);
    assert.equal(cm.inputs.metadata.namespace, "platform-secrets", "in the reconciler's own namespace");
    // The reconciler's own parser accepts exactly what the stack renders.
    return parsePolicy(cm.inputs.data[POLICY_KEY], "test");
}

function envOf(resources: Registered[]): Record<string, any> {
    const dep = resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
    return Object.fromEntries(dep.inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e]));
}

describe("stacks program: reconciler policy and Vault login", function () {
    this.timeout(60000);

    it("dev: hooks go into the policy ConfigMap with the password's own Vault path, secretKey and kv mount as defaults", async () => {
        const run = await runStack("dev");
        const policy = policyOf(run.resources);
        assert.deepEqual(policy.fanOut, []);
        assert.deepEqual(policy.hooks, [
            { source: { namespace: "authentik", name: "authentik-bootstrap" }, hooks: [{ type: "job-rerun", cronJob: "authentik-bootstrap" }] },
            {
                source: { namespace: "authentik", name: "authentik-postgres" },
                hooks: [{ type: "postgres", host: "authentik-postgresql.authentik.svc", user: "authentik", passwordKey: "password", vault: { mount: "secret", path: "dev/authentik/postgres", key: "password" } }],
            },
            { source: { namespace: "dns-system", name: "powerdns-api-key" }, hooks: [{ type: "job-rerun", job: "powerdns-api-key-sync" }] },
        ]);
        assert.deepEqual(run.exports.reconcilerVaultReadPaths, ["secret/dev/authentik/postgres"]);
    });

    it("a postgres hook on a consumer with another secretKey / vaultKey gets both written out", async () => {
        const pw = devPasswords();
        pw[1].vaultKey = "pg-password";
        pw[1].consumers[0].secretKey = "POSTGRES_PASSWORD";
        const policy = policyOf((await runStack("dev", { overrides: { passwords: pw } })).resources);
        const pg = policy.hooks.find((b) => b.source.name === "authentik-postgres")!.hooks[0];
        assert.deepEqual(pg, { type: "postgres", host: "authentik-postgresql.authentik.svc", user: "authentik", passwordKey: "POSTGRES_PASSWORD", vault: { mount: "secret", path: "dev/authentik/postgres", key: "pg-password" } });
    });

    for (const stack of ["dev", "staging", "prod"]) {
        it(`${stack}: the Deployment gets the policy name and a Kubernetes-auth Vault login in env, never a token`, async () => {
            const run = await runStack(stack);
            const env = envOf(run.resources);
            const cfg = loadStackFile(stack) as any;
            assert.deepEqual(
                Object.keys(env).sort(),
                ["POD_NAME", "POD_NAMESPACE", "RECONCILER_DEBOUNCE_MS", "RECONCILER_LEASE_NAME", "RECONCILER_METRICS_PORT", "RECONCILER_POLICY", "VAULT_ADDR", "VAULT_AUTH_METHOD", "VAULT_AUTH_MOUNT", "VAULT_JWT_FILE", "VAULT_ROLE"],
            );
            assert.equal(env.RECONCILER_POLICY.value, `platform-secrets-${stack}-policy`);
            assert.equal(env.RECONCILER_LEASE_NAME.value, `platform-secrets-${stack}-reconciler`);
            assert.equal(env.VAULT_ADDR.value, cfg.vaultAddress);
            assert.equal(env.VAULT_AUTH_METHOD.value, "kubernetes");
            assert.equal(env.VAULT_ROLE.value, `platform-secrets-reconciler-${stack}`);
            assert.equal(env.VAULT_AUTH_MOUNT.value, cfg.reconcilerVaultAuthMount);
            const dep = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
            // Vault gets a projected token of its own audience, never the pod's apiserver token.
            assert.equal(env.VAULT_JWT_FILE.value, "/var/run/secrets/platform-secrets/vault-jwt/token");
            assert.deepEqual(dep.inputs.spec.template.spec.volumes, [
                { name: "vault-jwt", projected: { defaultMode: 0o400, sources: [{ serviceAccountToken: { audience: "vault", expirationSeconds: 600, path: "token" } }] } },
            ]);
            assert.deepEqual(dep.inputs.spec.template.spec.containers[0].volumeMounts, [{ name: "vault-jwt", mountPath: "/var/run/secrets/platform-secrets/vault-jwt", readOnly: true }]);
            // No password reaches the Deployment (env, args or anywhere else in its spec).
            const text = JSON.stringify(dep.inputs);
            for (const r of ofType(run, T.randomPassword)) assert.ok(!text.includes(r.state.result), "a password value in the Deployment");
        });
    }

    it("token-file auth mounts the Secret read-only and points VAULT_TOKEN_FILE at it", async () => {
        const run = await runStack("dev", { overrides: { reconcilerVaultAuthMethod: "token-file", reconcilerVaultTokenSecretName: "reconciler-vault", reconcilerVaultAddress: "https://vault.internal:8200" } });
        const env = envOf(run.resources);
        assert.equal(env.VAULT_AUTH_METHOD.value, "token-file");
        assert.equal(env.VAULT_ADDR.value, "https://vault.internal:8200");
        assert.equal(env.VAULT_TOKEN_FILE.value, "/var/run/secrets/platform-secrets/vault/token");
        assert.equal(env.VAULT_ROLE, undefined);
        assert.ok(!Object.values(env).some((e: any) => e.valueFrom?.secretKeyRef), "no secret in env");
        const pod = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.inputs.spec.template.spec;
        assert.deepEqual(pod.volumes, [{ name: "vault-token", secret: { secretName: "reconciler-vault", items: [{ key: "token", path: "token" }], defaultMode: 0o400 } }]);
        assert.deepEqual(pod.containers[0].volumeMounts, [{ name: "vault-token", mountPath: "/var/run/secrets/platform-secrets/vault", readOnly: true }]);
    });

    it("reconcilerVaultCaCert becomes a ConfigMap mounted as VAULT_CACERT", async () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        const run = await runStack("dev", { overrides: { reconcilerVaultAddress: "https://vault.internal:8200", reconcilerVaultCaCert: pem } });
        const env = envOf(run.resources);
        assert.equal(env.VAULT_CACERT.value, "/var/run/secrets/platform-secrets/vault-ca/ca.crt");
        const cm = run.resources.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.inputs.data?.["ca.crt"] !== undefined)!;
        assert.equal(cm.inputs.data["ca.crt"], pem);
        const pod = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.inputs.spec.template.spec;
        assert.deepEqual(pod.volumes[0], { name: "vault-ca", configMap: { name: cm.inputs.metadata.name, items: [{ key: "ca.crt", path: "ca.crt" }] } });
    });

    it("without postgres hooks the reconciler gets no Vault login at all", async () => {
        const pw = devPasswords();
        pw[1].consumers[0].hooks = [{ type: "job-rerun", cronJob: "authentik-migrate" }];
        const run = await runStack("dev", { overrides: { passwords: pw } });
        assert.deepEqual(Object.keys(envOf(run.resources)).filter((k) => k.startsWith("VAULT_")), []);
        assert.deepEqual(run.exports.reconcilerVaultReadPaths, []);
    });

    it("reconcilerFanOutGrants become the policy's fanOut (administrator consent)", async () => {
        const grants = [
            { sourceNamespace: "platform-secrets", namespaces: ["team-a", "team-b"] },
            { sourceNamespace: "dns-system", namespaceSelector: "platform-secrets.io/consumer=true" },
        ];
        const policy = policyOf((await runStack("dev", { overrides: { reconcilerFanOutGrants: grants } })).resources);
        assert.deepEqual(policy.fanOut, [
            { sourceNamespace: "dns-system", namespaces: undefined, namespaceSelector: "platform-secrets.io/consumer=true" },
            { sourceNamespace: "platform-secrets", namespaces: ["team-a", "team-b"], namespaceSelector: undefined },
        ]);
    });
});

describe("stacks: policy and grant builders (pure)", () => {
    it("buildReconcilerPolicy: one binding per hooked consumer, defaults written out; hookVaultPaths lists only postgres paths", () => {
        const cfg = parseStackConfig(toRawConfig(loadStackFile("prod")));
        const policy = buildReconcilerPolicy(cfg);
        assert.deepEqual(policy.hooks.map((b) => `${b.source.namespace}/${b.source.name}`).sort(), ["authentik/authentik-bootstrap", "authentik/authentik-postgres", "dns-system/powerdns-api-key"]);
        const pg = policy.hooks.find((b) => b.source.name === "authentik-postgres")!.hooks[0];
        assert.deepEqual(pg, { type: "postgres", host: "authentik-postgresql.authentik.svc", user: "authentik", tls: { mode: "require" }, passwordKey: "password", vault: { mount: "secret", path: "prod/authentik/postgres", key: "password" } });
        assert.equal(policyNeedsVault(policy), true);
        assert.deepEqual(hookVaultPaths(policy), ["secret/prod/authentik/postgres"]);
        assert.equal(policyNeedsVault({ fanOut: [], hooks: [{ source: { namespace: "a", name: "b" }, hooks: [{ type: "job-rerun", job: "j" }] }] }), false);
    });

    it("sourceGrantAnnotations: every consumer namespace but the source's own, sorted and de-duplicated (property)", () => {
        const ns = fc.constantFrom("src", "ci", "argocd", "kargo", "zeta");
        const target = fc.option(fc.record({ namespace: ns, secretName: fc.constant("x") }), { nil: undefined });
        fc.assert(fc.property(ns, target, target, target, (sourceNamespace, tekton, argocd, kargo) => {
            const c = { name: "c", urls: ["https://h/r.git"], auth: "basic", vaultPath: "p", usernameProperty: "u", passwordProperty: "p", sshPrivateKeyProperty: "k", sourceNamespace, refreshInterval: "1h", tekton, argocd, kargo } as GitCredentialSpec;
            const want = [...new Set([tekton, argocd, kargo].filter((t) => t && t.namespace !== sourceNamespace).map((t) => t!.namespace))].sort();
            assert.deepEqual(sourceGrantAnnotations(c), want.length ? { "platform-secrets.io/allow-namespaces": want.join(",") } : {});
        }));
    });
});
