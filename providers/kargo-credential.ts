import * as pulumi from "@pulumi/pulumi";
import type { KargoCredType } from "../derive";
import { DerivedSecret, DerivedSecretCommonArgs } from "./derived-secret";

export interface KargoCredentialArgs extends DerivedSecretCommonArgs {
    /** Value of the `kargo.akuity.io/cred-type` label. */
    credType: pulumi.Input<KargoCredType>;
    /** Repository URL (image reference for "image", https/oci for "helm"), or a pattern when repoURLIsRegex. */
    repoURL: pulumi.Input<string>;
    /** Default false. */
    repoURLIsRegex?: pulumi.Input<boolean>;
}

/** A Kargo credential secret (username/password or GitHub App) derived from a source secret. */
export class KargoCredential extends DerivedSecret {
    constructor(name: string, args: KargoCredentialArgs, opts?: pulumi.CustomResourceOptions) {
        const { credType, repoURL, repoURLIsRegex, ...common } = args;
        const options = pulumi.all([credType, repoURL, repoURLIsRegex ?? false]).apply(([c, u, r]) => ({ credType: c, repoURL: u, repoURLIsRegex: r }));
        super(name, { ...common, format: "kargo", options }, opts, "KargoCredential");
    }
}
