/** Rejects with a message naming `what` if `p` does not settle within `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    });
    try {
        return await Promise.race([p, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** Polls `check` until it returns a non-undefined value or `ms` passes; the last error is in the message. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms: number, what: string, everyMs = 50): Promise<T> {
    const deadline = Date.now() + ms;
    let last: unknown;
    for (;;) {
        try {
            const v = await check();
            if (v !== undefined) return v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > deadline) {
            throw new Error(`not reached within ${ms} ms: ${what}${last ? ` (last error: ${String(last)})` : ""}`);
        }
        await new Promise((r) => setTimeout(r, everyMs));
    }
}
