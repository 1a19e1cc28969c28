import { MAX_VALUE_BYTES } from "./constants";
import { DerivationError } from "./errors";
import { SecretLike } from "./types";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function objectKey(ref: { namespace?: string; name?: string }): string {
    return `${ref.namespace ?? "<no namespace>"}/${ref.name ?? "<no name>"}`;
}

export function encodeBase64(text: string | Buffer): string {
    return Buffer.from(text).toString("base64");
}

/** Strict base64 (canonical padding, no whitespace): what the apiserver always returns. */
export function isBase64(value: string): boolean {
    return BASE64.test(value);
}

/**
 * Validating, decoding view of a source secret's data. Every failure names the secret and key; no method
 * ever puts a value into an error.
 */
export class SourceReader {
    readonly object: string;
    readonly type: string;
    private readonly data: Record<string, string>;

    constructor(readonly secret: SecretLike) {
        this.object = objectKey(secret.metadata);
        this.type = secret.type ?? "Opaque";
        this.data = secret.data ?? {};
    }

    has(key: string): boolean {
        return Object.prototype.hasOwnProperty.call(this.data, key);
    }

    keys(): string[] {
        return Object.keys(this.data).sort();
    }

    fail(key: string | undefined, code: DerivationError["code"], problem: string, fix: string): never {
        throw new DerivationError({ object: this.object, key, code, problem, fix });
    }

    requireType(allowed: readonly string[], format: string): void {
        if (!allowed.includes(this.type)) {
            this.fail(undefined, "wrong-type", `secret type "${this.type}" cannot feed format ${format}`, `use a source of type ${allowed.join(" or ")}`);
        }
    }

    /** The raw base64 of `key`, validated (present, base64, size), or undefined when absent and optional. */
    base64(key: string, required: true): string;
    base64(key: string, required: false): string | undefined;
    base64(key: string, required: boolean): string | undefined {
        if (!this.has(key)) {
            if (required) this.fail(key, "missing-key", "the key is missing", `add "${key}" to the source secret`);
            return undefined;
        }
        const raw = this.data[key];
        if (typeof raw !== "string") this.fail(key, "invalid-base64", "the value is not a string", "store the value as base64 text");
        // 4 base64 chars carry 3 bytes: checking the encoded length first avoids scanning or decoding a huge value.
        if ((raw.length / 4) * 3 > MAX_VALUE_BYTES + 3 && Buffer.byteLength(raw, "base64") > MAX_VALUE_BYTES) {
            this.fail(key, "too-large", `the value exceeds ${MAX_VALUE_BYTES} bytes`, "store a smaller value (derived secrets must stay below 1 MiB)");
        }
        if (!isBase64(raw)) {
            this.fail(key, "invalid-base64", "the value is not valid base64", "write the value through stringData or base64-encode it without line breaks");
        }
        return raw;
    }

    bytes(key: string, required: true): Buffer;
    bytes(key: string, required: false): Buffer | undefined;
    bytes(key: string, required: boolean): Buffer | undefined {
        const raw = required ? this.base64(key, true) : this.base64(key, false);
        return raw === undefined ? undefined : Buffer.from(raw, "base64");
    }

    /** UTF-8 text of `key`; `nonEmpty` also rejects whitespace-only values and a trailing newline. */
    text(key: string, required: true, nonEmpty?: boolean): string;
    text(key: string, required: false, nonEmpty?: boolean): string | undefined;
    text(key: string, required: boolean, nonEmpty = false): string | undefined {
        const buf = required ? this.bytes(key, true) : this.bytes(key, false);
        if (buf === undefined) return undefined;
        let s: string;
        try {
            // A decoder per call: a module-level instance would not survive Pulumi closure serialization.
            s = new TextDecoder("utf-8", { fatal: true }).decode(buf);
        } catch {
            return this.fail(key, "invalid-utf8", "the value is not UTF-8 text", "store the value as UTF-8 text");
        }
        if (nonEmpty) {
            if (s.trim() === "") this.fail(key, "empty-value", "the value is empty", `set a non-empty "${key}"`);
            if (/[\r\n]$/.test(s)) {
                this.fail(key, "invalid-value", "the value ends with a newline", "re-create the value without the trailing newline (e.g. `echo -n`)");
            }
        }
        return s;
    }

    /** A PEM private key (OpenSSH, RSA, EC, PKCS#8); checks the armour, not the cryptography. */
    privateKey(key: string, required: true): string;
    privateKey(key: string, required: false): string | undefined;
    privateKey(key: string, required: boolean): string | undefined {
        const s = required ? this.text(key, true) : this.text(key, false);
        if (s === undefined) return undefined;
        if (!isPemPrivateKey(s)) {
            this.fail(key, "invalid-pem", "the value is not a PEM private key", 'store the whole key file, from "-----BEGIN ... PRIVATE KEY-----" to the END line');
        }
        return s;
    }
}

const PEM = /^\s*-----BEGIN ((?:OPENSSH |RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----\r?\n([A-Za-z0-9+/=\r\n:,\- ]+?)\r?\n-----END \1-----\s*$/;

export function isPemPrivateKey(s: string): boolean {
    const m = PEM.exec(s);
    if (!m) return false;
    // Body lines must be base64 (headers like "Proc-Type:" appear in legacy encrypted RSA keys).
    const body = m[2].split(/\r?\n/).filter((l) => l !== "" && !l.includes(":"));
    return body.length > 0 && body.every((l) => /^[A-Za-z0-9+/=]+$/.test(l));
}
