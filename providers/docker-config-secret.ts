import * as pulumi from "@pulumi/pulumi";
import { DerivedSecret, DerivedSecretCommonArgs } from "./derived-secret";

export interface DockerConfigSecretArgs extends DerivedSecretCommonArgs {
    /** Registry key in `auths`, e.g. "ghcr.io" or "registry.example.com:5000". */
    registry: pulumi.Input<string>;
    /** Also annotate `tekton.dev/docker-0: https://<registry>`. Default false. */
    tektonAnnotation?: pulumi.Input<boolean>;
}

/** A kubernetes.io/dockerconfigjson secret built from a source's username/password[/email]. */
export class DockerConfigSecret extends DerivedSecret {
    constructor(name: string, args: DockerConfigSecretArgs, opts?: pulumi.CustomResourceOptions) {
        const { registry, tektonAnnotation, ...common } = args;
        const options = pulumi.all([registry, tektonAnnotation ?? false]).apply(([r, t]) => ({ registry: r, tektonAnnotation: t }));
        super(name, { ...common, format: "docker", options }, opts, "DockerConfigSecret");
    }
}
