import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { request, waitUntil } from "./http";
import { freePort, retryOnAddressInUse } from "./ports";
import { ManagedProcess } from "./process";

export interface VaultServer {
    process: ManagedProcess;
    addr: string;
    token: string;
}

/** `vault server -dev` on loopback with a given root token; the token is never written to ~/.vault-token. */
export function vaultArgs(port: number, token: string): string[] {
    return ["server", "-dev", `-dev-root-token-id=${token}`, `-dev-listen-address=127.0.0.1:${port}`, "-dev-no-store-token", "-log-level=warn"];
}

/** Auth methods the tests enable (`sys/auth/<path>` with this type); checked at start-up. */
export const REQUIRED_AUTH_METHODS = ["kubernetes"];

/** Dev mode mounts KV v2 at secret/; a check here turns a silent default change into a clear start-up error. */
export function isKvV2Mount(mounts: unknown, mount = "secret/"): boolean {
    const m = mounts as { data?: Record<string, { type?: string; options?: { version?: string } | null }> } & Record<string, unknown>;
    const entry = m.data?.[mount] ?? (m[mount] as { type?: string; options?: { version?: string } } | undefined);
    return entry?.type === "kv" && entry.options?.version === "2";
}

async function startOnce(bin: string, dir: string): Promise<VaultServer> {
    const port = await freePort();
    const token = `root-${randomBytes(16).toString("hex")}`;
    const addr = `http://127.0.0.1:${port}`;
    // HOME points into the temp dir so nothing (token helper, plugin cache) lands in the real home directory.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, VAULT_ADDR: addr };
    delete env.VAULT_TOKEN;
    const proc = new ManagedProcess("vault", bin, vaultArgs(port, token), path.join(dir, "vault.log"), { env, cwd: dir });
    try {
        await waitUntil("vault /v1/sys/health", async () => (await request(`${addr}/v1/sys/health`, { timeoutMs: 1000 })).status === 200, {
            timeoutMs: 30_000,
            everyMs: 100,
            alive: () => proc.assertRunning(),
        });
        const mounts = await request(`${addr}/v1/sys/mounts`, { headers: { "x-vault-token": token } });
        if (mounts.status !== 200 || !isKvV2Mount(JSON.parse(mounts.body))) {
            throw new Error(`vault dev server at ${addr} has no KV v2 mount at secret/ (HTTP ${mounts.status})`);
        }
        // The binary is a trimmed build (binaries.ts vaultSpec, patches.ts): a trim that lost an auth method the
        // tests enable would otherwise surface as a 400 deep inside one test.
        for (const method of REQUIRED_AUTH_METHODS) {
            const r = await request(`${addr}/v1/sys/plugins/catalog/auth/${method}`, { headers: { "x-vault-token": token } });
            if (r.status !== 200) throw new Error(`vault at ${addr} (${bin}) has no "${method}" auth method in its plugin catalog (HTTP ${r.status}); was it trimmed too far? see test/env/patches.ts`);
        }
    } catch (e) {
        await proc.stop(1000);
        throw e;
    }
    return { process: proc, addr, token };
}

export async function startVault(bin: string, dir: string, attempts = 3): Promise<VaultServer> {
    // Dev mode also binds a cluster port (listener port + 1), which may be taken too.
    return retryOnAddressInUse(() => startOnce(bin, dir), attempts);
}
