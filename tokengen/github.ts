import type { KeyObject } from "node:crypto";
import type { Logger } from "../lib/log";
import { ApiError, AuthError, scrub, TokengenError, TransientError } from "./errors";
import { signAppJwt } from "./jwt";
import { backoffDelayMs, classifyResponse, DEFAULT_RETRY, RetryPolicy } from "./retry";

export type FetchFn = typeof fetch;
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

/** What every GitHub call needs from its surroundings: injected so tests control time, network and randomness. */
export interface RuntimeDeps {
    fetch: FetchFn;
    now: () => number;
    sleep: SleepFn;
    random: () => number;
    logger: Logger;
    signal?: AbortSignal;
    retry?: RetryPolicy;
    requestTimeoutMs?: number;
}

export interface ClientDeps extends RuntimeDeps {
    apiUrl: string;
    appId: string;
    key: KeyObject;
}

export interface Installation {
    id: number;
    account?: { login?: string; type?: string };
}

export interface InstallationToken {
    token: string;
    expiresAt: Date;
}

export interface TokenRequest {
    repositories?: string[];
    permissions?: Record<string, string>;
}

/** Thrown when the abort signal fires (SIGTERM): not a failure, the caller decides the exit. */
export class InterruptedError extends TokengenError {
    readonly exitCode = 1;
    constructor() {
        super("interrupted by a termination signal");
    }
}

interface ApiResponse {
    status: number;
    body: unknown;
}

const MAX_INSTALLATION_PAGES = 20;

/**
 * The three GitHub App endpoints tokengen needs, each request signed with a fresh app JWT (a retry loop can
 * outlive one JWT) and wrapped in the retry policy. Credentials only ever travel in the Authorization header.
 */
export class GitHubAppClient {
    private readonly retry: RetryPolicy;

    constructor(private readonly deps: ClientDeps) {
        this.retry = deps.retry ?? DEFAULT_RETRY;
    }

    async getInstallation(kind: "repos" | "orgs" | "users", name: string): Promise<Installation | undefined> {
        const res = await this.request("GET", `/${kind}/${name}/installation`, undefined, true);
        if (res.status === 404) return undefined;
        return asInstallation(res.body, `GET /${kind}/${name}/installation`);
    }

    async listInstallations(): Promise<Installation[]> {
        const all: Installation[] = [];
        for (let page = 1; page <= MAX_INSTALLATION_PAGES; page++) {
            const res = await this.request("GET", `/app/installations?per_page=100&page=${page}`);
            if (!Array.isArray(res.body)) throw new ApiError("GET /app/installations returned no list", res.status);
            for (const item of res.body) all.push(asInstallation(item, "GET /app/installations"));
            if (res.body.length < 100) break;
        }
        return all;
    }

    async createToken(installationId: number, req: TokenRequest): Promise<InstallationToken> {
        const what = `POST /app/installations/${installationId}/access_tokens`;
        const body: Record<string, unknown> = {};
        if (req.repositories) body.repositories = req.repositories;
        if (req.permissions) body.permissions = req.permissions;
        let res: ApiResponse;
        try {
            res = await this.request("POST", `/app/installations/${installationId}/access_tokens`, body);
        } catch (e) {
            if (e instanceof AuthError && e.status === 404) {
                throw new AuthError(`${what} → 404: installation ${installationId} does not exist for App ${this.deps.appId}`, 404, "check INSTALLATION_ID (or unset it to auto-discover) and that the App is still installed");
            }
            throw e;
        }
        const b = res.body as { token?: unknown; expires_at?: unknown } | null;
        const expiresAt = typeof b?.expires_at === "string" ? new Date(b.expires_at) : undefined;
        if (typeof b?.token !== "string" || b.token === "" || !expiresAt || Number.isNaN(expiresAt.getTime())) {
            throw new ApiError(`${what} → ${res.status} without a token and a valid expires_at`, res.status, "check GITHUB_API_URL points at a GitHub API");
        }
        return { token: b.token, expiresAt };
    }

