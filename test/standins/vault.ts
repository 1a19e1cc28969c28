import type * as provider from "@pulumi/pulumi/provider";
import { typeOf } from "./random";
import { containsUnknown, deepEqual, isSecret, reveal, secret, UNKNOWN } from "./secrets";

/**
 * STAND-IN for the `vault` provider (test support only; see README.md here): exactly `vault:kv/secretV2:SecretV2`,
 * the one type the program uses, against a REAL Vault server over its HTTP API. Kept from the real provider where
 * the program depends on it: id `<mount>/data/<name>`; mount, name and namespace are force-new; a dataJson change
 * writes a NEW KV v2 version (old versions stay in Vault's history); refresh reads the latest version back (a hand
 * edit in Vault shows as drift, a deleted secret drops out of the state); delete removes the latest version, or
 * every version and the metadata with deleteAllVersions; dataJson and data are secret outputs. Connection: the
 * provider config `vault:address` / `vault:token` when given, else VAULT_ADDR / VAULT_TOKEN (as the real one).
 * customMetadata {data, maxVersions, casRequired, deleteVersionAfter} is written to `<mount>/metadata/<name>`
 * after the data, as the real one does, and refresh reads custom_metadata back (a hand edit shows as drift).
 * Not provided: dataJsonWo, cas checks, disableRead reads of metadata only, auth_login blocks, import.
 */
export const SECRET_V2 = "vault:kv/secretV2:SecretV2";
const FORCE_NEW = ["mount", "name", "namespace"];
const UPDATABLE = ["dataJson", "deleteAllVersions", "disableRead", "customMetadata", "cas", "options"];

type Inputs = Record<string, unknown>;

export interface VaultConnection {
    address?: string;
    token?: string;
}

/** Set from the provider's Configure call (serve.ts); falls back to the environment. */
export const connection: VaultConnection = {};

function conn(): { address: string; token: string } {
    const address = connection.address || process.env.VAULT_ADDR;
    const token = connection.token || process.env.VAULT_TOKEN;
    if (!address) throw new Error("stand-in vault provider: no Vault address; set vault:address or VAULT_ADDR");
    if (!token) throw new Error("stand-in vault provider: no Vault token; set vault:token or VAULT_TOKEN");
    return { address: address.replace(/\/+$/, ""), token };
}

async function vaultRequest(method: string, path: string, namespace: unknown, body?: unknown): Promise<{ status: number; json: any }> {
    const { address, token } = conn();
    const headers: Record<string, string> = { "x-vault-token": token };
    if (typeof namespace === "string" && namespace) headers["x-vault-namespace"] = namespace;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${address}/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json: any;
    try {
        json = text ? JSON.parse(text) : undefined;
    } catch {
        json = undefined;
    }
    if (res.status >= 400 && res.status !== 404) {
        // Vault's error text never contains the written data; the path is safe to name.
        throw new Error(`stand-in vault provider: ${method} ${path}: HTTP ${res.status} ${JSON.stringify(json?.errors ?? text.slice(0, 200))}`);
    }
    return { status: res.status, json };
}

const trimSlashes = (s: unknown): string => String(s ?? "").replace(/^\/+|\/+$/g, "");

export function secretId(mount: unknown, name: unknown): string {
    return `${trimSlashes(mount)}/data/${trimSlashes(name)}`;
}

/** "secret/data/a/b" → mount "secret", name "a/b". */
export function parseId(id: string): { mount: string; name: string } {
    const i = id.indexOf("/data/");
    if (i < 0) throw new Error(`stand-in vault provider: id "${id}" is not <mount>/data/<name>`);
    return { mount: id.slice(0, i), name: id.slice(i + "/data/".length) };
}

function parseData(dataJson: unknown, property = "dataJson"): Record<string, unknown> {
    const v = JSON.parse(String(dataJson ?? "{}")) as unknown;
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`stand-in vault provider: ${property} must be a JSON object`);
    return v as Record<string, unknown>;
}

