import { strict as assert } from "node:assert";
import { generateKeyPairSync } from "node:crypto";
import { isBase64, isPemPrivateKey } from "../../../derive";

describe("derive: PEM and base64 shape checks", () => {
    it("accepts real private keys in PKCS#1, SEC1, PKCS#8 and OpenSSH armour", () => {
        const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
        const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
        const ed = generateKeyPairSync("ed25519").privateKey;
        for (const pem of [
            rsa.export({ type: "pkcs1", format: "pem" }).toString(),
            rsa.export({ type: "pkcs8", format: "pem" }).toString(),
            ec.export({ type: "sec1", format: "pem" }).toString(),
            ed.export({ type: "pkcs8", format: "pem" }).toString(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n",
            rsa.export({ type: "pkcs1", format: "pem" }).toString().replace(/\n/g, "\r\n"),
        ]) {
            assert.ok(isPemPrivateKey(pem), pem.split("\n")[0]);
        }
    });

    it("rejects public keys, certificates, mismatched armour, empty bodies and one-line keys", () => {
        const pub = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
        for (const bad of [
            pub,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY----- AAAA -----END PRIVATE KEY-----",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA user@host",
            "",
        ]) {
            assert.equal(isPemPrivateKey(bad), false, JSON.stringify(bad.slice(0, 40)));
        }
    });

    it("base64 must be canonical (what the apiserver returns)", () => {
        for (const ok of ["", "YQ==", "YWI=", "YWJj", Buffer.from([255, 254]).toString("base64")]) assert.ok(isBase64(ok), ok);
        for (const bad of ["YQ", "YQ=", "Y Q==", "YQ==\n", "YWJj\nZGVm", "a-b_", "===="]) assert.equal(isBase64(bad), false, JSON.stringify(bad));
    });
});
