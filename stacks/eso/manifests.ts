import { goJson } from "../../derive/canonical";
import { KARGO_CRED_TYPE_LABEL } from "../../derive/constants";
import type { LabelSelector, RefreshPolicy, StoreSettings, VaultSettings } from "../config/types";

/**
 * Pure builders of External Secrets Operator objects (external-secrets.io/v1). Components wrap them in
 * CustomResources; the integration test applies the same objects to an apiserver carrying ESO's published CRDs.
 */
export const ESO_API_VERSION = "external-secrets.io/v1";
export const ESO_GENERATORS_API_VERSION = "generators.external-secrets.io/v1alpha1";
export const PART_OF_LABEL = "app.kubernetes.io/part-of";
export const PART_OF_VALUE = "platform-secrets";
/**
 * On ExternalSecrets fed by a stable password. ESO v0.16 (pkg/controllers/externalsecret shouldRefresh) re-syncs
 * at once when the object's generation or the hash of its labels+annotations differs from the one it last synced,
 * but only for refreshPolicy Periodic and OnChange: a CreatedOnce ExternalSecret never re-syncs after its first
 * sync (only when its target Secret is deleted). Bumping this annotation is how a rotation reaches ESO, so the
 * config refuses CreatedOnce for anything fed by a stable password (stacks/config guardrails).
 */
export const ANNOTATION_ROTATION = "platform-secrets.io/rotation";
export const ANNOTATION_VAULT_PATH = "platform-secrets.io/vault-path";

export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: Record<string, unknown>;
}

export function commonLabels(environment: string): Record<string, string> {
    return { [PART_OF_LABEL]: PART_OF_VALUE, "platform-secrets.io/environment": environment };
}

export function clusterSecretStoreManifest(vault: VaultSettings, store: StoreSettings, labels: Record<string, string>): Manifest {
    let auth: Record<string, unknown>;
    switch (vault.auth.method) {
        case "kubernetes":
            auth = {
                kubernetes: {
                    mountPath: vault.auth.mountPath,
                    role: vault.auth.role,
                    ...(vault.auth.serviceAccount ? { serviceAccountRef: { name: vault.auth.serviceAccount.name, namespace: vault.auth.serviceAccount.namespace } } : {}),
                },
            };
            break;
        case "token":
            auth = { tokenSecretRef: { name: vault.auth.secretName, namespace: vault.auth.secretNamespace, key: vault.auth.secretKey } };
            break;
        default: {
            const never: never = vault.auth;
            throw new Error(`unknown auth ${JSON.stringify(never)}`);
        }
    }
    const conditions: Record<string, unknown>[] = [];
    if (store.allowedNamespaces.length > 0 || store.allowedNamespaceRegexes.length > 0) {
        conditions.push({
            ...(store.allowedNamespaces.length ? { namespaces: [...store.allowedNamespaces] } : {}),
            ...(store.allowedNamespaceRegexes.length ? { namespaceRegexes: [...store.allowedNamespaceRegexes] } : {}),
        });
    }
    for (const l of store.allowedNamespaceLabels) conditions.push({ namespaceSelector: { matchLabels: { [l.key]: l.value } } });
    return {
        apiVersion: ESO_API_VERSION,
        kind: "ClusterSecretStore",
        metadata: { name: store.name, labels },
        spec: {
            provider: { vault: { server: vault.address, path: vault.kvMount, version: "v2", auth } },
            ...(conditions.length ? { conditions } : {}),
        },
    };
}

export interface RemoteData {
    secretKey: string;
    /** Path inside the KV mount. */
    key: string;
    property: string;
}

export interface ExternalSecretSpecInput {
    storeName: string;
    refreshPolicy: RefreshPolicy;
    /** Used only with Periodic. */
    refreshInterval: string;
    targetName: string;
    /** Secret type; default Opaque. */
    secretType?: string;
    targetLabels?: Record<string, string>;
    targetAnnotations?: Record<string, string>;
    /** Go templates (ESO engine v2) producing the Secret's data; absent = the fetched data as-is. */
    templateData?: Record<string, string>;
    data?: RemoteData[];
    /** Generator source instead of the store. */
    generatorRef?: { apiVersion: string; kind: string; name: string };
}

export function externalSecretSpec(i: ExternalSecretSpecInput): Record<string, unknown> {
    const template: Record<string, unknown> = {
        type: i.secretType ?? "Opaque",
        engineVersion: "v2",
        metadata: { labels: { ...(i.targetLabels ?? {}) }, annotations: { ...(i.targetAnnotations ?? {}) } },
    };
    if (i.templateData) template.data = { ...i.templateData };
    return {
        refreshPolicy: i.refreshPolicy,
        ...(i.refreshPolicy === "Periodic" ? { refreshInterval: i.refreshInterval } : {}),
        ...(i.generatorRef ? {} : { secretStoreRef: { kind: "ClusterSecretStore", name: i.storeName } }),
        // creationPolicy Owner: the Secret carries an owner reference to its ExternalSecret, so deleting the
        // ExternalSecret (`pulumi destroy`, a removed config entry) lets the garbage collector remove the Secret.
        // deletionPolicy Retain does NOT change that: it only governs what ESO does when the provider returns no
        // data (the Vault path emptied or deleted): the Secret is kept as it is, so consumers keep their last value
        // instead of losing the Secret to an operator's mistake in Vault (verified against the real controller,
        // test/integration/eso).
        target: { name: i.targetName, creationPolicy: "Owner", deletionPolicy: "Retain", template },
        ...(i.data ? { data: i.data.map((d) => ({ secretKey: d.secretKey, remoteRef: { key: d.key, property: d.property } })) } : {}),
        ...(i.generatorRef ? { dataFrom: [{ sourceRef: { generatorRef: { ...i.generatorRef } } }] } : {}),
    };
}

