/**
 * Git / registry URL parsing. Pure; throws UrlProblem (a description without the URL, which may hold
 * credentials) that callers turn into a DerivationError naming their object and key.
 */
export class UrlProblem extends Error {
    constructor(readonly problem: string, readonly code: "invalid-url" | "credentials-in-url" = "invalid-url") {
        super(problem);
    }
}

export type GitTransport = "http" | "ssh";

export interface GitHost {
    transport: GitTransport;
    /** What Tekton wants in `tekton.dev/git-N`: `<scheme>://<host[:port]>` for http(s), `<host[:port]>` for ssh. */
    annotation: string;
    /** Normalized URL naming only the host; parsing it again yields the same GitHost (idempotence). */
    canonicalUrl: string;
    /** Whether the input carried userinfo (a user name or password); the outputs above never do. */
    hadCredentials: boolean;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
// scp-like syntax: [user@]host:path — no scheme, and the path must not start with "//".
const SCP = /^(?:([^@/:\s]+)@)?([a-zA-Z0-9._-]+|\[[0-9a-fA-F:.]+\]):(?!\/\/)(.*)$/;
const HOSTNAME = /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$|^\[[0-9a-f:.]+\]$/;
const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f]/;

function checkHostname(hostname: string): string {
    const h = hostname.toLowerCase();
    if (h === "" || !HOSTNAME.test(h)) throw new UrlProblem("the URL has no valid host name");
    return h;
}

function checkPort(port: string): string {
    if (port === "") return "";
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new UrlProblem("the URL has an invalid port");
    return port;
}

/** Extracts the host of a git URL: https://github.com/org/repo → https://github.com; git@github.com:o/r → github.com. */
export function parseGitHost(url: string): GitHost {
    if (typeof url !== "string" || url === "") throw new UrlProblem("the URL is empty");
    if (CONTROL_OR_SPACE.test(url)) throw new UrlProblem("the URL contains whitespace or control characters");
    const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
    if (scheme === undefined) {
        const m = SCP.exec(url);
        if (!m) throw new UrlProblem("not a git URL (expected https://host/path, ssh://[user@]host[:port]/path or user@host:path)");
        const host = checkHostname(m[2]);
        return { transport: "ssh", annotation: host, canonicalUrl: `ssh://${host}`, hadCredentials: m[1] !== undefined };
    }
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new UrlProblem("the URL cannot be parsed");
    }
    const hadCredentials = u.username !== "" || u.password !== "";
    switch (scheme) {
        case "http":
        case "https": {
            const host = checkHostname(u.hostname);
            const port = checkPort(u.port); // WHATWG URL already drops the scheme's default port
            const hostPort = port ? `${host}:${port}` : host;
            return { transport: "http", annotation: `${scheme}://${hostPort}`, canonicalUrl: `${scheme}://${hostPort}`, hadCredentials };
        }
        case "ssh":
        case "git+ssh":
        case "ssh+git": {
            const host = checkHostname(u.hostname);
            const port = checkPort(u.port);
            // Tekton writes "Host <host>\n Port <port>" from `host:port`; port 22 is the default and is dropped.
            const hostPort = port && port !== "22" ? `${host}:${port}` : host;
            return { transport: "ssh", annotation: hostPort, canonicalUrl: `ssh://${hostPort}`, hadCredentials };
        }
        default:
            throw new UrlProblem(`scheme "${scheme}" is not supported for git credentials (use https or ssh)`);
    }
}

/**
 * Validates a repository URL that is copied into derived data (Argo CD `url`, Kargo `repoURL`). Credentials are
 * rejected, not stripped: these URLs are shown in plain text by Argo CD and Kargo UIs.
 */
export function checkRepoUrl(url: string, allowed: readonly ("http" | "ssh" | "oci" | "image")[]): "http" | "ssh" | "oci" | "image" {
    if (typeof url !== "string" || url === "") throw new UrlProblem("the URL is empty");
    if (CONTROL_OR_SPACE.test(url)) throw new UrlProblem("the URL contains whitespace or control characters");
    const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
    let kind: "http" | "ssh" | "oci" | "image";
    if (scheme === "oci") {
        kind = "oci";
        parseRegistryLike(url.slice("oci://".length));
    } else if (scheme === undefined && !SCP.test(url)) {
        kind = "image";
        parseRegistryLike(url);
    } else {
        const h = parseGitHost(url);
        kind = h.transport;
        if (h.hadCredentials) {
            let u: URL | undefined;
            try {
                u = new URL(url);
            } catch {
                u = undefined;
            }
            // "git@host" / "ssh://git@host" is a login name, not a credential; any password, or a user on http(s), is.
            const isLoginOnly = h.transport === "ssh" && (u === undefined || u.password === "");
            if (!isLoginOnly) throw new UrlProblem("the URL embeds credentials", "credentials-in-url");
        }
    }
    if (!allowed.includes(kind)) throw new UrlProblem(`a ${kind} URL is not accepted here (expected ${allowed.join(" or ")})`);
    return kind;
}

/** host[:port][/path] (a registry or image reference without tag), or an http(s) URL of one. Returns host[:port]. */
export function parseRegistryLike(ref: string): string {
    if (typeof ref !== "string" || ref === "") throw new UrlProblem("the registry is empty");
    if (CONTROL_OR_SPACE.test(ref)) throw new UrlProblem("the registry contains whitespace or control characters");
    let rest = ref;
    const scheme = SCHEME.exec(ref)?.[1]?.toLowerCase();
    if (scheme !== undefined) {
        if (scheme !== "http" && scheme !== "https") throw new UrlProblem(`scheme "${scheme}" is not valid for a registry`);
        rest = ref.slice(scheme.length + 3);
    }
    const slash = rest.indexOf("/");
    const authority = slash < 0 ? rest : rest.slice(0, slash);
    const path = slash < 0 ? "" : rest.slice(slash);
    if (authority.includes("@")) throw new UrlProblem("the registry embeds credentials", "credentials-in-url");
    const m = /^([^:]+|\[[0-9a-fA-F:.]+\])(?::(\d+))?$/.exec(authority);
    if (!m) throw new UrlProblem("the registry has no valid host");
    const host = checkHostname(m[1]);
    const port = checkPort(m[2] ?? "");
    if (path !== "" && !/^(?:\/[A-Za-z0-9._~-]*)+$/.test(path)) throw new UrlProblem("the registry path is invalid");
    return port ? `${host}:${port}` : host;
}
