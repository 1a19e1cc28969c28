import { strict as assert } from "node:assert";
import { createPublicKey } from "node:crypto";
import fc from "fast-check";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import {
    appJwtClaims,
    backoffDelayMs,
    classifyResponse,
    ConfigError,
    DEFAULT_RETRY,
    exitCodeFor,
    JWT_MAX_LIFETIME_SECONDS,
    loadPrivateKey,
    normalisePem,
    parseRetryAfterMs,
    RATE_LIMIT_DEFAULT_WAIT_MS,
    refreshAtMs,
    refreshRetryDelayMs,
    scrub,
    signAppJwt,
} from "../../../tokengen";
import { appKeys, newKeys } from "./helpers";

function headers(h: Record<string, string>): { get(n: string): string | null } {
    return { get: (n) => h[n.toLowerCase()] ?? null };
}

describe("tokengen pure functions", () => {
    describe("backoffDelayMs (full jitter)", () => {
        it("stays within [0, min(max, base·2^n)) for any attempt and random value", () => {
            fc.assert(
                fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 600_000 }), (n, r, base, max) => {
                    const d = backoffDelayMs(n, { baseDelayMs: base, maxDelayMs: max }, () => r);
                    const ceiling = Math.min(max, base * 2 ** Math.min(n, 30));
                    return Number.isInteger(d) && d >= 0 && d < ceiling;
                }),
            );
        });
        it("grows exponentially until the cap", () => {
            const top = () => 0.999999;
            assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((n) => Math.round(backoffDelayMs(n, DEFAULT_RETRY, top) / 1000)), [1, 2, 4, 8, 16, 30, 30]);
        });
    });

    describe("refreshAtMs", () => {
        it("is at or after now and strictly before expiry for any unexpired token", () => {
            fc.assert(
                fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 7_200_000 }), fc.integer({ min: 1, max: 3599 }), (now, life, before) => {
                    const at = refreshAtMs(now + life, before, now);
                    return at >= now && at < now + life;
                }),
            );
        });
        it("never schedules closer than the minimum interval when the token lives long enough", () => {
            fc.assert(
                fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 60_001, max: 7_200_000 }), fc.integer({ min: 1, max: 3599 }), (now, life, before) => refreshAtMs(now + life, before, now) >= now + 30_000),
            );
        });
        it("refreshes at 45 of 60 minutes by default and immediately when already expired", () => {
            assert.equal(refreshAtMs(3_600_000, 900, 0), 2_700_000);
            assert.equal(refreshAtMs(1000, 900, 5000), 5000);
        });
    });

    describe("refreshRetryDelayMs", () => {
        it("is at least 1 s, at most 5 min, and leaves time before a still-valid token expires", () => {
            fc.assert(
                fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 2001, max: 3_600_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (f, now, life, r) => {
                    const d = refreshRetryDelayMs(f, now + life, now, () => r);
                    return d >= 1000 && d <= 300_000 && now + d < now + life;
                }),
            );
        });
    });

    describe("Retry-After and response classification", () => {
        it("parses delta-seconds and HTTP-dates", () => {
            assert.equal(parseRetryAfterMs("7", 0), 7000);
            assert.equal(parseRetryAfterMs(new Date(60_000).toUTCString(), 0), 60_000);
            assert.equal(parseRetryAfterMs("soon", 0), undefined);
            assert.equal(parseRetryAfterMs(null, 0), undefined);
        });
        it("treats 429 and marked 403s as rate limits and plain 403/401/404 as auth failures", () => {
            const now = 1_000_000;
            assert.deepEqual(classifyResponse(429, headers({ "retry-after": "3" }), undefined, now), { kind: "retry", reason: "rate limited (429)", rateLimited: true, waitMs: 3000 });
            assert.equal((classifyResponse(403, headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 10) }), undefined, now) as { waitMs: number }).waitMs, 11_000);
            assert.equal((classifyResponse(403, headers({}), "You have exceeded a secondary rate limit", now) as { waitMs: number }).waitMs, RATE_LIMIT_DEFAULT_WAIT_MS);
            assert.equal(classifyResponse(403, headers({ "x-ratelimit-remaining": "12" }), "Resource not accessible by integration", now).kind, "auth");
            assert.equal(classifyResponse(401, headers({}), undefined, now).kind, "auth");
            assert.equal(classifyResponse(404, headers({}), undefined, now).kind, "auth");
            assert.equal(classifyResponse(502, headers({}), undefined, now).kind, "retry");
            assert.equal(classifyResponse(422, headers({}), undefined, now).kind, "fail");
            assert.equal(classifyResponse(201, headers({}), undefined, now).kind, "ok");
        });
        it("classifies every status into exactly one verdict", () => {
            fc.assert(fc.property(fc.integer({ min: 100, max: 599 }), (s) => ["ok", "retry", "auth", "fail"].includes(classifyResponse(s, headers({}), undefined, 0).kind)));
        });
    });

    describe("app JWT", () => {
        it("claims: iat 60 s back, exp within 10 minutes of iat, iss the app id as a string", () => {
            fc.assert(
                fc.property(fc.integer({ min: 0, max: 2 ** 42 }), fc.integer({ min: 1, max: 99_999_999 }), (nowMs, id) => {
                    const c = appJwtClaims(String(id), nowMs);
                    const now = Math.floor(nowMs / 1000);
                    return c.iss === String(id) && c.iat === now - 60 && c.exp > now && c.exp - c.iat <= JWT_MAX_LIFETIME_SECONDS;
                }),
            );
        });
        for (const format of ["pkcs1", "pkcs8"] as const) {
            it(`signs RS256 with a ${format} key and verifies with the public key`, async () => {
                const k = appKeys();
                const key = loadPrivateKey(k[format], "PRIVATE_KEY");
                const now = Date.now();
                const jwt = await signAppJwt(key, "12345", now);
                assert.equal(decodeProtectedHeader(jwt).alg, "RS256");
                const { payload } = await jwtVerify(jwt, k.publicKey, { algorithms: ["RS256"], issuer: "12345" });
                assert.equal(payload.iss, "12345");
                assert.equal(typeof decodeJwt(jwt).iss, "string");
                // and not with another key
                await assert.rejects(jwtVerify(jwt, newKeys().publicKey, { algorithms: ["RS256"] }));
            });
        }
    });

    describe("loadPrivateKey", () => {
        it("accepts PKCS#1 and PKCS#8, also with CRLF endings or literal \\n (normalisePem)", () => {
            const k = appKeys();
            assert.equal(loadPrivateKey(k.pkcs1, "PRIVATE_KEY").asymmetricKeyType, "rsa");
            assert.equal(loadPrivateKey(k.pkcs8, "PRIVATE_KEY_FILE").asymmetricKeyType, "rsa");
            assert.equal(loadPrivateKey(normalisePem(k.pkcs8.replace(/\n/g, "\r\n")), "PRIVATE_KEY").asymmetricKeyType, "rsa");
            // as pasted into a CI variable: one line with literal backslash-n
            assert.equal(loadPrivateKey(normalisePem(k.pkcs1.trim().replace(/\n/g, "\\n")), "PRIVATE_KEY").asymmetricKeyType, "rsa");
            assert.equal(createPublicKey(loadPrivateKey(k.pkcs1, "PRIVATE_KEY")).export({ format: "pem", type: "spki" }), k.publicKey.export({ format: "pem", type: "spki" }));
        });
        it("rejects malformed, truncated, encrypted and non-RSA keys with a ConfigError naming the variable and never the key", () => {
            const k = appKeys();
            const body = k.pkcs1.split("\n")[3] as string;
            const cases = [
                "not a key at all",
                k.pkcs1.slice(0, k.pkcs1.length / 2),
                k.pkcs1.replace(body, body.split("").reverse().join("")),
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIabc\n-----END ENCRYPTED PRIVATE KEY-----\n",
            ];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { generateKeyPairSync } = require("node:crypto") as typeof import("node:crypto");
            cases.push(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString());
            for (const pem of cases) {
                let err: unknown;
                try {
                    loadPrivateKey(pem, "PRIVATE_KEY_FILE");
                } catch (e) {
                    err = e;
                }
                assert.ok(err instanceof ConfigError, `expected ConfigError for ${pem.slice(0, 30)}`);
                assert.equal(exitCodeFor(err), 2);
                assert.match(err.message, /^PRIVATE_KEY_FILE: /);
                assert.match(err.message, /fix: /);
                for (const line of pem.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"))) assert.ok(!err.message.includes(line), "key material in message");
            }
        });
    });

    it("scrub removes every occurrence of each secret", () => {
        // The secret holds a Z that neither the surrounding text nor "[redacted]" can supply, so no
        // occurrence can be re-formed across a replacement.
        fc.assert(
            fc.property(fc.stringMatching(/^Z[0-9a-f]{7,30}$/), fc.array(fc.string({ unit: fc.constantFrom("a", "b", " ", "\n") }), { maxLength: 6 }), (secret, parts) => {
                const out = scrub(parts.join(secret), [secret]);
                return !out.includes(secret) && out.split("[redacted]").length === Math.max(parts.length, 1);
            }),
        );
        assert.equal(scrub("a SECRET-1234 b SECRET-1234", ["SECRET-1234"]), "a [redacted] b [redacted]");
    });
});
