import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as github from "@pulumi/github";
import type { GitHubAppSpec, GitHubAppsMode } from "../config/types";
import { VaultExternalSecret } from "../eso/components";
import { ESO_GENERATORS_API_VERSION } from "../eso/manifests";

export interface GitHubAppCredentialsArgs {
    /** The app: Vault path, secret/ServiceAccount names, ids, repositories. */
    app: GitHubAppSpec;
    /** Namespace of the secret, ServiceAccount and RBAC (seed 001: "workflows"). */
    namespace: pulumi.Input<string>;
    /** ClusterSecretStore the credentials are read through. */
    storeName: pulumi.Input<string>;
    /** externalSecret: sync appId/privateKey only; generator: also an ESO GithubAccessToken; default externalSecret. */
    mode?: GitHubAppsMode;
    /** refreshInterval of the credentials ExternalSecret; default "1h". */
    refreshInterval?: pulumi.Input<string>;
    /** refreshInterval of the generator-mode token ExternalSecret; default "50m" (tokens live 1h). */
    tokenRefreshInterval?: pulumi.Input<string>;
    /** GitHub API base URL for the generator; default https://api.github.com. */
    githubApiUrl?: pulumi.Input<string>;
    /** A configured GitHub provider: AppInstallationRepositories is declared only with one; default none. */
    githubProvider?: github.Provider;
    /** Labels on every Kubernetes object; default none. */
    labels?: Record<string, string>;
}

/** Names of the secrets an app's ServiceAccount may read. */
export function appSecretNames(app: GitHubAppSpec, mode: GitHubAppsMode): string[] {
    return mode === "generator" ? [app.secretName, `${app.secretName}-token`] : [app.secretName];
}

/** Role rules granting `get` on exactly those secrets: resourceNames keeps other apps' keys out of reach. */
export function appReaderRules(app: GitHubAppSpec, mode: GitHubAppsMode): k8s.types.input.rbac.v1.PolicyRule[] {
    return [{ apiGroups: [""], resources: ["secrets"], resourceNames: appSecretNames(app, mode), verbs: ["get"] }];
}

/** Metadata of an app's Kubernetes object named `n`: the component's namespace and labels. */
type AppMeta = (n: string) => { name: string; namespace: pulumi.Input<string>; labels: Record<string, string> };

/**
 * Seed 001: one GitHub App's credentials in the workflows namespace, readable only by the app's ServiceAccount;
 * optionally an ESO GithubAccessToken generator; optionally the installation's repository list.
 */
export class GitHubAppCredentials extends pulumi.ComponentResource {
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    readonly credentials: VaultExternalSecret;
    readonly role: k8s.rbac.v1.Role;
    readonly roleBinding: k8s.rbac.v1.RoleBinding;
    readonly generator?: k8s.apiextensions.CustomResource;
    readonly token?: VaultExternalSecret;
    readonly repositories?: github.AppInstallationRepositories;

