import type { KubeConfig } from "@kubernetes/client-node";
import * as https from "node:https";
import { KubeClient, RequestOptions } from "../../lib/kube";

/**
 * A lib/kube client from a client-node KubeConfig the test environment already holds (test/env builds them with
 * client-node's typed APIs). Static credentials only; the product loads kubeconfigs with lib/kube's own loader.
 */
export async function kubeClientFrom(kc: KubeConfig): Promise<KubeClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster; set current-context or pass a kubeconfig with one");
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const auth = (opts.headers as Record<string, string> | undefined)?.Authorization ?? (opts.headers as Record<string, string> | undefined)?.authorization;
    return KubeClient.fromConfig({
        server: cluster.server,
        ca: opts.ca as Buffer | undefined,
        cert: opts.cert as Buffer | undefined,
        key: opts.key as Buffer | undefined,
        token: auth?.startsWith("Bearer ") ? auth.slice(7) : undefined,
        insecureSkipTlsVerify: opts.rejectUnauthorized === false,
        servername: opts.servername ?? undefined,
        basicAuth: opts.auth ? { username: opts.auth.split(":")[0], password: opts.auth.split(":").slice(1).join(":") } : undefined,
    });
}

/**
 * A KubeClient whose answers tests read loosely (each field is asserted right after it is read). Product code gets
 * `unknown` from `KubeClient.request` and names a type or validates; tests may not need to. Listed first, so a call
 * without a type argument resolves to this signature; it is still a KubeClient everywhere one is expected.
 */
export type TestKube = { request<T = any>(method: string, path: string, opts?: RequestOptions): Promise<T> } & KubeClient;

export const testKube = (k: KubeClient): TestKube => k as TestKube;
