import { ConfigError } from "./errors";

export type Mode = "once" | "sidecar";

export const DEFAULT_OUTPUT_PATH = "/var/run/github/token";
export const DEFAULT_API_URL = "https://api.github.com";
export const DEFAULT_OUTPUT_MODE = 0o600;
export const DEFAULT_REFRESH_BEFORE_SECONDS = 900;
/** Installation tokens live 60 minutes; refreshing earlier than that would never reuse a token. */
export const TOKEN_LIFETIME_SECONDS = 3600;
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export const PERMISSION_LEVELS = ["read", "write", "admin"] as const;

export type Env = Readonly<Record<string, string | undefined>>;

export interface Config {
    appId: string;
    /** PEM text of the key; parsed by `loadPrivateKey`, never logged. */
    privateKeyPem: string;
    /** Which variable the key came from, so a malformed-key error names it. */
    privateKeySource: "PRIVATE_KEY" | "PRIVATE_KEY_FILE";
    installationId?: number;
    outputPath: string;
    expiresPath: string;
    /** Mode of the token and expiry files: 0o600 (default) or 0o640 (OUTPUT_MODE, for a reader with another uid). */
    outputMode: number;
    apiUrl: string;
    owner?: string;
    /** Repository name (no owner) from GITHUB_REPOSITORY; used for discovery. */
    repository?: string;
    /** Repository names the token is scoped to (GITHUB_REPOSITORIES, else GITHUB_REPOSITORY). */
    repositories?: string[];
    permissions?: Record<string, string>;
    refreshBeforeSeconds: number;
    logLevel: string;
}

export function parseMode(argv: readonly string[]): Mode {
    const mode = argv[0] ?? "once";
    if (mode === "once" || mode === "sidecar") return mode;
    throw new ConfigError("mode", `unknown mode ${JSON.stringify(mode)}`, "pass `once` (init container) or `sidecar` as the first argument");
}

function opt(env: Env, name: string): string | undefined {
    const v = env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === "" ? undefined : t;
}

const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const REPO_RE = /^[A-Za-z0-9._-]+$/;

/**
 * Env and mounted files → validated Config. `readFile` is injected so tests need no files and so a missing
 * PRIVATE_KEY_FILE becomes a ConfigError naming the variable.
 */
export function parseConfig(env: Env, readFile: (path: string) => string): Config {
    const appId = opt(env, "APP_ID");
    if (!appId) throw new ConfigError("APP_ID", "is not set", "set APP_ID to the numeric GitHub App ID (or its client ID) from the App's settings page");
    if (!/^(\d{1,18}|Iv[0-9A-Za-z.]{2,64})$/.test(appId)) {
        throw new ConfigError("APP_ID", `${JSON.stringify(appId.slice(0, 40))} is neither a numeric App ID nor a client ID (Iv...)`, "copy the App ID from the GitHub App's settings page");
    }

    const { pem, source } = readKey(env, readFile);

    const installationRaw = opt(env, "INSTALLATION_ID");
    let installationId: number | undefined;
    if (installationRaw !== undefined) {
        if (!/^\d{1,18}$/.test(installationRaw) || Number(installationRaw) <= 0 || !Number.isSafeInteger(Number(installationRaw))) {
            throw new ConfigError("INSTALLATION_ID", `${JSON.stringify(installationRaw.slice(0, 40))} is not a positive integer`, "set it to the number at the end of the installation's settings URL, or unset it to auto-discover");
        }
        installationId = Number(installationRaw);
    }

    const outputPath = opt(env, "OUTPUT_PATH") ?? DEFAULT_OUTPUT_PATH;
    if (outputPath.endsWith("/")) throw new ConfigError("OUTPUT_PATH", `${JSON.stringify(outputPath)} names a directory`, "set it to a file path such as /var/run/github/token");

    const outputMode = parseOutputMode(opt(env, "OUTPUT_MODE"));

    const apiUrl = parseApiUrl(opt(env, "GITHUB_API_URL") ?? DEFAULT_API_URL);
    const { owner, repository } = parseOwnerRepo(opt(env, "GITHUB_OWNER"), opt(env, "GITHUB_REPOSITORY"));
    const repositories = parseRepositories(opt(env, "GITHUB_REPOSITORIES"), owner) ?? (repository ? [repository] : undefined);
    const permissions = parsePermissions(opt(env, "GITHUB_PERMISSIONS"));

    const refreshRaw = opt(env, "REFRESH_BEFORE_SECONDS");
    let refreshBeforeSeconds = DEFAULT_REFRESH_BEFORE_SECONDS;
    if (refreshRaw !== undefined) {
        const n = Number(refreshRaw);
        if (!/^\d+$/.test(refreshRaw) || n < 1 || n >= TOKEN_LIFETIME_SECONDS) {
            throw new ConfigError("REFRESH_BEFORE_SECONDS", `${JSON.stringify(refreshRaw.slice(0, 40))} is not an integer between 1 and ${TOKEN_LIFETIME_SECONDS - 1}`, "use e.g. 900 to refresh 15 minutes before the 60-minute expiry");
        }
        refreshBeforeSeconds = n;
    }

    const logLevel = opt(env, "LOG_LEVEL") ?? "info";
    if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
        throw new ConfigError("LOG_LEVEL", `${JSON.stringify(logLevel.slice(0, 40))} is not a log level`, `use one of ${LOG_LEVELS.join(", ")}`);
    }

    return {
        appId,
        privateKeyPem: pem,
        privateKeySource: source,
        installationId,
        outputPath,
        expiresPath: `${outputPath}.expires_at`,
        outputMode,
        apiUrl,
        owner,
        repository,
        repositories,
        permissions,
        refreshBeforeSeconds,
        logLevel,
    };
}

