import { strict as assert } from "node:assert";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { canaryValue } from "../../support";
import { ACME, APP_ID, failureMessage, harness, Harness, JANE, OTHER, runMain } from "./harness";
import { appKeys, pemBodyFragments } from "./helpers";

const isTokenPath = (m: string, p: string) => m === "POST" && p.endsWith("/access_tokens");

describe("tokengen once mode against the GitHub stand-in", () => {
    let h: Harness;
    afterEach(async () => {
        await h?.close();
    });

    for (const format of ["pkcs1", "pkcs8"] as const) {
        it(`writes the token (mode 0600) and its expiry with a ${format} key`, async () => {
            h = await harness();
            const r = await runMain(h, "once", { ...h.env, PRIVATE_KEY: appKeys()[format], INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 0, r.logs);
            assert.equal(h.standin.issued.length, 1);
            const issued = h.standin.issued[0]!;
            assert.equal(readFileSync(h.outputPath, "utf8"), issued.token);
            assert.equal(statSync(h.outputPath).mode & 0o777, 0o600);
            assert.equal(statSync(`${h.outputPath}.expires_at`).mode & 0o777, 0o600);
            const exp = readFileSync(`${h.outputPath}.expires_at`, "utf8");
            assert.match(exp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
            assert.equal(new Date(exp).getTime(), new Date(issued.expiresAt).getTime());
            // only the token endpoint was needed, and its JWT passed the stand-in's signature check
            assert.deepEqual(h.standin.requests.map((q) => [q.method, q.path, q.status]), [["POST", `/app/installations/${ACME.id}/access_tokens`, 201]]);
            assert.equal(h.standin.requests[0]!.jwtError, undefined);
            assert.equal(r.delays.length, 0);
        });
    }

    it("OUTPUT_MODE=0640 (what the pod fragment sets) writes both files group-readable, the directory it creates 0750", async () => {
        h = await harness();
        const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id), OUTPUT_MODE: "0640" });
        assert.equal(r.code, 0, r.logs);
        assert.equal(statSync(h.outputPath).mode & 0o777, 0o640);
        assert.equal(statSync(`${h.outputPath}.expires_at`).mode & 0o777, 0o640);
        assert.equal(statSync(path.dirname(h.outputPath)).mode & 0o777, 0o750);
    });

    it("passes GITHUB_REPOSITORIES and GITHUB_PERMISSIONS in the token request", async () => {
        h = await harness();
        const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id), GITHUB_OWNER: "acme", GITHUB_REPOSITORIES: "widgets,acme/gadgets", GITHUB_PERMISSIONS: '{"contents":"read"}' });
        assert.equal(r.code, 0, r.logs);
        assert.deepEqual(h.standin.issued[0]!.repositories, ["widgets", "gadgets"]);
        assert.deepEqual(h.standin.issued[0]!.permissions, { contents: "read" });
    });

    it("a repository the installation cannot reach → 422 → exit 1 naming GITHUB_REPOSITORIES", async () => {
        h = await harness();
        const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id), GITHUB_REPOSITORY: "acme/secret-stuff" });
        assert.equal(r.code, 1);
        assert.match(failureMessage(r), /422.*GITHUB_REPOSITORIES/);
    });

    describe("installation auto-discovery", () => {
        it("uses the App's single installation", async () => {
            h = await harness({ installations: [OTHER] });
            const r = await runMain(h, "once", h.env);
            assert.equal(r.code, 0, r.logs);
            assert.equal(h.standin.issued[0]!.installationId, OTHER.id);
            assert.equal(h.standin.requests[0]!.path, "/app/installations?per_page=100&page=1");
            assert.match(r.logs, /"installationId":1002,"account":"other-org","msg":"installation discovered"/);
        });
        it("zero installations → exit 3 with a clear message", async () => {
            h = await harness({ installations: [] });
            const r = await runMain(h, "once", h.env);
            assert.equal(r.code, 3);
            assert.match(failureMessage(r), /App 31337 has no installations; fix: install the GitHub App/);
            assert.equal(h.standin.tokenRequests().length, 0);
        });
        it("several installations → exit 2 listing ids and logins and asking for INSTALLATION_ID", async () => {
            h = await harness({ installations: [ACME, OTHER, JANE] });
            const r = await runMain(h, "once", h.env);
            assert.equal(r.code, 2);
            const m = failureMessage(r);
            assert.match(m, /^INSTALLATION_ID: is not set and App 31337 has 3 installations: 1001 \(acme\), 1002 \(other-org\), 1003 \(jane\); fix: set INSTALLATION_ID/);
            assert.equal(h.standin.tokenRequests().length, 0);
        });
        it("by GITHUB_REPOSITORY among several installations, scoping the token to it", async () => {
            h = await harness({ installations: [OTHER, ACME, JANE] });
            const r = await runMain(h, "once", { ...h.env, GITHUB_REPOSITORY: "acme/widgets" });
            assert.equal(r.code, 0, r.logs);
            assert.equal(h.standin.requests[0]!.path, "/repos/acme/widgets/installation");
            assert.equal(h.standin.issued[0]!.installationId, ACME.id);
            assert.deepEqual(h.standin.issued[0]!.repositories, ["widgets"]);
        });
        it("by GITHUB_OWNER for a user account (orgs lookup 404 → users lookup)", async () => {
            h = await harness({ installations: [OTHER, ACME, JANE] });
            const r = await runMain(h, "once", { ...h.env, GITHUB_OWNER: "jane" });
            assert.equal(r.code, 0, r.logs);
            assert.deepEqual(h.standin.requests.map((q) => [q.path, q.status]).slice(0, 2), [["/orgs/jane/installation", 404], ["/users/jane/installation", 200]]);
            assert.equal(h.standin.issued[0]!.installationId, JANE.id);
        });
        it("repository without the App → exit 3 naming the repository", async () => {
            h = await harness({ installations: [ACME] });
            const r = await runMain(h, "once", { ...h.env, GITHUB_REPOSITORY: "elsewhere/thing" });
            assert.equal(r.code, 3);
            assert.match(failureMessage(r), /not installed on elsewhere\/thing/);
        });
        it("a stale INSTALLATION_ID → 404 → exit 3 naming INSTALLATION_ID", async () => {
            h = await harness();
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: "999" });
            assert.equal(r.code, 3);
            assert.match(failureMessage(r), /installation 999 does not exist for App 31337; fix: check INSTALLATION_ID/);
        });
    });

    describe("retries and failures", () => {
        it("5xx and a dropped connection, then success: retried with bounded full-jitter backoff", async () => {
            h = await harness();
            h.standin.addFault({ match: isTokenPath, times: 2, status: 502 });
            h.standin.addFault({ match: isTokenPath, times: 1, network: true });
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 0, r.logs);
            assert.equal(h.standin.tokenRequests().length, 4);
            // random() = 0.5 → half of base·2^n
            assert.deepEqual(r.delays, [500, 1000, 2000]);
            assert.equal(readFileSync(h.outputPath, "utf8"), h.standin.issued[0]!.token);
            assert.match(r.logs, /network error/);
        });
        it("a 429 secondary rate limit honours Retry-After exactly", async () => {
            h = await harness();
            h.standin.addFault({ match: isTokenPath, times: 1, status: 429, headers: { "retry-after": "7" }, body: { message: "You have exceeded a secondary rate limit" } });
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 0, r.logs);
            assert.deepEqual(r.delays, [7000]);
            const [first, second] = h.standin.tokenRequests();
            assert.equal(second!.at - first!.at, 7000);
        });
        it("a 403 with x-ratelimit-remaining: 0 waits until x-ratelimit-reset", async () => {
            h = await harness();
            const reset = Math.floor(h.clock.now() / 1000) + 42;
            h.standin.addFault({ match: isTokenPath, times: 1, status: 403, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) }, body: { message: "API rate limit exceeded" } });
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 0, r.logs);
            assert.deepEqual(r.delays, [43_000]);
        });
        it("a rate limit asking for longer than 15 minutes fails at once with exit 4", async () => {
            h = await harness();
            h.standin.addFault({ match: isTokenPath, times: 1, status: 429, headers: { "retry-after": "3600" } });
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 4);
            assert.deepEqual(r.delays, []);
            assert.match(failureMessage(r), /asks to wait 3600 s/);
        });
        it("persistent 503 → 6 attempts → exit 4", async () => {
            h = await harness();
            h.standin.addFault({ times: 100, status: 503 });
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 4);
            assert.equal(h.standin.tokenRequests().length, 6);
            assert.equal(r.delays.length, 5);
            assert.match(failureMessage(r), /failed 6 times, last: server error \(503\)/);
        });
        it("401 fails fast with exit 3 and no retry", async () => {
            h = await harness();
            h.standin.addFault({ match: isTokenPath, times: 1, status: 401, body: { message: "Bad credentials" } });
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 3);
            assert.equal(h.standin.requests.length, 1);
            assert.deepEqual(r.delays, []);
            assert.match(failureMessage(r), /→ 401: "Bad credentials"; fix: check that APP_ID \(31337\)/);
        });
        it("a plain 403 (permission) fails fast with exit 3", async () => {
            h = await harness();
            h.standin.addFault({ match: isTokenPath, times: 1, status: 403, headers: { "x-ratelimit-remaining": "4999" }, body: { message: "Resource not accessible by integration" } });
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 3);
            assert.equal(h.standin.requests.length, 1);
        });
        it("the wrong APP_ID is rejected by the stand-in's signature check → 401 → exit 3", async () => {
            h = await harness();
            const r = await runMain(h, "once", { ...h.env, APP_ID: "4242", INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 3);
            assert.equal(h.standin.requests[0]!.status, 401);
            assert.match(h.standin.requests[0]!.jwtError ?? "", /no app 4242/);
            assert.match(failureMessage(r), /APP_ID \(4242\) is the App the private key belongs to/);
        });
        it("a key of another App (right APP_ID, wrong key) fails the signature check → exit 3", async () => {
            h = await harness();
            const { generateKeyPairSync } = await import("node:crypto");
            const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
            const r = await runMain(h, "once", { ...h.env, PRIVATE_KEY: other, INSTALLATION_ID: String(ACME.id) });
            assert.equal(r.code, 3);
            assert.match(h.standin.requests[0]!.jwtError ?? "", /signature/);
        });
        it("a malformed PEM → exit 2 before any request, naming the variable", async () => {
            h = await harness();
            const r = await runMain(h, "once", { ...h.env, PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtruncated\n-----END RSA PRIVATE KEY-----\n" });
            assert.equal(r.code, 2);
            assert.equal(h.standin.requests.length, 0);
            assert.match(failureMessage(r), /^PRIVATE_KEY: holds a malformed PEM private key/);
        });
        it("a missing PRIVATE_KEY_FILE → exit 2", async () => {
            h = await harness();
            const env = { ...h.env, PRIVATE_KEY: undefined, PRIVATE_KEY_FILE: "/nonexistent/key.pem" };
            const r = await runMain(h, "once", env, { readFile: (p) => readFileSync(p, "utf8") });
            assert.equal(r.code, 2);
            assert.match(failureMessage(r), /^PRIVATE_KEY_FILE: cannot read "\/nonexistent\/key.pem" \(ENOENT\)/);
        });
        it("an unwritable OUTPUT_PATH → exit 2 naming it", async () => {
            h = await harness();
            // the parent "directory" is a regular file
            writeFileSync(path.join(h.dir, "plain-file"), "x");
            const r = await runMain(h, "once", { ...h.env, INSTALLATION_ID: String(ACME.id), OUTPUT_PATH: path.join(h.dir, "plain-file", "token") });
            assert.equal(r.code, 2);
            assert.match(failureMessage(r), /^OUTPUT_PATH: cannot write ".*" \((ENOTDIR|EEXIST)\); fix: mount a writable volume/);
        });
    });

    it("works against a GitHub Enterprise base URL with a path prefix", async () => {
        h = await harness({ pathPrefix: "/api/v3", installations: [OTHER] });
        assert.match(h.apiUrl, /\/api\/v3$/);
        const r = await runMain(h, "once", { ...h.env, GITHUB_API_URL: `${h.apiUrl}/` });
        assert.equal(r.code, 0, r.logs);
        assert.ok(h.standin.requests.length >= 2);
        assert.ok(h.standin.requests.every((q) => q.status === 200 || q.status === 201));
        // and the stand-in really enforces the prefix
        const without = await runMain(h, "once", { ...h.env, GITHUB_API_URL: h.standin.origin() });
        assert.equal(without.code, 3);
    });

    it("canary: the token, the JWT and the key never appear in logs or error messages", async () => {
        const tokenCanary = `ghs_${canaryValue()}`;
        h = await harness({ installations: [ACME, OTHER], tokenFactory: () => tokenCanary });
        const runs = [
            await runMain(h, "once", { ...h.env, GITHUB_REPOSITORY: "acme/widgets" }),
            await runMain(h, "once", { ...h.env }), // several installations: error path
            await runMain(h, "once", { ...h.env, APP_ID: "1", INSTALLATION_ID: "1001" }), // 401 path
            await runMain(h, "once", { ...h.env, GITHUB_API_URL: "http://127.0.0.1:1", INSTALLATION_ID: "1001" }), // network errors
        ];
        assert.deepEqual(runs.map((r) => r.code), [0, 2, 3, 4]);
        assert.equal(readFileSync(h.outputPath, "utf8"), tokenCanary);
        const jwts = h.standin.requests.map((q) => q.jwt).filter((j): j is string => !!j);
        assert.ok(jwts.length >= 3);
        const secrets = [tokenCanary, tokenCanary.slice(4), ...jwts, ...jwts.map((j) => j.split(".")[2]!), ...pemBodyFragments(appKeys().pkcs1)];
        for (const r of runs) {
            assert.ok(r.lines.length > 0);
            for (const s of secrets) assert.ok(!r.logs.includes(s), `secret leaked into logs: ${s.slice(0, 12)}…`);
        }
        // logs carry app id, installation id and expiry
        const written = runs[0]!.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "installation token written");
        assert.equal(written?.appId, APP_ID);
        assert.equal(written?.installationId, ACME.id);
        assert.equal(typeof written?.expiresAt, "string");

        // a malformed key carrying a canary is not echoed either
        const keyCanary = canaryValue();
        const bad = await runMain(h, "once", { ...h.env, PRIVATE_KEY: `-----BEGIN RSA PRIVATE KEY-----\n${keyCanary}\n-----END RSA PRIVATE KEY-----` });
        assert.equal(bad.code, 2);
        assert.ok(!bad.logs.includes(keyCanary));
    });
});
