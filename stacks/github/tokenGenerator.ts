import { DEFAULT_TOKEN_GENERATOR_IMAGE } from "../config/schema";

/**
 * Pod fragment for the GitHub App token generator (seed 001). The env contract is shared with tokengen/: keep these
 * names. The private key is mounted as a file (never an env var: env leaks into `kubectl describe` and crash dumps).
 */
export const TOKEN_DIR = "/var/run/github";
export const TOKEN_PATH = `${TOKEN_DIR}/token`;
export const APP_KEY_DIR = "/var/run/github-app";
export const PRIVATE_KEY_FILE = `${APP_KEY_DIR}/private-key.pem`;
/** Non-root uid/gid the generator runs as; fsGroup lets it read the 0400 key file kubelet writes. */
export const TOKEN_GENERATOR_UID = 65532;

export interface TokenGeneratorApp {
    /** App name (rex, clippy, ...); used in container and volume names. */
    name: string;
    /** Secret holding appId, privateKey and optionally installationId; default `github-app-<name>`. */
    secretName?: string;
}

export interface TokenGeneratorOptions {
    /** Default ghcr.io/platform-secrets/github-token-generator:0.1.0. */
    image?: string;
    /** Add a refresh sidecar (args ["sidecar"]) for pods that outlive the 1h token; default false. */
    sidecar?: boolean;
    /** Default https://api.github.com. */
    githubApiUrl?: string;
    /** GITHUB_OWNER (installation lookup when no installationId); default unset. */
    owner?: string;
    /** GITHUB_REPOSITORY; default unset. */
    repository?: string;
    /** Name of the shared emptyDir; default "github-token". */
    tokenVolumeName?: string;
}

export interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef: { name: string; key: string; optional?: boolean } };
}

export interface Container {
    name: string;
    image: string;
    args: string[];
    env: EnvVar[];
    volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    securityContext: Record<string, unknown>;
    resources: Record<string, unknown>;
}

export interface TokenGeneratorFragment {
    initContainers: Container[];
    /** The refresh sidecar, when requested; append to the pod's containers. */
    containers: Container[];
    volumes: Record<string, unknown>[];
    /** Mount for the workload containers (read-only): the token is at GITHUB_TOKEN_FILE. */
    volumeMounts: { name: string; mountPath: string; readOnly: boolean }[];
    /** Env for the workload containers. */
    env: EnvVar[];
    /** Merge into the pod's securityContext. */
    podSecurityContext: Record<string, unknown>;
}

/** initContainer (+ optional refresh sidecar) + shared in-memory volume that hand a workload its installation token. */
export function tokenGeneratorFragment(app: TokenGeneratorApp, opts: TokenGeneratorOptions = {}): TokenGeneratorFragment {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(app.name)) throw new Error(`tokenGeneratorFragment: app name "${app.name}" is not a DNS label; use lower-case letters, digits and '-'`);
    const secretName = app.secretName ?? `github-app-${app.name}`;
    const tokenVolume = opts.tokenVolumeName ?? "github-token";
    const keyVolume = `${tokenVolume}-app-key`;
    const env: EnvVar[] = [
        { name: "APP_ID", valueFrom: { secretKeyRef: { name: secretName, key: "appId" } } },
        // Optional: without it the generator looks the installation up from GITHUB_OWNER/GITHUB_REPOSITORY.
        { name: "INSTALLATION_ID", valueFrom: { secretKeyRef: { name: secretName, key: "installationId", optional: true } } },
        { name: "PRIVATE_KEY_FILE", value: PRIVATE_KEY_FILE },
        { name: "OUTPUT_PATH", value: TOKEN_PATH },
        { name: "GITHUB_API_URL", value: opts.githubApiUrl ?? "https://api.github.com" },
        ...(opts.owner ? [{ name: "GITHUB_OWNER", value: opts.owner }] : []),
        ...(opts.repository ? [{ name: "GITHUB_REPOSITORY", value: opts.repository }] : []),
    ];
    const container = (name: string, args: string[]): Container => ({
        name,
        image: opts.image ?? DEFAULT_TOKEN_GENERATOR_IMAGE,
        args,
        env: env.map((e) => JSON.parse(JSON.stringify(e)) as EnvVar),
        volumeMounts: [
            { name: tokenVolume, mountPath: TOKEN_DIR },
            { name: keyVolume, mountPath: APP_KEY_DIR, readOnly: true },
        ],
        securityContext: {
            runAsNonRoot: true,
            runAsUser: TOKEN_GENERATOR_UID,
            runAsGroup: TOKEN_GENERATOR_UID,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
    });
    return {
        initContainers: [container(`${app.name}-token-init`, ["once"])],
        containers: opts.sidecar ? [container(`${app.name}-token-refresh`, ["sidecar"])] : [],
        volumes: [
            { name: tokenVolume, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
            { name: keyVolume, secret: { secretName, items: [{ key: "privateKey", path: "private-key.pem" }], defaultMode: 0o400 } },
        ],
        volumeMounts: [{ name: tokenVolume, mountPath: TOKEN_DIR, readOnly: true }],
        env: [{ name: "GITHUB_TOKEN_FILE", value: TOKEN_PATH }],
        podSecurityContext: { fsGroup: TOKEN_GENERATOR_UID },
    };
}
