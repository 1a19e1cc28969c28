import * as http from "node:http";
import * as https from "node:https";

export interface VaultConfig {
    addr: string;
    token: string;
}

/** Minimal Vault/OpenBao KV v2 reader (the previous version of a rotated password). Errors never carry values. */
export class VaultKv {
    constructor(private readonly cfg: VaultConfig) {
        if (!/^https?:\/\//.test(cfg.addr)) throw new Error(`vault address "${cfg.addr}" must start with http:// or https://; fix --vault-addr / VAULT_ADDR`);
    }

    private async get(path: string): Promise<any | undefined> {
        const u = new URL(this.cfg.addr.replace(/\/$/, "") + path);
        const mod = u.protocol === "https:" ? https : http;
        return new Promise((resolve, reject) => {
            const req = mod.request(u, { method: "GET", headers: { "X-Vault-Token": this.cfg.token }, timeout: 10_000 }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    if (res.statusCode === 404) return resolve(undefined);
                    if (res.statusCode !== 200) return reject(new Error(`vault GET ${u.pathname}: HTTP ${res.statusCode}`));
                    try {
                        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
                    } catch {
                        reject(new Error(`vault GET ${u.pathname}: unparsable response`));
                    }
                });
                res.on("error", reject);
            });
            req.on("timeout", () => req.destroy(new Error(`vault GET ${u.pathname}: timed out`)));
            req.on("error", (e) => reject(new Error(`vault GET ${u.pathname}: ${e.message}`)));
            req.end();
        });
    }

    async currentVersion(mount: string, path: string): Promise<number | undefined> {
        const r = await this.get(`/v1/${mount}/metadata/${path}`);
        const v = r?.data?.current_version;
        return typeof v === "number" ? v : undefined;
    }

    /** The value of `key` at `version` (undefined when the version or key does not exist, or was deleted). */
    async readVersion(mount: string, path: string, version: number, key: string): Promise<string | undefined> {
        if (version < 1) return undefined;
        const r = await this.get(`/v1/${mount}/data/${path}?version=${version}`);
        const v = r?.data?.data?.[key];
        return typeof v === "string" ? v : undefined;
    }
}
