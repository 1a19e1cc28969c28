import { strict as assert } from "node:assert";
import { ofType, runStack } from "./harness";

describe("stacks: reconciler alert rules (reconcilerPrometheusRules)", () => {
    const TYPE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";

    it("renders no PrometheusRule by default (the operator's CRDs may be absent)", async () => {
        assert.equal(ofType(await runStack("dev"), TYPE).length, 0);
    });

    it("renders alerts/ as a PrometheusRule in the reconciler's namespace, selecting its series by namespace", async () => {
        const run = await runStack("dev", { overrides: { reconcilerPrometheusRules: true, reconcilerNamespace: "ps-system" } });
        const [rule] = ofType(run, TYPE);
        assert.ok(rule, "one PrometheusRule");
        assert.equal(rule.inputs.metadata.namespace, "ps-system");
        const rules = rule.inputs.spec.groups[0].rules;
        assert.ok(rules.some((r: { alert: string }) => r.alert === "PlatformSecretsNoLeader"));
        for (const r of rules) assert.match(r.expr, /namespace="ps-system"/, r.alert);
        const [sm] = ofType(run, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
        assert.deepEqual(sm.inputs.spec.endpoints, [{ port: "metrics", interval: "30s" }]);
    });
});
