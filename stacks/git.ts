import * as pulumi from "@pulumi/pulumi";
import { ArgoCdRepository, KargoCredential, TektonGitCredential } from "../providers";
import type { GitCredentialSpec } from "./config/types";
import { VaultExternalSecret } from "./eso/components";
import { ANNOTATION_ALLOW_NAMESPACES } from "../derive/constants";

export interface GitCredentialsArgs {
    /** URL, Vault source, landing namespace and the consumers (Tekton, Argo CD, Kargo). */
    credential: GitCredentialSpec;
    /** ClusterSecretStore to read through. */
    storeName: pulumi.Input<string>;
    /** Labels on the source ExternalSecret and secret; default none. */
    labels?: Record<string, string>;
}

/**
 * The source's consent to the derivations this credential declares (pure): every consumer namespace other than the
 * source's own, sorted, in `platform-secrets.io/allow-namespaces`. Written by ESO's template, so it survives every
 * sync and the reconciler honours the derived secrets (a source grants nothing it was not asked for).
 */
export function sourceGrantAnnotations(c: GitCredentialSpec): Record<string, string> {
    const namespaces = [c.tekton, c.argocd, c.kargo].flatMap((t) => (t && t.namespace !== c.sourceNamespace ? [t.namespace] : []));
    const list = [...new Set(namespaces)].sort();
    return list.length ? { [ANNOTATION_ALLOW_NAMESPACES]: list.join(",") } : {};
}

/**
 * One git credential from Vault: ESO lands a kubernetes.io/basic-auth source secret granting the consumer
 * namespaces, and the derived-secret providers shape it for Tekton, Argo CD, Kargo; the reconciler (which watches
 * every Secret) re-derives them on rotation.
 */
export class GitCredentials extends pulumi.ComponentResource {
    readonly source: VaultExternalSecret;
    readonly tekton?: TektonGitCredential;
    readonly argocd?: ArgoCdRepository;
    readonly kargo?: KargoCredential;

    constructor(name: string, args: GitCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:git:GitCredentials", name, {}, opts);
        const c = args.credential;
        if (!c.tekton && !c.argocd && !c.kargo) {
            throw new pulumi.ResourceError(`GitCredentials ${name}: no consumer (tekton, argocd, kargo) is set; add one or drop the credential`, this);
        }
        const labels = args.labels ?? {};
        this.source = new VaultExternalSecret(`${name}-source`, {
            namespace: c.sourceNamespace,
            externalSecretName: c.name,
            labels,
            // The derived secrets read the source when created: wait until ESO has written it.
            annotations: { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "300" },
            spec: pulumi.output(args.storeName).apply((storeName) => ({
                storeName,
                refreshPolicy: "Periodic" as const,
                refreshInterval: c.refreshInterval,
                targetName: c.name,
                secretType: "kubernetes.io/basic-auth",
                targetLabels: labels,
                targetAnnotations: sourceGrantAnnotations(c),
                data: [
                    { secretKey: "username", key: c.vaultPath, property: c.usernameProperty },
                    { secretKey: "password", key: c.vaultPath, property: c.passwordProperty },
                ],
            })),
        }, { parent: this });
        const source = { namespace: c.sourceNamespace, name: c.name };
        const childOpts = { parent: this, dependsOn: [this.source] };
        if (c.tekton) {
            this.tekton = new TektonGitCredential(`${name}-tekton`, { source, target: { namespace: c.tekton.namespace, name: c.tekton.secretName }, gitUrls: [c.url] }, childOpts);
        }
        if (c.argocd) {
            this.argocd = new ArgoCdRepository(`${name}-argocd`, {
                source,
                target: { namespace: c.argocd.namespace, name: c.argocd.secretName },
                secretType: "repository",
                url: c.url,
                ...(c.argocd.project ? { project: c.argocd.project } : {}),
            }, childOpts);
        }
        if (c.kargo) {
            this.kargo = new KargoCredential(`${name}-kargo`, { source, target: { namespace: c.kargo.namespace, name: c.kargo.secretName }, credType: "git", repoURL: c.url }, childOpts);
        }
        this.registerOutputs({});
    }
}
