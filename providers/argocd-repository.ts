import * as pulumi from "@pulumi/pulumi";
import type { ArgoCdSecretType } from "../derive";
import { DerivedSecret, DerivedSecretCommonArgs } from "./derived-secret";

export interface ArgoCdRepositoryArgs extends DerivedSecretCommonArgs {
    /** Value of the `argocd.argoproj.io/secret-type` label. */
    secretType: pulumi.Input<ArgoCdSecretType>;
    /** Repository URL (repository) or URL prefix (repo-creds). */
    url: pulumi.Input<string>;
    /** Argo CD repository type. Default "git". */
    repoType?: pulumi.Input<"git" | "helm">;
    /** Display name. Default none. */
    name?: pulumi.Input<string>;
    /** Argo CD project. Default none (global). */
    project?: pulumi.Input<string>;
    /** GitHub Enterprise API base URL (GitHub App credentials only). Default none. */
    githubAppEnterpriseBaseUrl?: pulumi.Input<string>;
}

/** An Argo CD repository / repo-creds secret derived from a source secret. */
export class ArgoCdRepository extends DerivedSecret {
    constructor(name: string, args: ArgoCdRepositoryArgs, opts?: pulumi.CustomResourceOptions) {
        const { secretType, url, repoType, name: displayName, project, githubAppEnterpriseBaseUrl, ...common } = args;
        const options = pulumi
            .all([secretType, url, repoType ?? "git", displayName, project, githubAppEnterpriseBaseUrl])
            .apply(([s, u, t, n, p, g]) => {
                const o: Record<string, unknown> = { secretType: s, url: u, type: t };
                if (n !== undefined) o.name = n;
                if (p !== undefined) o.project = p;
                if (g !== undefined) o.githubAppEnterpriseBaseUrl = g;
                return o;
            });
        super(name, { ...common, format: "argocd", options }, opts, "ArgoCdRepository");
    }
}
