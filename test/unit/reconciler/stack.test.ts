import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { reconcilerRbacRules } from "../../../reconciler/rbac";

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
        assert.equal(byType("kubernetes:policy/v1:PodDisruptionBudget").length, 1);
        const [svc] = byType("kubernetes:core/v1:Service");
        assert.equal(svc.inputs.spec.ports[0].port, 8080);
        const roles = byType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole");
        const rules = reconcilerRbacRules();
        assert.deepEqual(roles.map((r) => r.inputs.rules).sort((a, b) => a.length - b.length), [rules.cluster, rules.secrets].sort((a, b) => a.length - b.length));
        assert.deepEqual(byType("kubernetes:rbac.authorization.k8s.io/v1:Role")[0].inputs.rules, rules.own);
        assert.equal(byType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").length, 2, "cluster-wide secret access by default");
        for (const r of regs.filter((x) => x.type.startsWith("kubernetes:"))) assert.ok(r.name.startsWith("ps-"), `child name ${r.name} derives from the component name`);
    });

    it("limits secret access to the given namespaces with one RoleBinding each and scopes the reconciler to them", async () => {
        const regs = await build({ secretNamespaces: ["team-a", "team-b"], replicas: 3 });
        const rbs = regs.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding" && r.inputs.roleRef.kind === "ClusterRole");
        assert.deepEqual(rbs.map((r) => r.inputs.metadata.namespace).sort(), ["team-a", "team-b"]);
        assert.equal(regs.filter((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").length, 1, "only the non-secret cluster binding");
        const dep = regs.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
        assert.equal(dep.inputs.spec.replicas, 3);
        const env = dep.inputs.spec.template.spec.containers[0].env;
        assert.equal(env.find((e: any) => e.name === "RECONCILER_NAMESPACES").value, "team-a,team-b");
    });

    it("rejects a missing image naming the option", async () => {
        await assert.rejects(build({ image: "" }), /"image" is required/);
    });
});
