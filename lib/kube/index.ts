/**
 * The one Kubernetes client of the reconciler and the CLI (and the tests): a small HTTPS client over node:https with
 * typed errors (`KubeApiError`), streamed paged lists, watches, and the kubeconfig loader (in-cluster, tokens,
 * client certificates, exec plugins through @kubernetes/client-node's loader).
 */
export * from "./client";
export * from "./kubeconfig";
