/**
 * Error classes carry the process exit code, so `main` maps any failure to the documented code without
 * inspecting messages. Messages name the env variable or API call and the fix; they never carry the key,
 * the JWT or a token.
 */
export abstract class TokengenError extends Error {
    abstract readonly exitCode: number;
    constructor(message: string, readonly fix?: string) {
        super(fix ? `${message}; fix: ${fix}` : message);
        this.name = new.target.name;
    }
}

/** Bad or missing configuration, including a malformed private key: exit 2. */
export class ConfigError extends TokengenError {
    readonly exitCode = 2;
    constructor(readonly variable: string, message: string, fix?: string) {
        super(`${variable}: ${message}`, fix);
    }
}

/** GitHub refused the credentials or the installation does not exist (401, non-rate-limit 403, 404): exit 3. */
export class AuthError extends TokengenError {
    readonly exitCode = 3;
    constructor(message: string, readonly status?: number, fix?: string) {
        super(message, fix);
    }
}

/** Network errors, 5xx or rate limits persisted through every attempt: exit 4. */
export class TransientError extends TokengenError {
    readonly exitCode = 4;
    constructor(message: string, readonly attempts: number, fix?: string) {
        super(message, fix);
    }
}

/** Any other refusal from the API (e.g. 422 for an unknown repository in GITHUB_REPOSITORIES): exit 1. */
export class ApiError extends TokengenError {
    readonly exitCode = 1;
    constructor(message: string, readonly status: number, fix?: string) {
        super(message, fix);
    }
}

export const EXIT_OK = 0;
export const EXIT_UNEXPECTED = 1;
export const EXIT_CONFIG = 2;
export const EXIT_AUTH = 3;
export const EXIT_TRANSIENT = 4;

/** The documented exit code for any thrown value. */
export function exitCodeFor(err: unknown): number {
    return err instanceof TokengenError ? err.exitCode : EXIT_UNEXPECTED;
}

/** Replaces every occurrence of each secret in `text`; used on API error bodies before they reach a message. */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
    let out = text;
    for (const s of secrets) {
        if (s && s.length >= 8) out = out.split(s).join("[redacted]");
    }
    return out;
}
