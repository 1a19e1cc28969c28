import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { ANNOTATION_STATUS } from "../../../reconciler/keys";
import { KubeClient } from "../../../reconciler/kube";
import { createLogger } from "../../../lib/log";
import { DEMO_SOURCE, DEMO_TARGET, demoSummary, seedDemo, DemoHandle } from "../../env";
import { canaryValue, eventually, randomName } from "../../support";
import { getEnv } from "../fixture";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8"));

describe("sandbox demo: seedDemo + an in-process reconciler (seed 000)", function () {
    it("seeds github-credentials, derives github-credentials-tekton, and the tekton secret follows a rotation", async () => {
        const env = getEnv();
        const ns = randomName("demo");
        const lines: string[] = [];
        const logger = createLogger({ name: "reconciler", level: "info", destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
        const client = await KubeClient.create(env.kubeConfig());
        let demo: DemoHandle | undefined;
        const rotated = canaryValue();
        try {
            demo = await seedDemo(env, logger, { namespace: ns });
            assert.equal(demo.namespace, ns);
            const metrics = await (await fetch(demo.metricsUrl)).text();
            assert.match(metrics, /platform_secrets/);

            const source = await client.request("GET", `/api/v1/namespaces/${ns}/secrets/${DEMO_SOURCE}`);
            const derived = await client.request("GET", `/api/v1/namespaces/${ns}/secrets/${DEMO_TARGET}`);
            assert.equal(source.type, "kubernetes.io/basic-auth");
            assert.equal(derived.metadata.annotations["tekton.dev/git-0"], "https://github.com");
            assert.equal(derived.metadata.annotations[ANNOTATION_STATUS], "in-sync");
            assert.equal(unb64(derived.data.password), unb64(source.data.password));
            assert.equal(unb64(derived.data.username), unb64(source.data.username));

            await client.request("PATCH", `/api/v1/namespaces/${ns}/secrets/${DEMO_SOURCE}`, {
                body: { data: { password: b64(rotated) } },
                contentType: "application/strategic-merge-patch+json",
            });
            const after = await eventually(async () => {
                const t = await client.request("GET", `/api/v1/namespaces/${ns}/secrets/${DEMO_TARGET}`);
                return unb64(t?.data?.password) === rotated ? t : undefined;
            }, 15_000, "tekton secret follows the rotated password");
            assert.notEqual(unb64(after.data.password), unb64(derived.data.password));

            const summary = demoSummary({ namespace: ns, metricsUrl: demo.metricsUrl, kubeconfigPath: env.kubeconfigPath });
            assert.ok(summary.includes(`kubectl -n ${ns} patch secret ${DEMO_SOURCE}`) && summary.includes(env.kubeconfigPath) && summary.includes(demo.metricsUrl));
            assert.ok(!summary.includes(unb64(source.data.password)!), "the summary never prints the seeded password");
            assert.ok(!lines.join("").includes(rotated), "a secret value appeared in a reconciler log line");
        } finally {
            await demo?.stop();
            await client.request("DELETE", `/api/v1/namespaces/${ns}`).catch(() => undefined);
            client.close();
        }
    });
});
