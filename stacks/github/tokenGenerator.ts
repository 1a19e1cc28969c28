import { isDnsLabel } from "../../derive";
import { DEFAULT_TOKEN_GENERATOR_IMAGE } from "../config/schema";

/**
 * Pod fragment for the GitHub App token generator (seed 001). The env contract is shared with tokengen/: keep these
 * names. The private key is mounted as a file (never an env var: env leaks into `kubectl describe` and crash dumps).
 */
export const TOKEN_DIR = "/var/run/github";
export const TOKEN_PATH = `${TOKEN_DIR}/token`;
export const APP_KEY_DIR = "/var/run/github-app";
export const PRIVATE_KEY_FILE = `${APP_KEY_DIR}/private-key.pem`;
/** Non-root uid/gid the generator runs as by default (the image's USER). */
export const TOKEN_GENERATOR_UID = 65532;
/**
 * Mode tokengen writes the token with (OUTPUT_MODE). Why 0640 and not "everyone one uid": the workload image
 * decides its own uid (a runner image is often 1001), and forcing the pod's runAsUser onto it breaks images whose
 * home or cache belong to their uid. Kubernetes adds the pod's fsGroup to EVERY container's groups, and the fragment
 * sets fsGroup to the generator's gid, so the file's group (the generator's gid) is a group every container of this
 * pod is in: the workload reads the token whatever its uid. Nothing outside the pod reaches the in-memory emptyDir,
 * and "other" still gets nothing. (tokengen accepts only 0600 and 0640.)
 */
export const TOKEN_FILE_MODE = "0640";

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
    /** GITHUB_REPOSITORIES: the token is limited to these repositories of the installation; default all of them. */
    repositories?: string[];
    /** Name of the shared emptyDir; default "github-token". */
    tokenVolumeName?: string;
    /** uid of the generator containers; default 65532 (the image's user). */
    runAsUser?: number;
    /** gid of the generator containers and the pod's fsGroup (the group that reads the token); default 65532. */
    runAsGroup?: number;
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
    /** Merge into the pod's securityContext (keep fsGroup: it is how the workload reads the token). */
    podSecurityContext: Record<string, unknown>;
}

/** initContainer (+ optional refresh sidecar) + shared in-memory volume that hand a workload its installation token. */
export function tokenGeneratorFragment(app: TokenGeneratorApp, opts: TokenGeneratorOptions = {}): TokenGeneratorFragment {
    if (!isDnsLabel(app.name)) throw new Error(`tokenGeneratorFragment: app name "${app.name}" is not a DNS label; use lower-case letters, digits and '-'`);
    const secretName = app.secretName ?? `github-app-${app.name}`;
    const uid = opts.runAsUser ?? TOKEN_GENERATOR_UID;
    const gid = opts.runAsGroup ?? TOKEN_GENERATOR_UID;
    for (const [k, v] of [["runAsUser", uid], ["runAsGroup", gid]] as const) {
        // 0 would be root, which runAsNonRoot refuses (runAsGroup 0 would make the token readable by group root).
        if (!Number.isInteger(v) || v < 1 || v > 2147483647) throw new Error(`tokenGeneratorFragment: ${k} ${v} is not a non-root id; use a whole number from 1 (default ${TOKEN_GENERATOR_UID})`);
    }
    const repositories = opts.repositories ?? [];
    if (repositories.some((r) => !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/.test(r))) throw new Error(`tokenGeneratorFragment: repositories must be repository names (or owner/name); fix the list`);
    const tokenVolume = opts.tokenVolumeName ?? "github-token";
    const keyVolume = `${tokenVolume}-app-key`;
    const env: EnvVar[] = [
        { name: "APP_ID", valueFrom: { secretKeyRef: { name: secretName, key: "appId" } } },
        // Optional: without it the generator looks the installation up from GITHUB_OWNER/GITHUB_REPOSITORY.
        { name: "INSTALLATION_ID", valueFrom: { secretKeyRef: { name: secretName, key: "installationId", optional: true } } },
        { name: "PRIVATE_KEY_FILE", value: PRIVATE_KEY_FILE },
        { name: "OUTPUT_PATH", value: TOKEN_PATH },
        { name: "OUTPUT_MODE", value: TOKEN_FILE_MODE },
        { name: "GITHUB_API_URL", value: opts.githubApiUrl ?? "https://api.github.com" },
        ...(opts.owner ? [{ name: "GITHUB_OWNER", value: opts.owner }] : []),
        ...(opts.repository ? [{ name: "GITHUB_REPOSITORY", value: opts.repository }] : []),
        ...(repositories.length ? [{ name: "GITHUB_REPOSITORIES", value: repositories.join(",") }] : []),
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
            runAsUser: uid,
            runAsGroup: gid,
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
        // fsGroup = the generator's gid: the key volume (0400) becomes group-readable to it, and every container of
        // the pod (the workload too, whatever its uid) gets this group, which reads the 0640 token (TOKEN_FILE_MODE).
        podSecurityContext: { fsGroup: gid },
    };
}