/** Terraform's `data` attribute: every value as a string (non-strings JSON-encoded). */
function stringMap(data: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

function metadataMap(m: any): Record<string, string> {
    return {
        version: String(m?.version ?? ""),
        created_time: String(m?.created_time ?? ""),
        deletion_time: String(m?.deletion_time ?? ""),
        destroyed: String(m?.destroyed ?? false),
        custom_metadata: m?.custom_metadata ? JSON.stringify(m.custom_metadata) : "",
    };
}

async function write(inputs: Inputs): Promise<Inputs> {
    const plain = reveal(inputs) as Inputs;
    const data = parseData(plain.dataJson);
    const path = secretId(plain.mount, plain.name);
    const body: Record<string, unknown> = { data };
    if (plain.options && typeof plain.options === "object") body.options = plain.options;
    if (typeof plain.cas === "number") body.options = { ...(body.options as object), cas: plain.cas };
    const r = await vaultRequest("POST", path, plain.namespace, body);
    if (r.status === 404) throw new Error(`stand-in vault provider: POST ${path}: HTTP 404 (is "${trimSlashes(plain.mount)}" a KV v2 mount?)`);
    let metadata = r.json?.data;
    const cm = plain.customMetadata;
    if (cm && typeof cm === "object") {
        const m = cm as { data?: Record<string, string>; maxVersions?: number; casRequired?: boolean; deleteVersionAfter?: number };
        const metaPath = `${trimSlashes(plain.mount)}/metadata/${trimSlashes(plain.name)}`;
        await vaultRequest("POST", metaPath, plain.namespace, {
            max_versions: m.maxVersions ?? 0,
            cas_required: m.casRequired ?? false,
            delete_version_after: `${m.deleteVersionAfter ?? 0}s`,
            custom_metadata: m.data ?? {},
        });
        metadata = { ...metadata, custom_metadata: m.data ?? {} };
    }
    return outputs(inputs, data, metadata);
}

function outputs(inputs: Inputs, data: Record<string, unknown>, metadata: unknown): Inputs {
    const plain = reveal(inputs) as Inputs;
    return {
        ...inputs,
        mount: trimSlashes(plain.mount),
        name: trimSlashes(plain.name),
        path: secretId(plain.mount, plain.name),
        deleteAllVersions: plain.deleteAllVersions ?? false,
        disableRead: plain.disableRead ?? false,
        dataJson: secret(JSON.stringify(data)),
        data: secret(stringMap(data)),
        metadata: metadataMap(metadata),
    };
}

export const vaultProvider: provider.Provider = {
    version: "0.0.0", // replaced by serve.ts with the version the SDK asks for
    async check(urn, _olds, news: Inputs) {
        const type = typeOf(urn);
        if (type !== SECRET_V2) return { failures: [{ property: "", reason: `stand-in vault provider: unsupported type ${type}` }] };
        const failures: provider.CheckFailure[] = [];
        const plain = reveal(news) as Inputs;
        if (!plain.mount) failures.push({ property: "mount", reason: "mount is required" });
        if (!plain.name) failures.push({ property: "name", reason: "name is required" });
        if (plain.dataJson === UNKNOWN) {
            /* computed during preview: checked when known */
        } else if (plain.dataJson === undefined) failures.push({ property: "dataJson", reason: "dataJson is required (dataJsonWo is not provided by the stand-in)" });
        else {
            try {
                parseData(plain.dataJson);
            } catch (e) {
                failures.push({ property: "dataJson", reason: (e as Error).message });
            }
        }
        // dataJson stays secret however it arrived (the SDK already wraps it).
        const inputs = { ...news, ...(news.dataJson !== undefined && !isSecret(news.dataJson) ? { dataJson: secret(news.dataJson) } : {}) };
        return { inputs, failures };
    },
    async diff(_id, _urn, olds: Inputs, news: Inputs) {
        const o = reveal(olds) as Inputs;
        const n = reveal(news) as Inputs;
        const differs = (k: string): boolean => {
            if (containsUnknown(n[k])) return true;
            if (k === "dataJson") return !deepEqual(parseData(o.dataJson ?? "{}"), parseData(n.dataJson ?? "{}"));
            if (k === "mount" || k === "name") return trimSlashes(o[k]) !== trimSlashes(n[k]);
            if (k === "deleteAllVersions" || k === "disableRead") return Boolean(o[k]) !== Boolean(n[k]);
            return !deepEqual(o[k], n[k]);
        };
        const replaces = FORCE_NEW.filter(differs);
        const changes = replaces.length > 0 || UPDATABLE.some(differs);
        return { changes, replaces };
    },
    async create(_urn, inputs: Inputs) {
        const outs = await write(inputs);
        return { id: String(outs.path), outs };
    },
    async update(_id, _urn, _olds, news: Inputs) {
        return { outs: await write(news) };
    },
    async read(id, _urn, props: Inputs) {
        const plain = reveal(props ?? {}) as Inputs;
        const { mount, name } = parseId(id);
        if (plain.disableRead === true) return { id, props, inputs: inputsOf(props) };
        const r = await vaultRequest("GET", secretId(mount, name), plain.namespace);
        // Gone (never written, latest version deleted, or metadata deleted): drop it from the state like the real one.
        if (r.status === 404 || !r.json?.data?.data) return { id: "", props: {} };
        const live = r.json.data.metadata;
        // customMetadata.data as Vault has it now (only when the resource manages it, like the real provider).
        const cm = plain.customMetadata && typeof plain.customMetadata === "object" ? { customMetadata: { ...(plain.customMetadata as object), data: { ...(live?.custom_metadata ?? {}) } } } : {};
        const outs = outputs({ ...props, mount, name, ...cm }, r.json.data.data, live);
        return { id, props: outs, inputs: inputsOf(outs) };
    },
    async delete(id, _urn, props: Inputs) {
        const plain = reveal(props) as Inputs;
        const { mount, name } = parseId(id);
        const path = plain.deleteAllVersions === true ? `${mount}/metadata/${name}` : secretId(mount, name);
        await vaultRequest("DELETE", path, plain.namespace);
    },
};

function inputsOf(outs: Inputs): Inputs {
    const keys = ["mount", "name", "namespace", ...UPDATABLE];
    return Object.fromEntries(keys.filter((k) => outs[k] !== undefined).map((k) => [k, outs[k]]));
}
