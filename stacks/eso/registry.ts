import * as pulumi from "@pulumi/pulumi";
import type { DockerRegistrySpec } from "../config/types";
import { VaultClusterExternalSecret } from "./components";
import { ExternalSecretSpecInput, dockerConfigTemplate, kargoImageTemplate } from "./manifests";

export interface DockerRegistryCredentialsArgs {
    /** Registry, Vault source, application selectors and the optional Kargo fan-out. */
    registry: DockerRegistrySpec;
    /** ClusterSecretStore to read through. */
    storeName: pulumi.Input<string>;
    /** Labels on every object; default none. */
    labels?: Record<string, string>;
}

/** The Vault keys both formats read: one source, two shapes (seed 003). */
export function registryData(r: DockerRegistrySpec): ExternalSecretSpecInput["data"] {
    return [
        { secretKey: "username", key: r.vaultPath, property: r.usernameProperty },
        { secretKey: "password", key: r.vaultPath, property: r.passwordProperty },
    ];
}

/**
 * Seed 003's fix: namespaces labelled `secrets/gh-docker-registry: "true"` get a kubernetes.io/dockerconfigjson
 * secret; Kargo project namespaces get Kargo's image-credential format from the same Vault secret.
 */
export class DockerRegistryCredentials extends pulumi.ComponentResource {
    readonly application: VaultClusterExternalSecret;
    readonly kargo?: VaultClusterExternalSecret;

    constructor(name: string, args: DockerRegistryCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:eso:DockerRegistryCredentials", name, {}, opts);
        const r = args.registry;
        if (!r.server) throw new pulumi.ResourceError(`DockerRegistryCredentials ${name}: registry.server is empty; set the registry host (e.g. ghcr.io)`, this);
        const labels = args.labels ?? {};
        this.application = new VaultClusterExternalSecret(`${name}-application`, {
            externalSecretName: r.name,
            namespaceSelectors: r.namespaceSelectors,
            labels,
            spec: pulumi.output(args.storeName).apply((storeName) => ({
                storeName,
                refreshPolicy: "Periodic" as const,
                refreshInterval: r.refreshInterval,
                targetName: r.secretName,
                secretType: "kubernetes.io/dockerconfigjson",
                targetLabels: labels,
                templateData: dockerConfigTemplate(r.server),
                data: registryData(r),
            })),
        }, { parent: this });
        if (r.kargo) {
            const k = r.kargo;
            const tpl = kargoImageTemplate(k.repoURL, k.repoURLIsRegex);
            this.kargo = new VaultClusterExternalSecret(`${name}-kargo`, {
                externalSecretName: k.name,
                namespaceSelectors: k.namespaceSelectors,
                labels,
                spec: pulumi.output(args.storeName).apply((storeName) => ({
                    storeName,
                    refreshPolicy: "Periodic" as const,
                    refreshInterval: r.refreshInterval,
                    targetName: k.secretName,
                    secretType: "Opaque",
                    targetLabels: { ...labels, ...tpl.labels },
                    templateData: tpl.data,
                    data: registryData(r),
                })),
            }, { parent: this });
        }
        this.registerOutputs({});
    }
}
