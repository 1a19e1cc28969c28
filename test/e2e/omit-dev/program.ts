import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { DockerConfigSecret } from "../../../providers";

/**
 * The stack of test/e2e/omit-dev.test.ts: one source Secret and PS_OMIT_DEV_COUNT DerivedSecrets reading it, in
 * namespace PS_OMIT_DEV_NS of the cluster KUBECONFIG names. Run by runner.js in a copy of the project installed
 * with `npm ci --omit=dev`, through the TypeScript setup Pulumi's nodejs language host uses.
 */
const namespace = process.env.PS_OMIT_DEV_NS!;
const count = Number(process.env.PS_OMIT_DEV_COUNT ?? "3");
const kubeconfig = pulumi.secret(readFileSync(process.env.KUBECONFIG!, "utf8"));
const provider = new k8s.Provider("cluster", { kubeconfig });
const source = new k8s.core.v1.Secret(
    "source",
    { metadata: { name: "registry-login", namespace }, type: "kubernetes.io/basic-auth", stringData: { username: "bot", password: pulumi.secret(process.env.PS_OMIT_DEV_PASSWORD!) } },
    { provider },
);
for (let i = 0; i < count; i++) {
    new DockerConfigSecret(`pull-${i}`, { source: { namespace, name: source.metadata.name }, target: { namespace, name: `pull-${i}` }, registry: "registry.example.com", kubeconfig });
}
