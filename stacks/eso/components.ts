import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { LabelSelector, StoreSettings, VaultSettings } from "../config/types";
import {
    ESO_API_VERSION, ExternalSecretSpecInput, Manifest, clusterExternalSecretManifest, clusterSecretStoreManifest, externalSecretManifest,
} from "./manifests";

function customResource(name: string, m: pulumi.Output<Manifest>, apiVersion: string, kind: string, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(name, { apiVersion, kind, metadata: m.metadata, spec: m.spec }, opts);
}

function plain<T>(v: pulumi.Input<T> | undefined): T | undefined {
    return pulumi.Output.isInstance(v) || v instanceof Promise ? undefined : (v as T | undefined);
}

export interface VaultClusterSecretStoreArgs {
    /** Vault address, KV v2 mount and auth (Kubernetes role or token secret). */
    vault: pulumi.Input<VaultSettings>;
    /** Store name and allowed-namespace conditions; all conditions empty = every namespace. */
    store: pulumi.Input<StoreSettings>;
    /** Labels on the store; default none. */
    labels?: pulumi.Input<Record<string, string>>;
}

/** The ClusterSecretStore for Vault KV v2 every ExternalSecret of this stack reads through. */
export class VaultClusterSecretStore extends pulumi.ComponentResource {
    readonly storeName: pulumi.Output<string>;
    readonly resource: k8s.apiextensions.CustomResource;

    constructor(name: string, args: VaultClusterSecretStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:eso:VaultClusterSecretStore", name, {}, opts);
        const vault = plain(args.vault);
        if (vault && !vault.kvMount) throw new pulumi.ResourceError(`VaultClusterSecretStore ${name}: vault.kvMount is empty; set the KV v2 mount (e.g. "secret")`, this);
        const m = pulumi.all([args.vault, args.store, args.labels ?? {}]).apply(([v, s, l]) => clusterSecretStoreManifest(v as VaultSettings, s as StoreSettings, l));
        this.resource = customResource(`${name}-store`, m, ESO_API_VERSION, "ClusterSecretStore", { parent: this });
        this.storeName = m.metadata.name;
        this.registerOutputs({ storeName: this.storeName });
    }
}

export interface VaultExternalSecretArgs {
    /** Namespace of the ExternalSecret and of the Secret it writes. */
    namespace: pulumi.Input<string>;
    /** metadata.name; default: the resource name. */
    externalSecretName?: pulumi.Input<string>;
    /** What to fetch and how to shape the Secret (refreshPolicy is always explicit). */
    spec: pulumi.Input<ExternalSecretSpecInput>;
    /** Labels on the ExternalSecret; default none. */
    labels?: pulumi.Input<Record<string, string>>;
    /** Annotations on the ExternalSecret (e.g. the rotation counter); default none. */
    annotations?: pulumi.Input<Record<string, string>>;
}

/** One namespaced ExternalSecret with an explicit refreshPolicy. */
export class VaultExternalSecret extends pulumi.ComponentResource {
    readonly resource: k8s.apiextensions.CustomResource;
    readonly secretName: pulumi.Output<string>;

    constructor(name: string, args: VaultExternalSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:eso:VaultExternalSecret", name, {}, opts);
        const spec = plain(args.spec);
        if (spec && !spec.data?.length && !spec.generatorRef) throw new pulumi.ResourceError(`VaultExternalSecret ${name}: neither data nor generatorRef is set; give at least one remote key`, this);
        const m = pulumi
            .all([args.externalSecretName ?? name, args.namespace, args.labels ?? {}, args.annotations ?? {}, args.spec])
            .apply(([n, ns, l, a, s]) => externalSecretManifest(n, ns, l, a, s as ExternalSecretSpecInput));
        this.resource = customResource(`${name}-es`, m, ESO_API_VERSION, "ExternalSecret", { parent: this });
        this.secretName = pulumi.output(args.spec).apply((s) => s.targetName);
        this.registerOutputs({ secretName: this.secretName });
    }
}

export interface VaultClusterExternalSecretArgs {
    /** metadata.name (also the name of each generated ExternalSecret); default: the resource name. */
    externalSecretName?: pulumi.Input<string>;
    /** Namespaces whose labels match ANY selector get the secret (matchLabels and matchExpressions). */
    namespaceSelectors: pulumi.Input<LabelSelector[]>;
    spec: pulumi.Input<ExternalSecretSpecInput>;
    /** Labels on the ClusterExternalSecret and its ExternalSecrets; default none. */
    labels?: pulumi.Input<Record<string, string>>;
}

/** Fan-out of one Vault secret to every namespace carrying given labels. */
export class VaultClusterExternalSecret extends pulumi.ComponentResource {
    readonly resource: k8s.apiextensions.CustomResource;

    constructor(name: string, args: VaultClusterExternalSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:eso:VaultClusterExternalSecret", name, {}, opts);
        const sels = plain(args.namespaceSelectors);
        if (sels && sels.length === 0) throw new pulumi.ResourceError(`VaultClusterExternalSecret ${name}: namespaceSelectors is empty; give at least one label selector`, this);
        const m = pulumi
            .all([args.externalSecretName ?? name, args.namespaceSelectors, args.labels ?? {}, args.spec])
            .apply(([n, s, l, spec]) => clusterExternalSecretManifest(n, s as LabelSelector[], l, spec as ExternalSecretSpecInput));
        this.resource = customResource(`${name}-ces`, m, ESO_API_VERSION, "ClusterExternalSecret", { parent: this });
        this.registerOutputs({});
    }
}

export interface RawManifestArgs {
    /** A complete object (apiVersion, kind, metadata, spec) already validated by the config guardrails. */
    manifest: pulumi.Input<Manifest>;
}

/** An object the config declares verbatim (extra ESO generators, cert-manager issuers). */
export class RawManifest extends pulumi.ComponentResource {
    readonly resource: k8s.apiextensions.CustomResource;

    constructor(name: string, args: RawManifestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:eso:RawManifest", name, {}, opts);
        const m = plain(args.manifest);
        if (!m) throw new pulumi.ResourceError(`RawManifest ${name}: manifest must be a plain object (its kind decides the resource type)`, this);
        this.resource = customResource(`${name}-cr`, pulumi.output(m) as unknown as pulumi.Output<Manifest>, m.apiVersion, m.kind, { parent: this });
        this.registerOutputs({});
    }
}
