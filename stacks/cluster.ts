import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ConfigError, configKey } from "./config/errors";

/**
 * One cluster selection (issue 20): the stack's kubeContext feeds ONE explicit kubernetes.Provider, which every
 * Kubernetes object of the stack uses (passed to each top-level component; children inherit it), and the same
 * context NAME goes to every dynamic resource (providers/kube.ts connect), so a derived secret can never land in
 * another cluster than its source. Both read the kubeconfig from KUBECONFIG (or ~/.kube/config); its content never
 * becomes an input, so rotating credentials in it change nothing in state.
 */
export function clusterProvider(context: string | undefined): k8s.Provider {
    return new k8s.Provider("cluster", context ? { context } : {});
}

/** Options for a top-level component: its Kubernetes children use the stack's provider. */
export function onCluster(provider: k8s.Provider | undefined, opts: pulumi.ComponentResourceOptions = {}): pulumi.ComponentResourceOptions {
    return provider ? { ...opts, providers: { ...((opts.providers as Record<string, pulumi.ProviderResource>) ?? {}), kubernetes: provider } } : opts;
}

/**
 * The default provider's own settings would be ignored (the stack uses an explicit provider), and the dynamic
 * resources never read them: refused, naming the setting that replaces them (pure).
 */
export function checkKubernetesConfig(all: Record<string, string>): void {
    for (const k of ["kubernetes:context", "kubernetes:kubeconfig", "kubernetes:cluster"]) {
        if (all[k] !== undefined) {
            throw new ConfigError(k, "is not read by this program (its kubernetes.Provider and dynamic resources take the cluster from one setting)", `remove it; set ${configKey("kubeContext")} to the kubeconfig context, and KUBECONFIG to the kubeconfig file`);
        }
    }
}
