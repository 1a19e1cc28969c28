import * as pulumi from "@pulumi/pulumi";
import { DerivedSecret, DerivedSecretCommonArgs } from "./derived-secret";

export interface TektonGitCredentialArgs extends DerivedSecretCommonArgs {
    /** Git URLs the credential serves; one `tekton.dev/git-N` annotation per distinct host. https needs a basic-auth source, ssh an ssh-auth source. */
    gitUrls: pulumi.Input<pulumi.Input<string>[]>;
}

/** A Tekton git credential (basic-auth or ssh-auth + tekton.dev/git-N) derived from a source secret. */
export class TektonGitCredential extends DerivedSecret {
    constructor(name: string, args: TektonGitCredentialArgs, opts?: pulumi.CustomResourceOptions) {
        const { gitUrls, ...common } = args;
        super(name, { ...common, format: "tekton-git", options: pulumi.output(gitUrls).apply((u) => ({ gitUrls: u })) }, opts, "TektonGitCredential");
    }
}