function readKey(env: Env, readFile: (path: string) => string): { pem: string; source: "PRIVATE_KEY" | "PRIVATE_KEY_FILE" } {
    const inline = env.PRIVATE_KEY !== undefined && env.PRIVATE_KEY.trim() !== "" ? env.PRIVATE_KEY : undefined;
    const file = opt(env, "PRIVATE_KEY_FILE");
    if (inline !== undefined && file !== undefined) {
        throw new ConfigError("PRIVATE_KEY", "both PRIVATE_KEY and PRIVATE_KEY_FILE are set", "set exactly one of them");
    }
    if (inline !== undefined) return { pem: normalisePem(inline), source: "PRIVATE_KEY" };
    if (file !== undefined) {
        let text: string;
        try {
            text = readFile(file);
        } catch (e) {
            const code = (e as NodeJS.ErrnoException).code ?? "read error";
            throw new ConfigError("PRIVATE_KEY_FILE", `cannot read ${JSON.stringify(file)} (${code})`, "mount the GitHub App secret's privateKey at that path and make it readable by the container user");
        }
        return { pem: normalisePem(text), source: "PRIVATE_KEY_FILE" };
    }
    throw new ConfigError("PRIVATE_KEY", "neither PRIVATE_KEY nor PRIVATE_KEY_FILE is set", "pass the App's .pem in PRIVATE_KEY (secretKeyRef) or mount it and set PRIVATE_KEY_FILE");
}

/** Keys pasted through CI variables often arrive with literal `\n` and CRLF; PEM parsing needs real newlines. */
export function normalisePem(text: string): string {
    let t = text.replace(/\r\n/g, "\n").trim();
    if (!t.includes("\n") && t.includes("\\n")) t = t.replace(/\\n/g, "\n");
    return `${t}\n`;
}

/**
 * OUTPUT_MODE: 0600 (owner only, the default) or 0640 (also the file's group). Only these two: the token must never
 * be world-readable. 0640 is for a pod whose workload runs as another uid: Kubernetes adds the pod's fsGroup to every
 * container's groups, so with fsGroup equal to this container's gid the workload reads the file through the group.
 */
export function parseOutputMode(raw: string | undefined): number {
    if (raw === undefined) return DEFAULT_OUTPUT_MODE;
    const m = /^0?(600|640)$/.exec(raw);
    if (!m) throw new ConfigError("OUTPUT_MODE", `${JSON.stringify(raw.slice(0, 20))} is not an accepted file mode`, "use 0600 (only this container's uid reads the token) or 0640 (also the group: set the pod's fsGroup to this container's gid)");
    return parseInt(m[1]!, 8);
}