    private async request(method: "GET" | "POST", path: string, body?: unknown, notFoundOk = false): Promise<ApiResponse> {
        const { deps } = this;
        const what = `${method} ${path.replace(/\?.*$/, "")}`;
        for (let attempt = 1; ; attempt++) {
            if (deps.signal?.aborted) throw new InterruptedError();
            const jwt = await signAppJwt(deps.key, deps.appId, deps.now());
            let verdictReason: string;
            let waitMs: number | undefined;
            let rateLimited = false;
            try {
                const { res, parsed } = await this.send(method, path, body, jwt);
                const message = githubMessage(parsed, [jwt]);
                if (res.status === 404 && notFoundOk) return { status: 404, body: parsed };
                const v = classifyResponse(res.status, res.headers, message, deps.now());
                switch (v.kind) {
                    case "ok":
                        return { status: res.status, body: parsed };
                    case "auth":
                        throw new AuthError(`${what} → ${res.status}${message ? `: ${JSON.stringify(message)}` : ""}`, res.status, authFix(res.status, deps.appId));
                    case "fail":
                        throw new ApiError(`${what} → ${res.status}${message ? `: ${JSON.stringify(message)}` : ""}`, res.status, failFix(res.status));
                    case "retry":
                        verdictReason = v.reason;
                        waitMs = v.waitMs;
                        rateLimited = v.rateLimited;
                        break;
                    default: {
                        const never: never = v;
                        throw new Error(`unhandled verdict ${JSON.stringify(never)}`);
                    }
                }
            } catch (e) {
                if (e instanceof TokengenError) throw e;
                if (deps.signal?.aborted) throw new InterruptedError();
                verdictReason = `network error (${networkCode(e)})`;
            }
            if (attempt >= this.retry.maxAttempts) {
                throw new TransientError(`${what} failed ${attempt} times, last: ${verdictReason}`, attempt, "check network access to GITHUB_API_URL and https://www.githubstatus.com; the pod restarts the attempt");
            }
            const delayMs = waitMs ?? backoffDelayMs(attempt - 1, this.retry, deps.random);
            if (rateLimited && delayMs > this.retry.maxRateLimitWaitMs) {
                throw new TransientError(`${what} ${verdictReason}: GitHub asks to wait ${Math.ceil(delayMs / 1000)} s, more than the ${this.retry.maxRateLimitWaitMs / 1000} s tokengen waits`, attempt, "the App's rate limit is spent; reduce token requests (use the sidecar, not one init container per job) or retry later");
            }
            deps.logger.warn({ attempt, maxAttempts: this.retry.maxAttempts, delayMs, reason: verdictReason, request: what }, "GitHub request failed, retrying");
            await deps.sleep(delayMs, deps.signal);
        }
    }

    /** One HTTP exchange, no retry: sends the signed request and returns the response with its body parsed (undefined when empty or not JSON). */
    private async send(method: "GET" | "POST", path: string, body: unknown, jwt: string): Promise<{ res: Response; parsed: unknown }> {
        const { deps } = this;
        const res = await deps.fetch(`${deps.apiUrl}${path}`, {
            method,
            headers: {
                accept: "application/vnd.github+json",
                authorization: `Bearer ${jwt}`,
                "user-agent": "platform-secrets-tokengen",
                "x-github-api-version": "2022-11-28",
                ...(body !== undefined ? { "content-type": "application/json" } : {}),
            },
            body: body !== undefined ? JSON.stringify(body) : undefined,
            signal: this.requestSignal(),
        });
        const text = await res.text();
        let parsed: unknown;
        try {
            parsed = text === "" ? undefined : JSON.parse(text);
        } catch {
            parsed = undefined;
        }
        return { res, parsed };
    }

    private requestSignal(): AbortSignal {
        const timeout = AbortSignal.timeout(this.deps.requestTimeoutMs ?? 30_000);
        return this.deps.signal ? AbortSignal.any([this.deps.signal, timeout]) : timeout;
    }
}

function asInstallation(v: unknown, what: string): Installation {
    const o = v as { id?: unknown; account?: { login?: unknown; type?: unknown } } | null;
    if (typeof o?.id !== "number" || !Number.isSafeInteger(o.id)) throw new ApiError(`${what} returned an installation without a numeric id`, 200);
    const login = typeof o.account?.login === "string" ? o.account.login : undefined;
    const type = typeof o.account?.type === "string" ? o.account.type : undefined;
    return { id: o.id, account: { login, type } };
}

/** GitHub's error `message`, truncated and scrubbed: it is the only part of a response body put in errors. */
function githubMessage(body: unknown, secrets: string[]): string | undefined {
    const m = (body as { message?: unknown } | null | undefined)?.message;
    if (typeof m !== "string") return undefined;
    return scrub(m, secrets).slice(0, 200);
}

function networkCode(e: unknown): string {
    const err = e as { name?: string; code?: string; cause?: { code?: string } };
    if (err?.name === "TimeoutError") return "request timed out";
    return err?.cause?.code ?? err?.code ?? err?.name ?? "unknown";
}

function authFix(status: number, appId: string): string {
    switch (status) {
        case 401:
            return `check that APP_ID (${appId}) is the App the private key belongs to, that the key was not revoked, and that the node clock is right`;
        case 403:
            return "the App lacks a permission for this request or the installation is suspended: check GITHUB_PERMISSIONS/GITHUB_REPOSITORIES against the App's permissions";
        default:
            return "the App is not installed there: install it, fix GITHUB_OWNER/GITHUB_REPOSITORY, or set INSTALLATION_ID";
    }
}

function failFix(status: number): string {
    return status === 422
        ? "GitHub rejected the request body: check GITHUB_REPOSITORIES names repositories the installation can access and GITHUB_PERMISSIONS only asks for permissions the App has"
        : "unexpected response from GITHUB_API_URL";
}
