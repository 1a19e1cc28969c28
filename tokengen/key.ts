import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from "node:crypto";
import { ConfigError } from "./errors";

const FIX = "use the .pem downloaded from the GitHub App's settings (-----BEGIN RSA PRIVATE KEY----- PKCS#1 or -----BEGIN PRIVATE KEY----- PKCS#8), unencrypted, with its line breaks intact";

/**
 * PEM (PKCS#1 or PKCS#8) → RSA KeyObject. node:crypto parses both; the error never includes the key text
 * nor the OpenSSL message (which can quote input), only the variable the key came from and the fix.
 */
export function loadPrivateKey(pem: string, source: "PRIVATE_KEY" | "PRIVATE_KEY_FILE"): KeyObject {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
        throw new ConfigError(source, "holds a passphrase-encrypted key, which cannot be used unattended", FIX);
    }
    if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(pem)) {
        throw new ConfigError(source, "is not a PEM private key (no BEGIN RSA PRIVATE KEY / BEGIN PRIVATE KEY line)", FIX);
    }
    let key: KeyObject;
    try {
        key = createPrivateKey({ key: pem, format: "pem" });
    } catch {
        throw new ConfigError(source, "holds a malformed PEM private key that could not be parsed", FIX);
    }
    if (key.asymmetricKeyType !== "rsa") {
        throw new ConfigError(source, `holds a ${key.asymmetricKeyType ?? "non-RSA"} key; GitHub Apps sign with RSA (RS256)`, FIX);
    }
    // A flipped byte inside the modulus or a prime still parses as valid DER; a sign/verify round trip
    // against the public half derived from it catches that here instead of as a 401 from GitHub later.
    const probe = Buffer.from("tokengen key self-check");
    let ok: boolean;
    try {
        ok = verify("sha256", probe, createPublicKey(key), sign("sha256", probe, key));
    } catch {
        ok = false;
    }
    if (!ok) throw new ConfigError(source, "holds an RSA key whose parts are inconsistent (corrupted)", FIX);
    return key;
}
