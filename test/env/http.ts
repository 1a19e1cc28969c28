import * as http from "node:http";
import * as https from "node:https";

export interface HttpOptions {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** PEM contents (not paths) for TLS: the CA to trust and an optional client certificate. */
    ca?: string;
    cert?: string;
    key?: string;
    timeoutMs?: number;
}

export interface HttpResponse {
    status: number;
    body: string;
}

/**
 * A minimal HTTP(S) client: Node 20's global fetch cannot take a custom CA or client certificate without the
 * undici package, and the apiserver needs both.
 */
export function request(url: string, opts: HttpOptions = {}): Promise<HttpResponse> {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = lib.request(
            u,
            {
                method: opts.method ?? "GET",
                headers: { ...(opts.body !== undefined ? { "content-type": "application/json" } : {}), ...opts.headers },
                ca: opts.ca,
                cert: opts.cert,
                key: opts.key,
                timeout: opts.timeoutMs ?? 5000,
            },
            (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (c: string) => (body += c));
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
                res.on("error", reject);
            },
        );
        req.on("timeout", () => req.destroy(new Error(`request to ${u.origin}${u.pathname} timed out`)));
        req.on("error", reject);
        if (opts.body !== undefined) req.write(opts.body);
        req.end();
    });
}

/**
 * Polls `check` every `everyMs` until it returns true; fails fast through `alive` (which throws when the server
 * process died) and with the last error after `timeoutMs`.
 */
export async function waitUntil(what: string, check: () => Promise<boolean>, opts: { timeoutMs: number; everyMs?: number; alive?: () => void }): Promise<void> {
    const deadline = Date.now() + opts.timeoutMs;
    let last: unknown;
    for (;;) {
        opts.alive?.();
        try {
            if (await check()) return;
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            const detail = last instanceof Error ? `: ${last.message}` : "";
            throw new Error(`${what} not ready within ${opts.timeoutMs} ms${detail}`);
        }
        await new Promise((r) => setTimeout(r, opts.everyMs ?? 100));
    }
}
