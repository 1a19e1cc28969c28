import { strict as assert } from "node:assert";
import fc from "fast-check";
import { ConfigError, parseApiUrl, parseConfig, parseMode, parsePermissions, parseRepositories } from "../../../tokengen";

const KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
const noFile = (p: string): string => {
    throw Object.assign(new Error(`ENOENT ${p}`), { code: "ENOENT" });
};

function configError(fn: () => unknown): ConfigError {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
        return e;
    }
    assert.fail("expected a ConfigError");
}

describe("tokengen config", () => {
    it("applies the documented defaults", () => {
        const c = parseConfig({ APP_ID: "123", PRIVATE_KEY: KEY }, noFile);
        assert.equal(c.appId, "123");
        assert.equal(c.outputPath, "/var/run/github/token");
        assert.equal(c.expiresPath, "/var/run/github/token.expires_at");
        assert.equal(c.apiUrl, "https://api.github.com");
        assert.equal(c.refreshBeforeSeconds, 900);
        assert.equal(c.logLevel, "info");
        assert.equal(c.installationId, undefined);
        assert.equal(c.repositories, undefined);
        assert.equal(c.permissions, undefined);
        assert.equal(c.privateKeySource, "PRIVATE_KEY");
        assert.equal(c.outputMode, 0o600);
    });

    it("OUTPUT_MODE: 0600 or 0640 only (never world-readable, never writable by others)", () => {
        for (const [raw, mode] of [["0600", 0o600], ["600", 0o600], ["0640", 0o640], ["640", 0o640]] as const) {
            assert.equal(parseConfig({ APP_ID: "123", PRIVATE_KEY: KEY, OUTPUT_MODE: raw }, noFile).outputMode, mode, raw);
        }
        for (const raw of ["0644", "0666", "0660", "777", "rw-r-----", "0o640"]) {
            const e = configError(() => parseConfig({ APP_ID: "123", PRIVATE_KEY: KEY, OUTPUT_MODE: raw }, noFile));
            assert.equal(e.variable, "OUTPUT_MODE");
            assert.match(e.message, /OUTPUT_MODE.*not an accepted file mode.*0600.*0640/);
        }
    });

    it("reads every variable of the env contract", () => {
        const c = parseConfig(
            {
                APP_ID: "42",
                PRIVATE_KEY_FILE: "/keys/app.pem",
                INSTALLATION_ID: "777",
                OUTPUT_PATH: "/out/tok",
                GITHUB_API_URL: "https://ghe.example.com/api/v3/",
                GITHUB_REPOSITORY: "acme/widgets",
                GITHUB_REPOSITORIES: "widgets, acme/gadgets,widgets",
                GITHUB_PERMISSIONS: '{"contents":"read","pull_requests":"write"}',
                REFRESH_BEFORE_SECONDS: "600",
                LOG_LEVEL: "debug",
            },
            (p) => (p === "/keys/app.pem" ? KEY : noFile(p)),
        );
        assert.equal(c.privateKeyPem, KEY);
        assert.equal(c.privateKeySource, "PRIVATE_KEY_FILE");
        assert.equal(c.installationId, 777);
        assert.equal(c.expiresPath, "/out/tok.expires_at");
        assert.equal(c.apiUrl, "https://ghe.example.com/api/v3");
        assert.equal(c.owner, "acme");
        assert.equal(c.repository, "widgets");
        assert.deepEqual(c.repositories, ["widgets", "gadgets"]);
        assert.deepEqual(c.permissions, { contents: "read", pull_requests: "write" });
        assert.equal(c.refreshBeforeSeconds, 600);
        assert.equal(c.logLevel, "debug");
    });

    it("scopes the token to GITHUB_REPOSITORY when GITHUB_REPOSITORIES is unset", () => {
        assert.deepEqual(parseConfig({ APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_REPOSITORY: "acme/one" }, noFile).repositories, ["one"]);
        assert.deepEqual(parseConfig({ APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_OWNER: "acme", GITHUB_REPOSITORY: "one" }, noFile).repositories, ["one"]);
        assert.equal(parseConfig({ APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_OWNER: "acme" }, noFile).repositories, undefined);
    });

    const bad: [string, Record<string, string>, RegExp][] = [
        ["APP_ID", { PRIVATE_KEY: KEY }, /APP_ID: is not set/],
        ["APP_ID", { APP_ID: "12a", PRIVATE_KEY: KEY }, /APP_ID: .*neither/],
        ["PRIVATE_KEY", { APP_ID: "1" }, /neither PRIVATE_KEY nor PRIVATE_KEY_FILE/],
        ["PRIVATE_KEY", { APP_ID: "1", PRIVATE_KEY: KEY, PRIVATE_KEY_FILE: "/k" }, /both/],
        ["PRIVATE_KEY_FILE", { APP_ID: "1", PRIVATE_KEY_FILE: "/missing.pem" }, /cannot read "\/missing.pem" \(ENOENT\)/],
        ["INSTALLATION_ID", { APP_ID: "1", PRIVATE_KEY: KEY, INSTALLATION_ID: "-3" }, /not a positive integer/],
        ["GITHUB_API_URL", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_API_URL: "ftp://x" }, /scheme/],
        ["GITHUB_API_URL", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_API_URL: "https://u:p@x/" }, /credentials/],
        ["GITHUB_REPOSITORY", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_REPOSITORY: "a/b/c" }, /owner\/repo/],
        ["GITHUB_REPOSITORY", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_REPOSITORY: "solo" }, /has no owner/],
        ["GITHUB_REPOSITORY", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_OWNER: "x", GITHUB_REPOSITORY: "y/z" }, /differs/],
        ["GITHUB_REPOSITORIES", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_OWNER: "x", GITHUB_REPOSITORIES: "other/z" }, /owner other/],
        ["GITHUB_REPOSITORIES", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_REPOSITORIES: " , " }, /lists no repository/],
        ["GITHUB_PERMISSIONS", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_PERMISSIONS: "{contents:read}" }, /not valid JSON/],
        ["GITHUB_PERMISSIONS", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_PERMISSIONS: '["contents"]' }, /not a JSON object/],
        ["GITHUB_PERMISSIONS", { APP_ID: "1", PRIVATE_KEY: KEY, GITHUB_PERMISSIONS: '{"contents":"all"}' }, /level "all"/],
        ["REFRESH_BEFORE_SECONDS", { APP_ID: "1", PRIVATE_KEY: KEY, REFRESH_BEFORE_SECONDS: "3600" }, /between 1 and 3599/],
        ["LOG_LEVEL", { APP_ID: "1", PRIVATE_KEY: KEY, LOG_LEVEL: "loud" }, /not a log level/],
        ["OUTPUT_PATH", { APP_ID: "1", PRIVATE_KEY: KEY, OUTPUT_PATH: "/var/run/github/" }, /names a directory/],
    ];
    for (const [variable, env, re] of bad) {
        it(`rejects a bad ${variable} (${re.source}) naming it and the fix`, () => {
            const e = configError(() => parseConfig(env, noFile));
            assert.equal(e.variable, variable);
            assert.match(e.message, re);
            assert.match(e.message, /fix: /);
            assert.equal(e.exitCode, 2);
        });
    }

    it("never echoes the inline key in a config error", () => {
        const canaryKey = "-----BEGIN RSA PRIVATE KEY-----\nCANARYKEYMATERIAL0123456789\n-----END RSA PRIVATE KEY-----";
        const e = configError(() => parseConfig({ APP_ID: "1", PRIVATE_KEY: canaryKey, PRIVATE_KEY_FILE: "/k" }, noFile));
        assert.ok(!e.message.includes("CANARYKEYMATERIAL"));
    });

    it("parses the mode argument", () => {
        assert.equal(parseMode([]), "once");
        assert.equal(parseMode(["once"]), "once");
        assert.equal(parseMode(["sidecar"]), "sidecar");
        assert.match(configError(() => parseMode(["daemon"])).message, /unknown mode "daemon"/);
    });

    it("keeps GitHub Enterprise path prefixes and drops trailing slashes (property)", () => {
        fc.assert(
            fc.property(fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { maxLength: 4 }), fc.integer({ min: 0, max: 3 }), (segs, slashes) => {
                const prefix = segs.map((s) => `/${s}`).join("");
                const u = parseApiUrl(`https://ghe.example.com${prefix}${"/".repeat(slashes)}`);
                return u === `https://ghe.example.com${prefix}` && !u.endsWith("/");
            }),
        );
    });

    it("deduplicates repositories and accepts owner/ prefixes of the same owner (property)", () => {
        fc.assert(
            fc.property(fc.array(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), { minLength: 1, maxLength: 10 }), fc.boolean(), (names, prefixed) => {
                const raw = names.map((n) => (prefixed ? `Acme/${n}` : n)).join(",");
                const out = parseRepositories(raw, "acme") ?? [];
                return out.length === new Set(names).size && out.every((n) => names.includes(n));
            }),
        );
    });

    it("permissions round-trip for valid objects", () => {
        fc.assert(
            fc.property(fc.dictionary(fc.stringMatching(/^[a-z][a-z_]{0,15}$/), fc.constantFrom("read", "write", "admin"), { minKeys: 1 }), (perms) => {
                assert.deepEqual(parsePermissions(JSON.stringify(perms)), { ...perms });
            }),
        );
    });
});