export function externalSecretManifest(name: string, namespace: string, labels: Record<string, string>, annotations: Record<string, string>, spec: ExternalSecretSpecInput): Manifest {
    // Empty maps are left out: the kubernetes provider drops `annotations: {}` from the live object, so keeping it
    // made every no-op preview propose an update (and the drift gate could never pass).
    const metadata = { name, namespace, ...(Object.keys(labels).length ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) };
    return { apiVersion: ESO_API_VERSION, kind: "ExternalSecret", metadata, spec: externalSecretSpec(spec) };
}

export function clusterExternalSecretManifest(name: string, selectors: LabelSelector[], labels: Record<string, string>, spec: ExternalSecretSpecInput): Manifest {
    return {
        apiVersion: ESO_API_VERSION,
        kind: "ClusterExternalSecret",
        metadata: { name, labels },
        spec: {
            externalSecretName: name,
            externalSecretMetadata: { labels: { ...labels } },
            // How often ESO re-evaluates which namespaces carry the labels: new namespaces get the secret within it.
            refreshTime: "1m",
            namespaceSelectors: selectors.map((s) => JSON.parse(JSON.stringify(s)) as LabelSelector),
            externalSecretSpec: externalSecretSpec(spec),
        },
    };
}

/** Literal text inside a Go template: every "{{" becomes an action printing "{{". */
export function goTemplateLiteral(text: string): string {
    return text.replace(/\{\{/g, '{{ "{{" }}');
}

/**
 * Go-template guards that refuse what derive's SourceReader.text(key, true, true) refuses (derive/source.ts): an
 * empty or whitespace-only value, a value ending with a newline. `fail` stops the render: ESO reports the message on
 * the ExternalSecret and leaves the Secret as it was, as the reconciler leaves a derived secret (seed 003). The
 * messages are derive's, and never contain the value. A missing key already fails (ESO renders with missingkey=error).
 */
export function credentialGuards(format: string, keys: readonly string[]): string {
    return keys
        .map((k) => `{{- if eq (trim .${k}) "" }}{{ fail "${format}: key \\"${k}\\": the value is empty; set a non-empty \\"${k}\\"" }}{{ end -}}` + `{{- if or (hasSuffix "\\n" .${k}) (hasSuffix "\\r" .${k}) }}{{ fail "${format}: key \\"${k}\\": the value ends with a newline; re-create the value without the trailing newline" }}{{ end -}}`)
        .join("");
}

/**
 * `.dockerconfigjson` template: sprig's toJson (Go's encoding/json) quotes and escapes credentials with any
 * character in them, and the registry key is written with the same escaping (derive's goJson), so ESO's output is
 * byte-for-byte derive/formats/docker.ts dockerConfigJson for the same input, and it refuses what derive refuses
 * (credentialGuards, and a ':' in the user name): test/integration/eso/fanout.test.ts.
 */
export function dockerConfigTemplate(server: string): Record<string, string> {
    const guards =
        credentialGuards("docker", ["username", "password"]) +
        `{{- if contains ":" .username }}{{ fail "docker: key \\"username\\": the user name contains ':'; docker splits user:password on the first ':'; use a user name without ':'" }}{{ end -}}`;
    const auths = `${guards}{"auths":{${goTemplateLiteral(goJson(server))}:{"username":{{ .username | toJson }},"password":{{ .password | toJson }},"auth":{{ printf "%s:%s" .username .password | b64enc | toJson }}}}}`;
    return { ".dockerconfigjson": auths };
}

/** Kargo image credential (seed 003): an Opaque secret labelled cred-type=image with repoURL/username/password. */
export function kargoImageTemplate(repoURL: string, isRegex: boolean): { labels: Record<string, string>; data: Record<string, string> } {
    return {
        labels: { [KARGO_CRED_TYPE_LABEL]: "image" },
        data: {
            // Literal text in a Go template: escape any "{{" a regular expression might contain.
            repoURL: goTemplateLiteral(repoURL),
            ...(isRegex ? { repoURLIsRegex: "true" } : {}),
            username: `${credentialGuards("kargo", ["username"])}{{ .username }}`,
            password: `${credentialGuards("kargo", ["password"])}{{ .password }}`,
        },
    };
}
