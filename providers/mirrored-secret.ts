import * as pulumi from "@pulumi/pulumi";
import { SecretRefInput, secretKubeconfig, withSecretOutputs } from "./derived-secret";
import { providerStub } from "./stub";

export interface MirroredSecretArgs {
    /** The secret to copy (type and data verbatim). */
    source: pulumi.Input<SecretRefInput>;
    /** Name of every copy. Default: the source's name. Changing it replaces the resource. */
    targetName?: pulumi.Input<string>;
    /** Target namespaces. At least one of namespaces / namespaceSelector is required. */
    namespaces?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Label selector over namespaces ("team=a,env in (prod)"), resolved at create, update and read: `pulumi refresh`
     * shows namespaces that gained or lost the label as drift, and `up` follows them.
     */
    namespaceSelector?: pulumi.Input<string>;
    /** kubeconfig YAML content. Default: the default loading rules. Stored as a secret. */
    kubeconfig?: pulumi.Input<string>;
    /** Context name of that kubeconfig (the stack's kubeContext); default its current-context. A change replaces. */
    context?: pulumi.Input<string>;
    /** Take over existing secrets not managed by platform-secrets. Default false. */
    adopt?: pulumi.Input<boolean>;
}

/** One source secret mirrored into a list of namespaces and/or every namespace matching a label selector. */
export class MirroredSecret extends pulumi.dynamic.Resource {
    declare readonly targetNamespaces: pulumi.Output<string[]>;
    declare readonly type: pulumi.Output<string>;
    declare readonly data: pulumi.Output<Record<string, string>>;
    declare readonly drift: pulumi.Output<string[]>;
    declare readonly inSync: pulumi.Output<boolean>;
    /** Namespaces this resource added to the source's allow-namespaces grant (withdrawn with their copy). */
    declare readonly grantsAdded: pulumi.Output<string[]>;

    constructor(name: string, args: MirroredSecretArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            providerStub("mirror"),
            name,
            {
                source: args.source,
                targetName: args.targetName,
                namespaces: args.namespaces,
                namespaceSelector: args.namespaceSelector,
                kubeconfig: secretKubeconfig(args.kubeconfig),
                ...(args.context !== undefined ? { context: args.context } : {}),
                adopt: args.adopt ?? false,
                targetNamespaces: undefined,
                type: undefined,
                data: undefined,
                drift: undefined,
                inSync: undefined,
                grantsAdded: undefined,
            },
            withSecretOutputs(opts),
            "platform-secrets",
            "MirroredSecret",
        );
    }
}