    constructor(name: string, args: GitHubAppCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:github:GitHubAppCredentials", name, {}, opts);
        const app = args.app;
        const mode = args.mode ?? "externalSecret";
        if (mode === "generator" && (!app.appId || !app.installationId)) {
            throw new pulumi.ResourceError(`GitHubAppCredentials ${name}: generator mode needs app.appId and app.installationId; set both or use mode externalSecret`, this);
        }
        const labels = { ...(args.labels ?? {}), "platform-secrets.io/github-app": app.name };
        const meta = (n: string) => ({ name: n, namespace: args.namespace, labels });

        this.serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata: meta(app.serviceAccount), automountServiceAccountToken: false }, { parent: this });
        this.credentials = this.createCredentials(name, args, labels);

        if (mode === "generator") {
            const generated = this.createGeneratedToken(name, args, labels, meta, this.credentials);
            this.generator = generated.generator;
            this.token = generated.token;
        }

        this.role = new k8s.rbac.v1.Role(`${name}-reader`, { metadata: meta(`${app.secretName}-reader`), rules: appReaderRules(app, mode) }, { parent: this });
        this.roleBinding = new k8s.rbac.v1.RoleBinding(`${name}-reader`, {
            metadata: meta(`${app.secretName}-reader`),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${app.secretName}-reader` },
            subjects: [{ kind: "ServiceAccount", name: app.serviceAccount, namespace: args.namespace }],
        }, { parent: this, dependsOn: [this.role] });

        if (args.githubProvider && app.installationId && app.repositories.length > 0) {
            this.repositories = this.createRepositories(name, app.installationId, [...app.repositories], args.githubProvider);
        }
        this.registerOutputs({});
    }

    /** The ExternalSecret syncing the app's appId/privateKey (and installationId if asked) from Vault into `app.secretName`. */
    private createCredentials(name: string, args: GitHubAppCredentialsArgs, labels: Record<string, string>): VaultExternalSecret {
        const app = args.app;
        const data = [
            { secretKey: "appId", key: app.vaultPath, property: "appId" },
            { secretKey: "privateKey", key: app.vaultPath, property: "privateKey" },
            ...(app.syncInstallationId ? [{ secretKey: "installationId", key: app.vaultPath, property: "installationId" }] : []),
        ];
        return new VaultExternalSecret(`${name}-credentials`, {
            namespace: args.namespace,
            externalSecretName: app.secretName,
            labels,
            spec: pulumi.all([args.storeName, args.refreshInterval ?? "1h"]).apply(([storeName, refreshInterval]) => ({
                storeName,
                refreshPolicy: "Periodic" as const,
                refreshInterval,
                targetName: app.secretName,
                targetLabels: labels,
                data,
            })),
        }, { parent: this });
    }

    /** Generator mode: the ESO GithubAccessToken generator (after `credentials`) and the ExternalSecret of its tokens. */
    private createGeneratedToken(name: string, args: GitHubAppCredentialsArgs, labels: Record<string, string>, meta: AppMeta, credentials: VaultExternalSecret): { generator: k8s.apiextensions.CustomResource; token: VaultExternalSecret } {
        const app = args.app;
        const generatorName = `${app.secretName}-token`;
        const generator = new k8s.apiextensions.CustomResource(`${name}-generator`, {
            apiVersion: ESO_GENERATORS_API_VERSION,
            kind: "GithubAccessToken",
            metadata: meta(generatorName),
            spec: {
                appID: app.appId,
                installID: app.installationId,
                url: args.githubApiUrl ?? "https://api.github.com",
                ...(app.repositories.length ? { repositories: [...app.repositories] } : {}),
                auth: { privateKey: { secretRef: { name: app.secretName, key: "privateKey" } } },
            },
        }, { parent: this, dependsOn: [credentials] });
        const token = new VaultExternalSecret(`${name}-token`, {
            namespace: args.namespace,
            externalSecretName: generatorName,
            labels,
            spec: pulumi.output(args.tokenRefreshInterval ?? "50m").apply((refreshInterval) => ({
                storeName: "",
                refreshPolicy: "Periodic" as const,
                refreshInterval,
                targetName: generatorName,
                targetLabels: labels,
                generatorRef: { apiVersion: ESO_GENERATORS_API_VERSION, kind: "GithubAccessToken", name: generatorName },
            })),
        }, { parent: this, dependsOn: [generator] });
        return { generator, token };
    }

    /** The installation's repository list, through `provider` (retained on delete). */
    private createRepositories(name: string, installationId: string, selectedRepositories: string[], provider: github.Provider): github.AppInstallationRepositories {
        return new github.AppInstallationRepositories(`${name}-repositories`, {
            installationId,
            selectedRepositories,
        }, {
            parent: this,
            provider,
            // GitHub accepts only a classic PAT for this (stacks/README.md, "githubToken"), so the token should be
            // set only for the run that changes the membership. Retained: when the token (and so this resource)
            // goes away, the next `up` only forgets it instead of removing the repositories from the installation.
            retainOnDelete: true,
        });
    }
}
