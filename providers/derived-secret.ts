import * as pulumi from "@pulumi/pulumi";
import type { Format } from "../derive";
import { providerStub } from "./stub";

export interface SecretRefInput {
    namespace: pulumi.Input<string>;
    name: pulumi.Input<string>;
}

/** Inputs shared by every derived-secret resource. */
export interface DerivedSecretCommonArgs {
    /** The source secret (must exist at create/update time). */
    source: pulumi.Input<SecretRefInput>;
    /** The derived secret to write. Changing it replaces the resource (the new secret is created, the old deleted). */
    target: pulumi.Input<SecretRefInput>;
    /**
     * kubeconfig YAML content. Default: the default loading rules (KUBECONFIG, ~/.kube/config, in-cluster).
     * Stored as a secret.
     */
    kubeconfig?: pulumi.Input<string>;
    /**
     * Context name of that kubeconfig (the stack passes its kubeContext, the one its kubernetes.Provider uses);
     * default the kubeconfig's current-context. A name, not content: rotating credentials change no input. A
     * change replaces the resource (another cluster: created there, deleted from the old one).
     */
    context?: pulumi.Input<string>;
    /** Take over an existing secret not managed by platform-secrets. Default false: such a target is refused. */
    adopt?: pulumi.Input<boolean>;
    /**
     * The source is written by ESO in the same `pulumi up` (its ExternalSecret, store and Vault path): the provider
     * waits for it (default 120 s) and, if it never comes, fails naming those and ESO's Ready condition. Default
     * none: a missing source fails at once.
     */
    sourceOrigin?: pulumi.Input<SourceOriginInput>;
}

export interface SourceOriginInput {
    externalSecret: pulumi.Input<SecretRefInput>;
    store: pulumi.Input<string>;
    /** `<kv mount>/<path>`. */
    vaultPath: pulumi.Input<string>;
    /** Default 120. */
    waitSeconds?: pulumi.Input<number>;
}

export interface DerivedSecretArgs extends DerivedSecretCommonArgs {
    format: pulumi.Input<Format>;
    /** Format options (see derive/README.md). Default {}. */
    options?: pulumi.Input<Record<string, unknown>>;
}

/** Outputs that carry secret values; the engine stores them encrypted. */
export const SECRET_OUTPUTS = ["data", "kubeconfig"];

/** Options every provider resource is registered with: the caller's, plus the secret outputs. */
export function withSecretOutputs(opts?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions {
    // mergeOptions concatenates arrays: add only what the caller did not list.
    const missing = SECRET_OUTPUTS.filter((o) => !(opts?.additionalSecretOutputs ?? []).includes(o));
    return pulumi.mergeOptions(opts, { additionalSecretOutputs: missing });
}

/** kubeconfig content is a credential: always a secret input (and therefore a secret in state). */
export function secretKubeconfig(kubeconfig: pulumi.Input<string> | undefined): pulumi.Output<string> | undefined {
    return kubeconfig === undefined ? undefined : pulumi.secret(kubeconfig);
}

/**
 * A secret derived from a source secret by the pure derivation core (derive/). `pulumi refresh` reports drift:
 * an edited derived secret, a rotated source or a withdrawn namespace grant shows in `drift` (`inSync` false), and
 * the next `up` repairs it. Across namespaces, the source is made to grant the target's namespace
 * (`platform-secrets.io/allow-namespaces`); `grantAdded` records whether this resource added it, so delete
 * withdraws only that.
 * `data` and `kubeconfig` are secret outputs.
 */
export class DerivedSecret extends pulumi.dynamic.Resource {
    declare readonly type: pulumi.Output<string>;
    declare readonly data: pulumi.Output<Record<string, string>>;
    declare readonly labels: pulumi.Output<Record<string, string>>;
    declare readonly annotations: pulumi.Output<Record<string, string>>;
    declare readonly drift: pulumi.Output<string[]>;
    declare readonly inSync: pulumi.Output<boolean>;
    declare readonly grantAdded: pulumi.Output<boolean>;

    constructor(name: string, args: DerivedSecretArgs, opts?: pulumi.CustomResourceOptions, typeName = "DerivedSecret") {
        super(
            providerStub("derived"),
            name,
            {
                format: args.format,
                source: args.source,
                target: args.target,
                options: args.options ?? {},
                kubeconfig: secretKubeconfig(args.kubeconfig),
                ...(args.context !== undefined ? { context: args.context } : {}),
                adopt: args.adopt ?? false,
                ...(args.sourceOrigin !== undefined ? { sourceOrigin: args.sourceOrigin } : {}),
                type: undefined,
                data: undefined,
                labels: undefined,
                annotations: undefined,
                drift: undefined,
                inSync: undefined,
                grantAdded: undefined,
            },
            withSecretOutputs(opts),
            "platform-secrets",
            typeName,
        );
    }
}
