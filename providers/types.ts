import type { Format, SecretRef } from "../derive";

/**
 * Where a source that ESO writes during the same `pulumi up` comes from. With it, the provider waits for the source
 * (ESO syncs it seconds after its ExternalSecret is created) and, if it never comes, fails naming the
 * ExternalSecret, its ClusterSecretStore and the Vault path, with ESO's own Ready condition — instead of a generic
 * await timeout. Not part of the recipe: it never causes a diff.
 */
export interface SourceOrigin {
    externalSecret: SecretRef;
    store: string;
    /** `<kv mount>/<path>`. */
    vaultPath: string;
    /** How long to wait for the source; default 120. */
    waitSeconds?: number;
}

/** What the engine hands the DerivedSecret provider (Inputs resolved). */
export interface DerivedSecretInputs {
    format: Format;
    source: SecretRef;
    target: SecretRef;
    options?: Record<string, unknown>;
    /** kubeconfig YAML content; default loading (KUBECONFIG, ~/.kube/config, in-cluster) when absent. */
    kubeconfig?: string;
    /** Context name in that kubeconfig; default its current-context. A change replaces (another cluster). */
    context?: string;
    /** Take over an existing secret we do not manage; default false. */
    adopt?: boolean;
    /** The source is written by ESO in the same run: wait for it, and explain a missing one; default none. */
    sourceOrigin?: SourceOrigin;
}

/** State recorded by the DerivedSecret provider. `data` and `kubeconfig` are secret outputs. */
export interface DerivedSecretOutputs extends DerivedSecretInputs {
    type: string;
    data: Record<string, string>;
    /**
     * The labels/annotations we own on the live secret (never values of data). The source-hash annotation is left
     * out: a plain hash of the values in state would let anyone with state access check guesses offline.
     */
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /**
     * What differs between the live derived secret and what the live source implies (names only, e.g.
     * "data.password", "source-missing", "source-grant-missing"); [] when in sync. Set by read; diff turns it into an update.
     */
    drift: string[];
    /** drift is empty: the live derived secret is what the live source implies now. */
    inSync: boolean;
    /**
     * The source's grant of the target namespace was added by a provider (this resource or another one that relies on
     * it; recorded on the source too), so delete withdraws it once no other derived secret there names the source. False
     * when the grant came from elsewhere (a person, an ExternalSecret template) or is not needed (same namespace).
     */
    grantAdded: boolean;
    /** The provider schema that wrote this state (schema.ts); absent in state written before it existed (schema 1). */
    __schema?: number;
}

export interface MirroredSecretInputs {
    source: SecretRef;
    /** Name of every copy; default the source's name. */
    targetName?: string;
    /** Explicit target namespaces. */
    namespaces?: string[];
    /** Kubernetes label selector over namespaces, resolved at create/update/read time. */
    namespaceSelector?: string;
    kubeconfig?: string;
    /** Context name in that kubeconfig; default its current-context. A change replaces (another cluster). */
    context?: string;
    adopt?: boolean;
}

export interface MirroredSecretOutputs extends MirroredSecretInputs {
    /** Namespaces that hold a managed copy, sorted. */
    targetNamespaces: string[];
    type: string;
    data: Record<string, string>;
    /**
     * Per-namespace differences ("<ns>: data.<key>", "<ns>: missing", "<ns>: not selected",
     * "<ns>: source-grant-missing"); [] when in sync.
     */
    drift: string[];
    /** drift is empty. */
    inSync: boolean;
    /** Target namespaces whose grant on the source a provider added, sorted (withdrawn when their copy goes). */
    grantsAdded: string[];
    /** The provider schema that wrote this state (schema.ts); absent in state written before it existed (schema 1). */
    __schema?: number;
}
