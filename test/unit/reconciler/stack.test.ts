import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { reconcilerRbacRules } from "../../../reconciler/trust/rbac";
import { POLICY_CONFIGMAP_NAME, POLICY_KEY, parsePolicy, renderPolicy } from "../../../reconciler/trust/policy";

interface Reg {
    type: string;
    name: string;
    inputs: any;
}

function outputOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

async function build(args: Record<string, unknown>): Promise<Reg[]> {
    const regs: Reg[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(a) {
                regs.push({ type: a.type, name: a.name, inputs: a.inputs });
                return { id: `${a.name}-id`, state: a.inputs };
            },
            call(a) {
                return a.inputs;
            },
        },
        "project",
        "stack",
        false,
    );
    // Required after setMocks so the component binds to the mocked runtime.
    const { ReconcilerDeployment } = await import("../../../stacks/reconciler");
    const c = new ReconcilerDeployment("ps", { image: "registry.example/ps-reconciler:1", ...args } as any);
    await outputOf(pulumi.all([c.namespace, c.deploymentName, c.metricsServiceName, c.serviceAccountName]));
    await new Promise((r) => setTimeout(r, 50));
    return regs;
}

describe("stacks/reconciler: ReconcilerDeployment component", () => {
    it("creates namespace, SA, least-privilege RBAC, a hardened 2-replica Deployment, PDB and metrics Service", async () => {
        const regs = await build({});
        const byType = (t: string) => regs.filter((r) => r.type === t);
        assert.equal(byType("platform-secrets:reconciler:ReconcilerDeployment").length, 1);
        assert.equal(byType("kubernetes:core/v1:Namespace").length, 1);
        assert.equal(byType("kubernetes:core/v1:ServiceAccount").length, 1);
        const [dep] = byType("kubernetes:apps/v1:Deployment");
        assert.equal(dep.inputs.spec.replicas, 2);
        const pod = dep.inputs.spec.template.spec;
        const ctr = pod.containers[0];
        assert.equal(ctr.image, "registry.example/ps-reconciler:1");
        assert.equal(ctr.securityContext.readOnlyRootFilesystem, true);
        assert.equal(ctr.securityContext.runAsNonRoot, true);
        assert.equal(pod.securityContext.runAsUser, 65532);
        assert.ok(ctr.resources.requests && ctr.resources.limits);
        assert.equal(ctr.readinessProbe.httpGet.path, "/readyz");
        const [pdb] = byType("kubernetes:policy/v1:PodDisruptionBudget");
        // maxUnavailable 1 whatever the replica count: a drain is never blocked (minAvailable 1 with 1 replica was).
        assert.equal(pdb.inputs.spec.maxUnavailable, 1);
        assert.equal(pdb.inputs.spec.minAvailable, undefined);
        const [svc] = byType("kubernetes:core/v1:Service");
        assert.equal(svc.inputs.spec.ports[0].port, 8080);
        const roles = byType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole");
        const rules = reconcilerRbacRules();
        assert.deepEqual(roles.map((r) => r.inputs.rules).sort((a, b) => a.length - b.length), [rules.cluster, rules.secrets].sort((a, b) => a.length - b.length));
        const [own] = byType("kubernetes:rbac.authorization.k8s.io/v1:Role");
        assert.deepEqual(own.inputs.rules, rules.own);
        assert.equal(own.inputs.metadata.namespace, "platform-secrets-system", "Lease and policy access only in its own namespace");
        const ownBinding = byType("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").find((b) => b.inputs.roleRef.kind === "Role")!;
        assert.deepEqual([ownBinding.inputs.metadata.namespace, ownBinding.inputs.roleRef.name, ownBinding.inputs.subjects], ["platform-secrets-system", own.inputs.metadata.name, [{ kind: "ServiceAccount", name: "ps-reconciler", namespace: "platform-secrets-system" }]]);
        assert.equal(byType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").length, 2, "cluster-wide secret access by default");
        // The policy ConfigMap: empty by default, and the env names it (its namespace is the pod's).
        const [cm] = byType("kubernetes:core/v1:ConfigMap");
        assert.deepEqual([cm.inputs.metadata.name, cm.inputs.metadata.namespace], [POLICY_CONFIGMAP_NAME, "platform-secrets-system"]);
        assert.deepEqual(parsePolicy(cm.inputs.data[POLICY_KEY], "test"), { fanOut: [], hooks: [] });
        const env = Object.fromEntries(ctr.env.map((e: any) => [e.name, e]));
        assert.equal(env.RECONCILER_POLICY.value, POLICY_CONFIGMAP_NAME);
        assert.deepEqual(env.POD_NAMESPACE.valueFrom, { fieldRef: { fieldPath: "metadata.namespace" } });
        assert.ok(!Object.keys(env).some((k) => k.startsWith("VAULT_") || k === "RECONCILER_FINGERPRINT_SECRET"), "no Vault login unless asked; the reconciler keeps its own key");
        for (const r of regs.filter((x) => x.type.startsWith("kubernetes:"))) assert.ok(r.name.startsWith("ps-"), `child name ${r.name} derives from the component name`);
    });

    it("limits secret access to the given namespaces with one RoleBinding each and scopes the reconciler to them", async () => {
        const regs = await build({ secretNamespaces: ["team-a", "team-b"], replicas: 3 });
        const rbs = regs.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding" && r.inputs.roleRef.kind === "ClusterRole");
        // Plus its own namespace: hook state and its key are Secrets there.
        assert.deepEqual(rbs.map((r) => r.inputs.metadata.namespace).sort(), ["platform-secrets-system", "team-a", "team-b"]);
        assert.equal(regs.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").length, 1, "only the non-secret cluster binding");
        const dep = regs.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
        assert.equal(dep.inputs.spec.replicas, 3);
        const env = dep.inputs.spec.template.spec.containers[0].env;
        assert.equal(env.find((e: any) => e.name === "RECONCILER_NAMESPACES").value, "team-a,team-b");
    });

    it("renders the given policy canonically into the ConfigMap, and rejects one the reconciler would refuse", async () => {
        const policy = {
            fanOut: [{ sourceNamespace: "platform", namespaces: ["team-a"] }],
            hooks: [{ source: { namespace: "db", name: "app-db" }, hooks: [{ type: "postgres" as const, host: "pg.db.svc", user: "app", vault: { mount: "secret", path: "db/app", key: "password" } }] }],
        };
        const regs = await build({ policy });
        const cm = regs.find((r) => r.type === "kubernetes:core/v1:ConfigMap")!;
        assert.equal(cm.inputs.data[POLICY_KEY], renderPolicy(policy));
        assert.deepEqual(parsePolicy(cm.inputs.data[POLICY_KEY], "test").hooks, policy.hooks);
        await assert.rejects(build({ policy: { fanOut: [{ sourceNamespace: "platform" }], hooks: [] } }), /ReconcilerDeployment ps policy key "fanOut\[0\]": allows no namespace/);
    });

    it("Vault: Kubernetes auth → VAULT_ADDR/AUTH_METHOD/ROLE/AUTH_MOUNT; token-file → a read-only mounted file; never a token in env", async () => {
        const k = await build({ vault: { addr: "https://vault.example:8200", auth: { method: "kubernetes", role: "reconciler" } } });
        const kdep = k.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.inputs.spec.template.spec;
        const kenv = Object.fromEntries(kdep.containers[0].env.map((e: any) => [e.name, e.value]));
        assert.deepEqual(
            [kenv.VAULT_ADDR, kenv.VAULT_AUTH_METHOD, kenv.VAULT_ROLE, kenv.VAULT_AUTH_MOUNT, kenv.VAULT_TOKEN_FILE, kenv.VAULT_JWT_FILE],
            ["https://vault.example:8200", "kubernetes", "reconciler", "kubernetes", undefined, "/var/run/secrets/platform-secrets/vault-jwt/token"],
        );
        // A projected token for Vault's audience, not the pod's apiserver token (replayable against the cluster).
        assert.deepEqual(kdep.volumes, [{ name: "vault-jwt", projected: { defaultMode: 0o400, sources: [{ serviceAccountToken: { audience: "vault", expirationSeconds: 600, path: "token" } }] } }]);
        const aud = await build({ vault: { addr: "https://vault.example:8200", auth: { method: "kubernetes", role: "reconciler", audience: "https://vault.example" } } });
        assert.equal(aud.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.inputs.spec.template.spec.volumes[0].projected.sources[0].serviceAccountToken.audience, "https://vault.example");
        const t = await build({ vault: { addr: "https://vault.example:8200", auth: { method: "token-file", secretName: "vault-token" } } });
        const tdep = t.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.inputs.spec.template.spec;
        const ctr = tdep.containers[0];
        const tenv = Object.fromEntries(ctr.env.map((e: any) => [e.name, e]));
        assert.equal(tenv.VAULT_AUTH_METHOD.value, "token-file");
        assert.equal(tenv.VAULT_TOKEN_FILE.value, "/var/run/secrets/platform-secrets/vault/token");
        assert.equal(tenv.VAULT_TOKEN, undefined);
        assert.ok(!ctr.env.some((e: any) => e.valueFrom?.secretKeyRef), "no secretKeyRef in env");
        assert.equal(ctr.args, undefined);
        assert.deepEqual(tdep.volumes, [{ name: "vault-token", secret: { secretName: "vault-token", items: [{ key: "token", path: "token" }], defaultMode: 0o400 } }]);
        assert.deepEqual(ctr.volumeMounts, [{ name: "vault-token", mountPath: "/var/run/secrets/platform-secrets/vault", readOnly: true }]);
        await assert.rejects(build({ vault: { addr: "", auth: { method: "kubernetes", role: "r" } } }), /"vault" needs addr and auth.method/);
        await assert.rejects(build({ vault: { addr: "https://v", auth: { method: "userpass" } } }), /"vault" needs addr and auth.method/);
    });

    it("PDB: maxUnavailable 1 for 1, 2 and 5 replicas; a non-positive count is refused", async () => {
        const { disruptionBudgetSpec } = await import("../../../stacks/reconciler");
        for (const r of [1, 2, 5]) assert.deepEqual(disruptionBudgetSpec(r), { maxUnavailable: 1 });
        assert.throws(() => disruptionBudgetSpec(0), /positive integer/);
    });

    it("rejects a missing image naming the option", async () => {
        await assert.rejects(build({ image: "" }), /"image" is required/);
    });
});
