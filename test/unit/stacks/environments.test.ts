import { strict as assert } from "node:assert";
import { ConfigError, parseStackConfig } from "../../../stacks/config";
import { checkKubernetesConfig } from "../../../stacks/cluster";
import { checkVaultOwnership, ownerOf, ownershipMetadata, ownershipRefusal } from "../../../stacks/ownership";
import { vaultAccess } from "../../../stacks/vault-access";
import { claimedBy, claimMetadata, claimRefusal, overlaps, parseClaim } from "../../../reconciler/trust/claims";
import { loadStackFile, runStack, toRawConfig } from "./harness";
import { connect } from "../../../providers/kube";
import { checkDerivedInputs, diffDerived, diffMirror } from "../../../providers/checks";

/** Issue 20: several environments and clusters side by side (pure parts; the real servers in test/e2e/environments.test.ts). */
const parse = (stack: string, o: Record<string, unknown> = {}) => parseStackConfig(toRawConfig({ ...loadStackFile(stack), ...o }));

describe("stacks: environments side by side (issue 20)", () => {
    it("the prefix defaults to the environment and reaches every read of the stack's own passwords, never externalVaultPaths", () => {
        const cfg = parse("dev");
        assert.deepEqual(cfg.installation, { instance: "dev", vaultPathPrefix: "dev", vaultOwnershipCheck: true });
        assert.deepEqual(cfg.passwords.map((p) => p.vaultPath), ["dev/dns/powerdns-api-key", "dev/authentik/postgres", "dev/authentik/bootstrap", "dev/platform/webhook-token"]);
        assert.equal(cfg.clusterExternalSecrets[0].vaultPath, "dev/platform/webhook-token", "a fan-out of the stack's own password");
        assert.equal(cfg.dockerRegistries[0].vaultPath, "registries/ghcr", "externally written: shared on purpose");
        const custom = parse("dev", { vaultPathPrefix: "teams/a", instance: "a", secretNamespaces: ["x", "y"], kubeContext: "cluster-2" });
        assert.deepEqual(custom.installation, { instance: "a", vaultPathPrefix: "teams/a", vaultOwnershipCheck: true, kubeContext: "cluster-2", secretNamespaces: ["x", "y"] });
        assert.equal(custom.store.name, "vault-kv-a");
        // "/" = no prefix (one stack per Vault, or an existing layout kept): the exact paths in the pulumi policy.
        const none = parse("dev", { vaultPathPrefix: "/" });
        assert.equal(none.passwords[0].vaultPath, "dns/powerdns-api-key");
        assert.match(vaultAccess(none).vaultPolicies.pulumi.hcl, /path "secret\/data\/dns\/powerdns-api-key"/);
        assert.doesNotMatch(vaultAccess(none).vaultPolicies.pulumi.hcl, /\*/);
    });

    it("refuses a bad instance, a bad prefix and a duplicated namespace, naming the key", () => {
        const key = (f: () => unknown) => {
            try {
                f();
            } catch (e) {
                assert.ok(e instanceof ConfigError);
                assert.match(e.message, /; fix: \S/);
                return e.key;
            }
            return assert.fail("no ConfigError");
        };
        assert.equal(key(() => parse("dev", { instance: "Dev_1" })), "platform-secrets:instance");
        assert.equal(key(() => parse("dev", { instance: "a".repeat(31) })), "platform-secrets:instance");
        assert.equal(key(() => parse("dev", { vaultPathPrefix: "/dev" })), "platform-secrets:vaultPathPrefix");
        assert.equal(key(() => parse("dev", { secretNamespaces: ["a", "a"] })), "platform-secrets:secretNamespaces");
    });

    it("the kubernetes provider's own settings are refused in favour of kubeContext", () => {
        assert.throws(() => checkKubernetesConfig({ "kubernetes:context": "c1" }), (e: unknown) => e instanceof ConfigError && e.key === "kubernetes:context" && /fix: remove it; set platform-secrets:kubeContext/.test(e.message));
        checkKubernetesConfig({ "platform-secrets:kubeContext": "c1" });
    });

    it("one kubernetes.Provider at kubeContext for every Kubernetes object; the dynamic resources get the context name", async () => {
        const run = await runStack("dev", { overrides: { kubeContext: "cluster-2" } });
        const prov = run.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
        assert.equal(prov.length, 1);
        assert.equal(prov[0].inputs.context, "cluster-2");
        assert.equal(prov[0].inputs.kubeconfig, undefined, "no kubeconfig content as an input");
        for (const r of run.resources.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic/platform-secrets:") && x.type !== "pulumi-nodejs:dynamic/platform-secrets:PasswordPolicyGuard")) {
            assert.equal(r.inputs.context, "cluster-2", r.name);
            assert.equal(r.inputs.kubeconfig, undefined, r.name);
        }
        const ns = run.resources.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
        assert.deepEqual([ns.inputs.metadata.labels["platform-secrets.io/reconciler-instance"], ns.inputs.metadata.annotations["platform-secrets.io/reconciler-namespaces"]], ["dev", "*"]);
        const names = run.resources.filter((r) => r.type.startsWith("kubernetes:rbac.authorization.k8s.io/v1:Cluster")).map((r) => r.inputs.metadata.name).sort();
        assert.deepEqual(names, ["platform-secrets-dev-reconciler", "platform-secrets-dev-reconciler", "platform-secrets-dev-reconciler-secrets", "platform-secrets-dev-reconciler-secrets"]);
    });

    it("dynamic resources: an unknown context is refused naming the contexts; a context change replaces (another cluster)", () => {
        const kc = ["apiVersion: v1", "kind: Config", "clusters: [{name: c1, cluster: {server: 'https://127.0.0.1:1'}}, {name: c2, cluster: {server: 'https://127.0.0.1:2'}}]", "users: [{name: u, user: {token: t}}]", "contexts: [{name: cluster-1, context: {cluster: c1, user: u}}, {name: cluster-2, context: {cluster: c2, user: u}}]", "current-context: cluster-1"].join("\n");
        connect(kc, "cluster-2");
        assert.throws(() => connect(kc, "cluster-3"), /kubeconfig context "cluster-3" not found \(contexts: cluster-1, cluster-2\)\. Fix: set platform-secrets:kubeContext/);
        const base = { format: "mirror", source: { namespace: "a", name: "s" }, target: { namespace: "b", name: "s" }, options: {} };
        assert.deepEqual(diffDerived({ ...base, context: "cluster-1" }, { ...base, context: "cluster-2" }).replaces, ["context"]);
        assert.deepEqual(diffDerived({ ...base, context: "cluster-1" }, { ...base, context: "cluster-1" }).changes, false);
        assert.deepEqual(diffMirror({ source: base.source, namespaces: ["b"], context: "cluster-1" }, { source: base.source, namespaces: ["b"], context: "cluster-2" }).replaces, ["context"]);
        assert.deepEqual(checkDerivedInputs({ ...base, context: "" }).map((f) => f.property), ["context"]);
    });

    it("ownership: a path another stack owns is refused naming the path, the owner and the fix; absent, unowned and own paths pass", () => {
        const me = { project: "platform-secrets", stack: "dev" };
        const w = { key: "passwords[1].vaultPath", mount: "secret", path: "staging/authentik/postgres" };
        assert.deepEqual(ownershipMetadata(me), { "managed-by": "platform-secrets", "pulumi-project": "platform-secrets", "pulumi-stack": "dev" });
        assert.equal(ownershipRefusal(w, ownerOf(404, undefined), me), undefined);
        assert.equal(ownershipRefusal(w, ownerOf(200, null), me), undefined);
        assert.equal(ownershipRefusal(w, ownerOf(200, ownershipMetadata(me)), me), undefined);
        const msg = ownershipRefusal(w, ownerOf(200, ownershipMetadata({ project: "platform-secrets", stack: "staging" })), me)!;
        assert.match(msg, /^platform-secrets:passwords\[1\]\.vaultPath: Vault path secret\/staging\/authentik\/postgres is owned by stack "staging" of project "platform-secrets" .*this stack \("dev"\) would write a new version .*; fix: give this stack its own platform-secrets:vaultPathPrefix .*vault kv metadata patch -mount=secret -custom-metadata=pulumi-stack=dev/);
    });

    it("ownership check without a Vault to ask fails, naming the way out", async () => {
        const cfg = parse("dev");
        const r = await checkVaultOwnership(cfg, { project: "p", stack: "dev" }, {});
        assert.deepEqual(Object.keys(r), cfg.passwords.map((p) => p.vaultPath));
        assert.match(r["dev/authentik/postgres"], /no Vault address or token.*set vaultOwnershipCheck: false/);
        assert.deepEqual(await checkVaultOwnership(parse("dev", { vaultOwnershipCheck: false }), { project: "p", stack: "dev" }, {}), {});
    });

    it("vault policies and auth roles: exact paths for ESO and the reconciler (metadata/ included), the prefix and child-token creation for pulumi", () => {
        const cfg = parse("prod");
        const a = vaultAccess(cfg);
        assert.match(a.vaultPolicies.eso.hcl, /path "secret\/data\/prod\/authentik\/postgres" \{\n {2}capabilities = \["read"\]\n\}/);
        assert.match(a.vaultPolicies.eso.hcl, /path "secret\/data\/registries\/ghcr"/);
        assert.doesNotMatch(a.vaultPolicies.eso.hcl, /metadata|\*/);
        assert.equal(a.vaultPolicies.reconciler.hcl.split("\n").filter((l) => l.startsWith("path")).join("|"), 'path "secret/data/prod/authentik/postgres" {|path "secret/metadata/prod/authentik/postgres" {');
        assert.match(a.vaultPolicies.pulumi.hcl, /path "secret\/metadata\/prod\/\*"[\s\S]*path "auth\/token\/create" \{\n {2}capabilities = \["update"\]/);
        assert.doesNotMatch(vaultAccess(cfg, true).vaultPolicies.pulumi.hcl, /auth\/token\/create/);
        assert.deepEqual(a.vaultKubernetesAuthRoles.reconciler, { mount: cfg.reconciler.vault.auth.method === "kubernetes" ? cfg.reconciler.vault.auth.mount : "", name: "platform-secrets-reconciler-prod", bound_service_account_names: ["platform-secrets-reconciler"], bound_service_account_namespaces: ["platform-secrets"], token_policies: ["platform-secrets-prod-reconciler"], token_ttl: "1h", audience: "vault" });
        assert.deepEqual(a.vaultKubernetesAuthRoles.eso?.token_policies, ["platform-secrets-prod-eso"]);
    });
});

describe("reconciler: namespace claims of several instances (pure)", () => {
    const ns = (name: string, instance: string, namespaces: "*" | string[], created: string) => ({ metadata: { name, labels: claimMetadata(instance, namespaces).labels, annotations: claimMetadata(instance, namespaces).annotations, creationTimestamp: created } });
    const dev = parseClaim(ns("ps-dev", "dev", ["app", "shared"], "2026-01-01T00:00:00Z"))!;
    const staging = parseClaim(ns("ps-staging", "staging", ["shared", "stg"], "2026-02-01T00:00:00Z"))!;
    const wide = parseClaim(ns("ps-wide", "wide", "*", "2026-03-01T00:00:00Z"))!;

    it("the older claim keeps a shared namespace; the newer refuses it, naming the winner and the fix", () => {
        assert.equal(claimedBy(dev, [staging, wide], "shared"), undefined);
        assert.equal(claimedBy(staging, [dev, wide], "shared")?.instance, "dev");
        assert.equal(claimedBy(staging, [dev, wide], "stg"), undefined);
        assert.equal(claimedBy(wide, [dev, staging], "stg")?.instance, "staging");
        assert.equal(claimedBy(wide, [dev, staging], "elsewhere"), undefined);
        assert.match(claimRefusal(staging, dev, "shared"), /namespace shared is claimed by reconciler instance "dev" \(namespace ps-dev.*Fix: give the stacks disjoint platform-secrets:secretNamespaces/);
        assert.deepEqual(overlaps(staging, [dev, wide]), ['namespaces claimed by older reconciler instance "dev" (ps-dev) are refused: shared']);
        assert.deepEqual(overlaps(dev, [staging, wide]), []);
    });

    it("a namespace without the label claims nothing", () => {
        assert.equal(parseClaim({ metadata: { name: "x", labels: {} } }), undefined);
    });
});
