/** Prefix of every label and annotation this project owns. */
export const PREFIX = "platform-secrets.io/";

/** `app.kubernetes.io/managed-by` value stamped on every object we create; ownership is decided by it. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "platform-secrets";

/** Label on every derived secret (value "true"): lets watchers select derived secrets cheaply. */
export const LABEL_DERIVED = `${PREFIX}derived`;
/**
 * Formerly put on sources so the reconciler could watch only them. Not needed (the reconciler watches every Secret:
 * people and ESO create sources without our labels) and no longer set; kept for reading old objects.
 */
export const LABEL_SOURCE = `${PREFIX}source`;

export const ANNOTATION_SOURCE_NAMESPACE = `${PREFIX}source-namespace`;
export const ANNOTATION_SOURCE_NAME = `${PREFIX}source-name`;
export const ANNOTATION_FORMAT = `${PREFIX}format`;
/** Canonical JSON of the normalized recipe options (never holds a secret value: validation rejects those). */
export const ANNOTATION_OPTIONS = `${PREFIX}options`;
/** sha256 (hex) of the canonical source data the format consumes; never the data itself. */
export const ANNOTATION_SOURCE_HASH = `${PREFIX}source-hash`;
export const ANNOTATION_DERIVATION_VERSION = `${PREFIX}derivation-version`;

/**
 * On a SOURCE secret: JSON array of fan-out specs (see FanOutSpec). The target set of a selector-based mirror is
 * dynamic, so it cannot be recorded on the targets; the source declares it.
 */
export const ANNOTATION_FAN_OUT = `${PREFIX}fan-out`;
/**
 * Formerly the source's init-time hooks. No longer honoured: hooks reach a database and create Jobs, so they are
 * administrator policy (the reconciler's policy ConfigMap); the reconciler warns about this annotation and ignores it.
 */
export const ANNOTATION_HOOKS = `${PREFIX}hooks`;

/** Bumped whenever a format's output changes for the same input, so every derived secret gets rewritten once. */
export const DERIVATION_VERSION = "1";

/** Third-party keys the formats write; owned by us on derived secrets only. */
export const KARGO_CRED_TYPE_LABEL = "kargo.akuity.io/cred-type";
export const ARGOCD_SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type";
export const TEKTON_GIT_ANNOTATION_PREFIX = "tekton.dev/git-";
export const TEKTON_DOCKER_ANNOTATION_PREFIX = "tekton.dev/docker-";

/** Reject any single source value above this (decoded bytes). */
export const MAX_VALUE_BYTES = 512 * 1024;
/** Kubernetes refuses objects above 1 MiB; keep the derived secret (data + metadata) strictly below. */
export const MAX_SECRET_BYTES = 1024 * 1024;

/** Secret types (Kubernetes built-ins) the formats read or write. */
export const SECRET_TYPE = {
    opaque: "Opaque",
    basicAuth: "kubernetes.io/basic-auth",
    sshAuth: "kubernetes.io/ssh-auth",
    dockerConfigJson: "kubernetes.io/dockerconfigjson",
    dockerCfg: "kubernetes.io/dockercfg",
    tls: "kubernetes.io/tls",
    serviceAccountToken: "kubernetes.io/service-account-token",
    bootstrapToken: "bootstrap.kubernetes.io/token",
} as const;

/**
 * On a SOURCE secret: the source's consent to being read into other namespaces (a derived secret in namespace X
 * naming a source in Y ≠ X is honoured only when Y's source grants X). Comma-separated namespace names, and/or a
 * label selector over namespace labels. Same-namespace derivation needs no grant. Like kubernetes-reflector's
 * `reflection-allowed-namespaces`: whoever controls the source decides who may read it.
 */
export const ANNOTATION_ALLOW_NAMESPACES = `${PREFIX}allow-namespaces`;
export const ANNOTATION_ALLOW_NAMESPACE_SELECTOR = `${PREFIX}allow-namespace-selector`;
