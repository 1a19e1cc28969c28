/**
 * The one Kubernetes client of the reconciler, the CLI and the providers (and the tests): a small HTTPS client over
 * node:https with one error type (`KubeApiError`), streamed paged lists, watches, and the one kubeconfig loader
 * (in-cluster, tokens, client certificates, exec credential plugins, kubectl's loading order and KUBECONFIG merge).
 */
export * from "./client";
export * from "./kubeconfig";
export * from "./exec";
