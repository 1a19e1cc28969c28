import { createServer } from "node:net";

/**
 * A port that was free a moment ago on 127.0.0.1: bind port 0, read it, close. Racy by nature (another process may
 * take it before the server binds), so starters retry on EADDRINUSE-like failures.
 */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = createServer();
        srv.unref();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            if (addr === null || typeof addr === "string") {
                srv.close();
                reject(new Error("could not read the port of a 127.0.0.1:0 listener"));
                return;
            }
            srv.close(() => resolve(addr.port));
        });
    });
}

/** Several distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
    const out = new Set<number>();
    while (out.size < n) out.add(await freePort());
    return [...out];
}

/** True when a server log/error text says its port was taken: the caller retries with fresh ports. */
export function isAddressInUse(text: string): boolean {
    return /address already in use|EADDRINUSE|bind: address/i.test(text);
}

/**
 * Runs `start` again when it failed because a port was taken between choosing it and the server binding it
 * (ports come from binding :0 and closing, so a race is possible); any other failure is final.
 */
export async function retryOnAddressInUse<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
    for (let i = 1; ; i++) {
        try {
            return await start();
        } catch (e) {
            const msg = e instanceof Error ? e.message : String(e);
            if (i >= attempts || !isAddressInUse(msg)) throw e;
        }
    }
}
