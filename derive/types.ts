/** The wire shape of a Kubernetes Secret as far as derivation cares (data values are base64). */
export interface SecretLike {
    metadata: {
        namespace?: string;
        name?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        resourceVersion?: string;
        uid?: string;
    };
    type?: string;
    data?: Record<string, string>;
}

export interface SecretRef {
    namespace: string;
    name: string;
}

/** What deriveSecret returns: a complete secret to write, carrying only the labels/annotations we own. */
export interface DesiredSecret {
    metadata: {
        namespace: string;
        name: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
    };
    type: string;
    data: Record<string, string>;
}

export type Format = "tekton-git" | "docker" | "kargo" | "argocd" | "mirror";
export const FORMATS: readonly Format[] = ["tekton-git", "docker", "kargo", "argocd", "mirror"];

export interface TektonGitOptions {
    /**
     * Git URLs (or bare hosts) the credential is for; one `tekton.dev/git-N` annotation per distinct host, in
     * order. https/http URLs need a basic-auth source, ssh/scp-like URLs an ssh-auth source.
     */
    gitUrls: string[];
}

export interface DockerOptions {
    /** Registry key in `auths`: host[:port][/path] or an http(s) URL, e.g. "ghcr.io". */
    registry: string;
    /** Also write `tekton.dev/docker-0: https://<registry>`; default false. */
    tektonAnnotation?: boolean;
}

export type KargoCredType = "git" | "image" | "helm";
export interface KargoOptions {
    credType: KargoCredType;
    /** Repository URL (or a regular expression when repoURLIsRegex). */
    repoURL: string;
    /** default false */
    repoURLIsRegex?: boolean;
}

export type ArgoCdSecretType = "repository" | "repo-creds";
export interface ArgoCdOptions {
    secretType: ArgoCdSecretType;
    /** Repository URL (repository) or URL prefix (repo-creds). */
    url: string;
    /** Argo CD repository type; default "git". */
    type?: "git" | "helm";
    /** Display name (repository only). */
    name?: string;
    /** Argo CD project scoping the repository. */
    project?: string;
    /** GitHub Enterprise API base URL, for GitHub App credentials only. */
    githubAppEnterpriseBaseUrl?: string;
}

/** Mirror copies type and data verbatim; it has no options. */
export type MirrorOptions = Record<string, never>;

interface RecipeBase {
    source: SecretRef;
    target: SecretRef;
}
export interface TektonGitRecipe extends RecipeBase { format: "tekton-git"; options: TektonGitOptions }
export interface DockerRecipe extends RecipeBase { format: "docker"; options: DockerOptions }
export interface KargoRecipe extends RecipeBase { format: "kargo"; options: KargoOptions }
export interface ArgoCdRecipe extends RecipeBase { format: "argocd"; options: ArgoCdOptions }
export interface MirrorRecipe extends RecipeBase { format: "mirror"; options?: MirrorOptions }

/** How one derived secret is made from one source secret. */
export type Recipe = TektonGitRecipe | DockerRecipe | KargoRecipe | ArgoCdRecipe | MirrorRecipe;

/** A format's pure output before the common metadata is stamped on. */
export interface FormatOutput {
    type: string;
    data: Record<string, string>;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    /** Source keys the output depends on; only these enter the source hash. */
    consumedKeys: string[];
}
