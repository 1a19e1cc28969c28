import { backoffDelay } from "../lib/backoff";
/** Bounds for the API retry loop; `main` uses DEFAULT_RETRY, tests shrink them. */
export interface RetryPolicy {
    /** Total attempts per request, first one included. */
    maxAttempts: number;
    baseDelayMs: number;
    maxDelayMs: number;
    /** A rate limit asking for a longer wait than this fails at once instead of blocking the pod. */
    maxRateLimitWaitMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
    maxAttempts: 6,
    baseDelayMs: 1000,
    maxDelayMs: 30_000,
    maxRateLimitWaitMs: 15 * 60_000,
};

/** GitHub's guidance for a secondary rate limit that names no wait: at least one minute. */
export const RATE_LIMIT_DEFAULT_WAIT_MS = 60_000;
/** x-ratelimit-reset has one-second resolution; waiting one more second avoids retrying just before it. */
export const RATE_LIMIT_RESET_MARGIN_MS = 1000;

/**
 * "Full jitter" exponential backoff (lib/backoff.ts): uniform in [0, min(max, base·2^failures)). Spreads the retries
 * of many pods started together instead of having them hit GitHub in lockstep.
 */
export function backoffDelayMs(failures: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">, random: () => number): number {
    // A cap below the base means "always the cap" (the base is then never reached).
    return backoffDelay(failures, Math.min(policy.baseDelayMs, policy.maxDelayMs), policy.maxDelayMs, random, "full");
}

/** Retry-After is either delta-seconds or an HTTP-date; undefined when absent or unparsable. */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
    if (value === null || value === undefined) return undefined;
    const v = value.trim();
    if (/^\d+$/.test(v)) return Number(v) * 1000;
    const t = Date.parse(v);
    if (Number.isNaN(t)) return undefined;
    return Math.max(0, t - nowMs);
}

export interface HeaderView {
    get(name: string): string | null;
}

export type Verdict =
    | { kind: "ok" }
    | { kind: "retry"; reason: string; rateLimited: boolean; waitMs?: number }
    | { kind: "auth"; reason: string }
    | { kind: "fail"; reason: string };

/**
 * One HTTP response → what the retry loop does with it. Secondary rate limits come back as 403 or 429;
 * a 403 counts as one only when GitHub marks it (Retry-After, x-ratelimit-remaining: 0, or a "rate limit"
 * message), otherwise it is a permission refusal and retrying would not help.
 */
export function classifyResponse(status: number, headers: HeaderView, message: string | undefined, nowMs: number): Verdict {
    if (status >= 200 && status < 300) return { kind: "ok" };
    const retryAfter = parseRetryAfterMs(headers.get("retry-after"), nowMs);
    const exhausted = headers.get("x-ratelimit-remaining")?.trim() === "0";
    if (status === 429 || (status === 403 && (retryAfter !== undefined || exhausted || /rate limit/i.test(message ?? "")))) {
        return { kind: "retry", reason: `rate limited (${status})`, rateLimited: true, waitMs: rateLimitWaitMs(retryAfter, exhausted ? headers.get("x-ratelimit-reset") : null, nowMs) };
    }
    if (status === 401 || status === 403 || status === 404) return { kind: "auth", reason: `${status}` };
    if (status >= 500 || status === 408) return { kind: "retry", reason: `server error (${status})`, rateLimited: false, waitMs: retryAfter };
    return { kind: "fail", reason: `${status}` };
}

/** Retry-After wins; else the x-ratelimit-reset epoch (plus a second); else GitHub's one-minute guidance. */
export function rateLimitWaitMs(retryAfterMs: number | undefined, resetHeader: string | null, nowMs: number): number {
    if (retryAfterMs !== undefined) return retryAfterMs;
    if (resetHeader !== null && /^\d+$/.test(resetHeader.trim())) {
        return Math.max(0, Number(resetHeader.trim()) * 1000 - nowMs) + RATE_LIMIT_RESET_MARGIN_MS;
    }
    return RATE_LIMIT_DEFAULT_WAIT_MS;
}
