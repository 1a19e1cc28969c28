import * as pulumi from "@pulumi/pulumi";
import { ArgoCdRepository, KargoCredential, TektonGitCredential } from "../providers";
import type { GitCredentialSpec } from "./config/types";
import { gitTargets } from "./config/git";
import type { ArgoCdSecretType } from "../derive";
import { VaultExternalSecret } from "./eso/components";
import { ANNOTATION_ALLOW_NAMESPACES } from "../derive/constants";

export interface GitCredentialsArgs {
    /** URL, Vault source, landing namespace and the consumers (Tekton, Argo CD, Kargo). */
    credential: GitCredentialSpec;
    /** ClusterSecretStore to read through. */
    storeName: pulumi.Input<string>;
    /** KV v2 mount the store reads (for error messages naming the Vault path); default "secret". */
    kvMount?: string;
    /** Labels on the source ExternalSecret and secret; default none. */
    labels?: Record<string, string>;
    /** kubeconfig context the derived-secret providers use (the stack's kubeContext); default the current-context. */
    kubeContext?: string;
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

/** The source secret ESO lands (pure): basic-auth for https URLs, ssh-auth (key + optional known_hosts) for ssh. */
export function gitSourceShape(c: GitCredentialSpec): { secretType: string; data: { secretKey: string; key: string; property: string }[] } {
    if (c.auth === "ssh") {
        return {
            secretType: "kubernetes.io/ssh-auth",
            data: [
                { secretKey: "ssh-privatekey", key: c.vaultPath, property: c.sshPrivateKeyProperty },
                ...(c.knownHostsProperty !== undefined ? [{ secretKey: "known_hosts", key: c.vaultPath, property: c.knownHostsProperty }] : []),
            ],
        };
    }
    return {
        secretType: "kubernetes.io/basic-auth",
        data: [
            { secretKey: "username", key: c.vaultPath, property: c.usernameProperty },
            { secretKey: "password", key: c.vaultPath, property: c.passwordProperty },
        ],
    };
}

/**
 * One git credential from Vault: ESO lands the source secret (basic-auth or ssh-auth) granting the consumer
 * namespaces, and the derived-secret providers shape it for Tekton (one secret for every URL), Argo CD and Kargo
 * (one per URL, or one for a URL prefix / pattern), exactly the recipes stacks/config checked with derive/ at
 * preview (gitTargets). The reconciler (which watches every Secret) re-derives them on rotation.
 */
export class GitCredentials extends pulumi.ComponentResource {
    readonly source: VaultExternalSecret;
    readonly tekton?: TektonGitCredential;
    /** In URL order (or the one repo-creds template). */
    readonly argocd: ArgoCdRepository[] = [];
    readonly kargo: KargoCredential[] = [];

    constructor(name: string, args: GitCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:git:GitCredentials", name, {}, opts);
        const c = args.credential;
        if (!c.tekton && !c.argocd && !c.kargo) {
            throw new pulumi.ResourceError(`GitCredentials ${name}: no consumer (tekton, argocd, kargo) is set; add one or drop the credential`, this);
        }
        if (c.urls.length === 0) throw new pulumi.ResourceError(`GitCredentials ${name}: urls is empty; list at least one repository URL`, this);
        const labels = args.labels ?? {};
        const shape = gitSourceShape(c);
        this.source = new VaultExternalSecret(`${name}-source`, {
            namespace: c.sourceNamespace,
            externalSecretName: c.name,
            labels,
            // No `pulumi.com/waitFor` here: the kubernetes provider's await ends in a generic timeout after 5 min.
            // The derived-secret providers wait for the source themselves (sourceOrigin) and, if ESO never writes
            // it, fail naming this ExternalSecret, its store, the Vault path and ESO's own Ready condition.
            spec: pulumi.output(args.storeName).apply((storeName) => ({
                storeName,
                refreshPolicy: "Periodic" as const,
                refreshInterval: c.refreshInterval,
                targetName: c.name,
                secretType: shape.secretType,
                targetLabels: labels,
                targetAnnotations: sourceGrantAnnotations(c),
                data: shape.data,
            })),
        }, { parent: this });
        const source = { namespace: c.sourceNamespace, name: c.name };
        const childOpts = { parent: this, dependsOn: [this.source] };
        const sourceOrigin = { externalSecret: source, store: args.storeName, vaultPath: `${args.kvMount ?? "secret"}/${c.vaultPath}` };
        // The same cluster as the kubernetes.Provider that created the source's ExternalSecret (stacks/cluster.ts).
        const ctx = args.kubeContext ? { context: args.kubeContext } : {};
        for (const t of gitTargets(c)) {
            const o = t.options;
            switch (t.consumer) {
                case "tekton":
                    this.tekton = new TektonGitCredential(`${name}-${t.resource}`, { ...ctx, source, sourceOrigin, target: t.target, gitUrls: o.gitUrls as string[] }, childOpts);
                    break;
                case "argocd":
                    this.argocd.push(new ArgoCdRepository(`${name}-${t.resource}`, {
                        ...ctx,
                        source,
                        sourceOrigin,
                        target: t.target,
                        secretType: o.secretType as ArgoCdSecretType,
                        url: o.url as string,
                        ...(o.project !== undefined ? { project: o.project as string } : {}),
                    }, childOpts));
                    break;
                case "kargo":
                    this.kargo.push(new KargoCredential(`${name}-${t.resource}`, { ...ctx, source, sourceOrigin, target: t.target, credType: "git", repoURL: o.repoURL as string, repoURLIsRegex: o.repoURLIsRegex as boolean }, childOpts));
                    break;
                default: {
                    const never: never = t.consumer;
                    throw new Error(`unknown git consumer ${String(never)}`);
                }
            }
        }
        this.registerOutputs({});
    }
}
