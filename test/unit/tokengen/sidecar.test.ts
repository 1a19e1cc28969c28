import { strict as assert } from "node:assert";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { ACME, harness, Harness, runMain } from "./harness";

const isTokenPath = (m: string, p: string) => m === "POST" && p.endsWith("/access_tokens");
const MIN = 60_000;

describe("tokengen sidecar mode with a fake clock", () => {
    let h: Harness;
    afterEach(async () => {
        await h?.close();
    });

    it("refreshes REFRESH_BEFORE_SECONDS before each expiry and stops cleanly on abort", async () => {
        h = await harness();
        const t0 = h.clock.now();
        const ac = new AbortController();
        const r = await runMain(h, "sidecar", { ...h.env, INSTALLATION_ID: String(ACME.id) }, {
            signal: ac.signal,
            onSleep: () => {
                if (h.standin.issued.length >= 4) ac.abort();
            },
        });
        assert.equal(r.code, 0, r.logs);
        const at = h.standin.tokenRequests().map((q) => (q.at - t0) / MIN);
        // 60-minute tokens, default 900 s: at 0, 45, 90, 135 minutes
        assert.deepEqual(at, [0, 45, 90, 135]);
        assert.equal(readFileSync(h.outputPath, "utf8"), h.standin.issued[3]!.token);
        assert.equal(new Date(readFileSync(`${h.outputPath}.expires_at`, "utf8")).getTime(), new Date(h.standin.issued[3]!.expiresAt).getTime());
        // sleeps are chunked to at most a minute so a late timer cannot delay a refresh by more than that
        assert.ok(r.delays.every((d) => d <= MIN));
        assert.match(r.logs, /termination signal received, sidecar exiting/);
    });

    it("honours REFRESH_BEFORE_SECONDS", async () => {
        h = await harness();
        const t0 = h.clock.now();
        const ac = new AbortController();
        const r = await runMain(h, "sidecar", { ...h.env, INSTALLATION_ID: String(ACME.id), REFRESH_BEFORE_SECONDS: "300" }, {
            signal: ac.signal,
            onSleep: () => {
                if (h.standin.issued.length >= 3) ac.abort();
            },
        });
        assert.equal(r.code, 0, r.logs);
        assert.deepEqual(h.standin.tokenRequests().map((q) => (q.at - t0) / MIN), [0, 55, 110]);
    });

    it("keeps the old token while refreshes fail, retries with backoff, and replaces it before it expires", async () => {
        h = await harness();
        const t0 = h.clock.now();
        const ac = new AbortController();
        const seen: { token: string; expiresAt: number; now: number }[] = [];
        let armed = false;
        const r = await runMain(h, "sidecar", { ...h.env, INSTALLATION_ID: String(ACME.id) }, {
            signal: ac.signal,
            onSleep: () => {
                if (h.standin.issued.length === 1 && !armed) {
                    // every attempt of the first two refresh rounds (6 attempts each) fails
                    h.standin.addFault({ match: isTokenPath, times: 12, status: 503 });
                    armed = true;
                }
                seen.push({ token: readFileSync(h.outputPath, "utf8"), expiresAt: Date.parse(readFileSync(`${h.outputPath}.expires_at`, "utf8")), now: h.clock.now() });
                if (h.standin.issued.length >= 2) ac.abort();
            },
        });
        assert.equal(r.code, 0, r.logs);
        const reqs = h.standin.tokenRequests();
        assert.equal(reqs.length, 1 + 12 + 1);
        assert.equal(reqs.filter((q) => q.status === 503).length, 12);
        assert.equal((reqs[1]!.at - t0) / MIN, 45);
        // the replacement came before the first token expired
        assert.ok(reqs[13]!.at < t0 + 60 * MIN, `refreshed at ${(reqs[13]!.at - t0) / MIN} min`);
        // every time a reader could have looked, the file held an issued, unexpired token
        const issued = new Set(h.standin.issued.map((i) => i.token));
        for (const s of seen) {
            assert.ok(issued.has(s.token));
            assert.ok(s.expiresAt > s.now, "a reader saw an expired token");
        }
        assert.equal(readFileSync(h.outputPath, "utf8"), h.standin.issued[1]!.token);
        assert.match(r.logs, /token refresh failed; keeping the current token/);
    });

    it("reuses a still-valid token written by the init container instead of minting another at start", async () => {
        h = await harness();
        const t0 = h.clock.now();
        mkdirSync(path.dirname(h.outputPath), { recursive: true });
        writeFileSync(h.outputPath, "ghs_from_init_container", { mode: 0o600 });
        writeFileSync(`${h.outputPath}.expires_at`, new Date(t0 + 50 * MIN).toISOString(), { mode: 0o600 });
        const ac = new AbortController();
        const r = await runMain(h, "sidecar", { ...h.env, INSTALLATION_ID: String(ACME.id) }, {
            signal: ac.signal,
            onSleep: () => {
                if (h.standin.issued.length >= 1) ac.abort();
            },
        });
        assert.equal(r.code, 0, r.logs);
        assert.deepEqual(h.standin.tokenRequests().map((q) => (q.at - t0) / MIN), [35]);
        assert.match(r.logs, /reusing the token already on disk/);
    });

    it("exits with the auth code once the old token has expired and refreshes keep getting 401", async () => {
        h = await harness();
        const t0 = h.clock.now();
        let armed = false;
        const r = await runMain(h, "sidecar", { ...h.env, INSTALLATION_ID: String(ACME.id) }, {
            onSleep: () => {
                if (!armed && h.standin.issued.length === 1) {
                    h.standin.addFault({ match: isTokenPath, times: 1000, status: 401, body: { message: "Bad credentials" } });
                    armed = true;
                }
            },
        });
        assert.equal(r.code, 3, r.logs);
        const failed = h.standin.tokenRequests().filter((q) => q.status === 401);
        assert.ok(failed.length >= 2, "retried while the old token was valid");
        assert.ok(failed.every((q, i) => i === failed.length - 1 || q.at < t0 + 60 * MIN), "only the last attempt is after expiry");
        assert.ok(failed[failed.length - 1]!.at >= t0 + 60 * MIN);
        assert.match(r.logs, /no valid token remains/);
    });

    it("re-discovers the installation when a discovered one disappears (App re-installed under a new id)", async () => {
        const installations = [{ ...ACME }];
        h = await harness({ installations });
        const t0 = h.clock.now();
        const ac = new AbortController();
        const r = await runMain(h, "sidecar", { ...h.env, GITHUB_REPOSITORY: "acme/widgets" }, {
            signal: ac.signal,
            onSleep: () => {
                if (h.standin.issued.length === 1 && installations[0]!.id === ACME.id) installations[0]!.id = 2002;
                if (h.standin.issued.length >= 2) ac.abort();
            },
        });
        assert.equal(r.code, 0, r.logs);
        assert.deepEqual(h.standin.issued.map((i) => i.installationId), [ACME.id, 2002]);
        const paths = h.standin.requests.map((q) => `${q.path} ${q.status}`);
        assert.deepEqual(paths, [
            "/repos/acme/widgets/installation 200",
            `/app/installations/${ACME.id}/access_tokens 201`,
            `/app/installations/${ACME.id}/access_tokens 404`,
            "/repos/acme/widgets/installation 200",
            "/app/installations/2002/access_tokens 201",
        ]);
        assert.ok(h.standin.requests[4]!.at < t0 + 60 * MIN);
    });

    it("an abort before the first token exits 0 without writing anything", async () => {
        h = await harness();
        h.standin.addFault({ times: 1000, status: 503 });
        const ac = new AbortController();
        const r = await runMain(h, "sidecar", { ...h.env, INSTALLATION_ID: String(ACME.id) }, {
            signal: ac.signal,
            onSleep: (_ms, delays) => {
                if (delays.length >= 3) ac.abort();
            },
        });
        assert.equal(r.code, 0, r.logs);
        assert.throws(() => readFileSync(h.outputPath));
    });
});
