import type { Format, SecretRef } from "../derive";

/** What the engine hands the DerivedSecret provider (Inputs resolved). */
export interface DerivedSecretInputs {
    format: Format;
    source: SecretRef;
    target: SecretRef;
    options?: Record<string, unknown>;
    /** kubeconfig YAML content; default loading (KUBECONFIG, ~/.kube/config, in-cluster) when absent. */
    kubeconfig?: string;
    /** Take over an existing secret we do not manage; default false. */
    adopt?: boolean;
}

/** State recorded by the DerivedSecret provider. `data` and `kubeconfig` are secret outputs. */
export interface DerivedSecretOutputs extends DerivedSecretInputs {
    type: string;
    data: Record<string, string>;
    /** The labels/annotations we own on the live secret (never values of data). */
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /** sha256 of the consumed source data the live derived secret was made from (its annotation). */
    sourceHash: string;
    /** sha256 of the consumed data of the live source at the last create/update/read. */
    liveSourceHash: string;
    /** What differs between the live derived secret and what the live source implies; [] when in sync. Set by read. */
    drift: string[];
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
    adopt?: boolean;
}

export interface MirroredSecretOutputs extends MirroredSecretInputs {
    /** Namespaces that hold a managed copy, sorted. */
    targetNamespaces: string[];
    type: string;
    data: Record<string, string>;
    sourceHash: string;
    liveSourceHash: string;
    /** Per-namespace differences ("<ns>: data.<key>", "<ns>: missing", "<ns>: not selected"); [] when in sync. */
    drift: string[];
}
