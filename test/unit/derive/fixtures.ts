import { generateKeyPairSync } from "node:crypto";
import { SecretLike } from "../../../derive";

export const b64 = (s: string | Buffer): string => Buffer.from(s).toString("base64");
export const unb64 = (s: string): string => Buffer.from(s, "base64").toString("utf8");

let cachedKey: string | undefined;
/** A real PEM private key (PKCS#1 RSA), generated once per run. */
export function pemKey(): string {
    if (cachedKey === undefined) {
        cachedKey = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    }
    return cachedKey;
}

export function secret(ns: string, name: string, type: string, text: Record<string, string>): SecretLike {
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(text)) data[k] = b64(v);
    return { metadata: { namespace: ns, name }, type, data };
}

export const basicAuth = (text: Record<string, string> = { username: "alice", password: "s3cret" }): SecretLike =>
    secret("src", "creds", "kubernetes.io/basic-auth", text);
export const sshAuth = (extra: Record<string, string> = {}): SecretLike =>
    secret("src", "creds", "kubernetes.io/ssh-auth", { "ssh-privatekey": pemKey(), ...extra });
export const opaque = (text: Record<string, string>): SecretLike => secret("src", "creds", "Opaque", text);

export const SRC = { namespace: "src", name: "creds" };
export const tgt = (name = "out", namespace = "dst") => ({ namespace, name });