export function parseApiUrl(raw: string): string {
    let u: URL;
    try {
        u = new URL(raw);
    } catch {
        throw new ConfigError("GITHUB_API_URL", `${JSON.stringify(raw.slice(0, 200))} is not a URL`, "use https://api.github.com or https://<host>/api/v3 for GitHub Enterprise Server");
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") {
        throw new ConfigError("GITHUB_API_URL", `scheme ${u.protocol} is not http(s)`, "use https://api.github.com or https://<host>/api/v3");
    }
    if (u.username || u.password || u.search || u.hash) {
        throw new ConfigError("GITHUB_API_URL", "must not carry credentials, a query or a fragment", "use the bare API base URL, e.g. https://ghe.example.com/api/v3");
    }
    // Path prefixes (GHES /api/v3) are kept; a trailing slash would double up when joining paths.
    return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

export function parseOwnerRepo(ownerRaw: string | undefined, repoRaw: string | undefined): { owner?: string; repository?: string } {
    let owner = ownerRaw;
    let repository: string | undefined;
    if (owner !== undefined && !NAME_RE.test(owner)) {
        throw new ConfigError("GITHUB_OWNER", `${JSON.stringify(owner.slice(0, 60))} is not a GitHub user or organisation name`, "set it to the account login, e.g. my-org");
    }
    if (repoRaw !== undefined) {
        const parts = repoRaw.split("/");
        if (parts.length === 2) {
            const [o, r] = parts as [string, string];
            if (!NAME_RE.test(o) || !REPO_RE.test(r)) {
                throw new ConfigError("GITHUB_REPOSITORY", `${JSON.stringify(repoRaw.slice(0, 120))} is not owner/repo`, "use the form my-org/my-repo");
            }
            if (owner !== undefined && owner.toLowerCase() !== o.toLowerCase()) {
                throw new ConfigError("GITHUB_REPOSITORY", `owner ${JSON.stringify(o)} differs from GITHUB_OWNER ${JSON.stringify(owner)}`, "make them agree or drop GITHUB_OWNER");
            }
            owner = owner ?? o;
            repository = r;
        } else if (parts.length === 1 && REPO_RE.test(repoRaw)) {
            if (owner === undefined) {
                throw new ConfigError("GITHUB_REPOSITORY", `${JSON.stringify(repoRaw.slice(0, 120))} has no owner`, "use owner/repo or also set GITHUB_OWNER");
            }
            repository = repoRaw;
        } else {
            throw new ConfigError("GITHUB_REPOSITORY", `${JSON.stringify(repoRaw.slice(0, 120))} is not owner/repo`, "use the form my-org/my-repo");
        }
    }
    return { owner, repository };
}

/** GitHub's access_tokens endpoint takes bare repository names; `owner/` prefixes are accepted when they match. */
export function parseRepositories(raw: string | undefined, owner: string | undefined): string[] | undefined {
    if (raw === undefined) return undefined;
    const names: string[] = [];
    for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
        const parts = item.split("/");
        let name: string;
        if (parts.length === 2) {
            const [o, r] = parts as [string, string];
            if (owner === undefined || owner.toLowerCase() !== o.toLowerCase()) {
                throw new ConfigError("GITHUB_REPOSITORIES", `${JSON.stringify(item.slice(0, 120))} names an owner other than GITHUB_OWNER/GITHUB_REPOSITORY's`, "an installation token covers one account: list bare repository names of that account");
            }
            name = r;
        } else {
            name = item;
        }
        if (!REPO_RE.test(name)) {
            throw new ConfigError("GITHUB_REPOSITORIES", `${JSON.stringify(item.slice(0, 120))} is not a repository name`, "use a comma-separated list such as repo-a,repo-b");
        }
        if (!names.includes(name)) names.push(name);
    }
    if (names.length === 0) throw new ConfigError("GITHUB_REPOSITORIES", "is set but lists no repository", "list names separated by commas, or unset it");
    if (names.length > 500) throw new ConfigError("GITHUB_REPOSITORIES", `lists ${names.length} repositories; GitHub accepts at most 500`, "unset it to cover every repository of the installation");
    return names;
}

export function parsePermissions(raw: string | undefined): Record<string, string> | undefined {
    if (raw === undefined) return undefined;
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch {
        throw new ConfigError("GITHUB_PERMISSIONS", "is not valid JSON", 'use a JSON object such as {"contents":"read","pull_requests":"write"}');
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new ConfigError("GITHUB_PERMISSIONS", "is not a JSON object", 'use a JSON object such as {"contents":"read"}');
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
        if (!/^[a-z][a-z_]*$/.test(k)) throw new ConfigError("GITHUB_PERMISSIONS", `key ${JSON.stringify(k.slice(0, 60))} is not a permission name`, "use GitHub's snake_case names, e.g. contents, pull_requests");
        if (typeof v !== "string" || !(PERMISSION_LEVELS as readonly string[]).includes(v)) {
            throw new ConfigError("GITHUB_PERMISSIONS", `permission ${k} has level ${JSON.stringify(v)}`, `use one of ${PERMISSION_LEVELS.join(", ")}`);
        }
        out[k] = v;
    }
    if (Object.keys(out).length === 0) throw new ConfigError("GITHUB_PERMISSIONS", "is an empty object", "list at least one permission, or unset it to get the App's full permissions");
    return out;
}
