import type { KubeClient, RequestOptions } from "../../lib/kube";

/**
 * A KubeClient whose answers tests read loosely (each field is asserted right after it is read). Product code gets
 * `unknown` from `KubeClient.request` and names a type or validates; tests may not need to. Listed first, so a call
 * without a type argument resolves to this signature; it is still a KubeClient everywhere one is expected.
 */
export type TestKube = { request<T = any>(method: string, path: string, opts?: RequestOptions): Promise<T> } & KubeClient;

export const testKube = (k: KubeClient): TestKube => k as TestKube;
