import assert from "node:assert/strict";
import * as http from "node:http";
import { Browser, chromium, Page } from "playwright-core";
import { ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE, ANNOTATION_SYNC_HANDLED, ANNOTATION_SYNC_REQUESTED } from "../../../reconciler/keys";
import type { CliIO } from "../../../cli/io";
import { main } from "../../../cli/main";
import { canaryValue } from "../../support";
import { admin, bootstrapDerived, createNamespace, createSource, deleteNamespaces, eventually, getSecret, Running, startReconciler } from "../reconciler/helpers";
import { CHROMIUM_FLAGS, ensureChromium } from "./browser";
import { adminKubeconfig, assertNoCanary, createConsumer, namespaceUserKubeconfig, SECRETS_READ } from "./helpers";

/**
 * Issue 14 §3 in headless Chromium (Debian's package, driven by playwright-core) against the real apiserver: the
 * table matches the cluster, a sync click updates the row, a user without patch rights sees a clear error, and no
 * secret value reaches the page.
 */

interface DashboardRun {
    url: string;
    stop: () => Promise<void>;
    done: Promise<number>;
}

/** `platform-secrets dashboard` in-process with a kubeconfig, as a person starts it; resolves once it listens. */
async function startDashboardCli(kubeconfig: string, ...args: string[]): Promise<DashboardRun> {
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    let listening!: (url: string) => void;
    const url = new Promise<string>((r) => (listening = r));
    const io: CliIO = {
        stdout: () => undefined,
        stderr: (t) => void process.stderr.write(t),
        stdoutTTY: false,
        stderrTTY: false,
        env: {},
        readFile: () => "",
        interrupted: () => stopped,
        onListening: listening,
    };
    const done = main(["dashboard", ...args, "--port", "0", "--refresh", "1s", "--kubeconfig", kubeconfig], io);
    const u = await Promise.race([url, done.then((code) => Promise.reject(new Error(`dashboard exited with ${code}`)))]);
    return { url: u, done, stop: async () => (stop(), void (await done)) };
}

function rawRequest(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ code: number; text: string }> {
    return new Promise((resolve, reject) => {
        const req = http.request(new URL(path, url), { method, headers }, (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () => resolve({ code: res.statusCode ?? 0, text }));
        });
        req.on("error", reject);
        req.end(body);
    });
}

describe("cli: dashboard in headless Chromium", function () {
    let D: string, other: string;
    let rec: Running;
    let browser: Browser;
    let dash: DashboardRun;
    let readerDash: DashboardRun;
    const canaries: string[] = [];
    const seen: string[] = [];

    const rowsOf = (page: Page) =>
        page.$$eval("tr[data-testid=row]", (trs) =>
            trs.map((tr) => ({ target: tr.getAttribute("data-target"), source: tr.getAttribute("data-source"), state: tr.getAttribute("data-state"), message: tr.querySelector("[data-testid=message]")?.textContent ?? "" })),
        );
    const open = async (url: string): Promise<Page> => {
        const page = await browser.newPage();
        page.on("response", async (res) => seen.push(await res.text().catch(() => "")));
        await page.goto(url);
        await page.waitForSelector("tr[data-testid=row]");
        return page;
    };

    before(async function () {
        this.timeout(600_000); // a first run may install Debian's chromium
        const executablePath = await ensureChromium();
        D = await createNamespace({}, "dash");
        other = await createNamespace({}, "dash-o");
        const [pw1, pw2] = [canaryValue(), canaryValue()];
        canaries.push(pw1, pw2);
        await createSource(D, "db", { username: "app", password: pw1 }, { type: "kubernetes.io/basic-auth", annotations: { "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({ stringData: { password: pw1 } }) } });
        await bootstrapDerived({ format: "tekton-git", source: { namespace: D, name: "db" }, target: { namespace: D, name: "db-tekton" }, options: { gitUrls: ["https://github.com"] } });
        await bootstrapDerived({ format: "mirror", source: { namespace: D, name: "db" }, target: { namespace: D, name: "db-copy" } });
        await createSource(other, "foreign", { token: pw2 });
        await bootstrapDerived({ format: "mirror", source: { namespace: other, name: "foreign" }, target: { namespace: D, name: "foreign-copy" } });
        await createConsumer(D, "web", "db-copy");
        rec = await startReconciler([D, other]);
        for (const [name, st] of [["db-tekton", "in-sync"], ["db-copy", "in-sync"], ["foreign-copy", "refused"]]) {
            await eventually(async () => ((await getSecret(D, name))?.metadata.annotations?.[ANNOTATION_STATUS] === st ? true : undefined), 15_000, `${name} ${st}`);
        }
        browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
        dash = await startDashboardCli(adminKubeconfig(), "-n", D);
    });

    after(async () => {
        await browser?.close();
        await dash?.stop();
        await readerDash?.stop();
        await rec?.stop();
        assertNoCanary(seen.join("\n"), canaries, "what the dashboard served");
        await deleteNamespaces([D, other]);
    });

    it("serves on 127.0.0.1 only; the table matches the cluster, grouped by source, with the graph drawn", async () => {
        assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
        const page = await open(dash.url);
        const rows = await rowsOf(page);
        const live = (await (await admin()).request("GET", `/api/v1/namespaces/${D}/secrets`, { query: { labelSelector: "platform-secrets.io/derived=true" } })).items;
        assert.deepEqual(
            rows.map((r) => r.target).sort(),
            live.map((s: any) => `${D}/${s.metadata.name}`).sort(),
        );
        for (const s of live) {
            const r = rows.find((x) => x.target === `${D}/${s.metadata.name}`)!;
            assert.equal(r.state, s.metadata.annotations[ANNOTATION_STATUS]);
            assert.equal(r.message, s.metadata.annotations[ANNOTATION_STATUS_MESSAGE]);
            assert.equal(r.source, `${s.metadata.annotations["platform-secrets.io/source-namespace"]}/${s.metadata.annotations["platform-secrets.io/source-name"]}`);
        }
        const groups = await page.$$eval("tr[data-testid=group]", (trs) => trs.map((t) => t.getAttribute("data-source")));
        assert.deepEqual(groups, [`${D}/db`, `${other}/foreign`]);
        assert.match((await page.textContent("[data-testid=verdict]")) ?? "", /NOT everything is in sync — 2 in-sync, 1 refused/);
        const nodes = await page.$$eval("#graph g[data-node]", (gs) => gs.map((g) => g.getAttribute("data-node")));
        assert.deepEqual(nodes.sort(), [`deployments:${D}/web`, `secret:${D}/db`, `secret:${D}/db-copy`, `secret:${D}/db-tekton`, `secret:${D}/foreign-copy`, `secret:${other}/foreign`].sort());

        await page.fill("[data-testid=filter]", "tekton");
        assert.deepEqual((await rowsOf(page)).map((r) => r.target), [`${D}/db-tekton`]);
        await page.fill("[data-testid=filter]", "");
        await page.selectOption("[data-testid=state-filter]", "not-in-sync");
        assert.deepEqual((await rowsOf(page)).map((r) => r.target), [`${D}/foreign-copy`]);
        if (process.env.PS_DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.PS_DASHBOARD_SCREENSHOT, fullPage: true });
        seen.push(await page.content());
        await page.close();
    });

    it("auto-refreshes: a change in the cluster shows up without a reload", async () => {
        const page = await open(dash.url);
        await (await admin()).request("DELETE", `/api/v1/namespaces/${D}/secrets/db-tekton`);
        await page.waitForFunction((t) => !(globalThis as any).document.querySelector(`tr[data-target="${t}"]`), `${D}/db-tekton`, { timeout: 10_000 });
        await page.close();
    });

    it("a sync click requests a resync with the user's credentials and updates the row", async () => {
        const page = await open(dash.url);
        const target = `${D}/db-copy`;
        await page.click(`tr[data-target="${target}"] [data-testid=sync]`);
        await page.waitForFunction((t) => /✓ sync handled in [0-9.]+ s: in-sync: in sync with source/.test((globalThis as any).document.querySelector(`tr[data-target="${t}"] [data-testid=message]`)?.textContent ?? ""), target, { timeout: 30_000 });
        const s = await getSecret(D, "db-copy");
        assert.ok(s.metadata.annotations[ANNOTATION_SYNC_REQUESTED]);
        assert.equal(s.metadata.annotations[ANNOTATION_SYNC_HANDLED], s.metadata.annotations[ANNOTATION_SYNC_REQUESTED]);
        assert.equal(await page.getAttribute(`tr[data-target="${target}"]`, "data-state"), "in-sync");
        seen.push(await page.content());
        await page.close();
    });

    it("the rotation panel follows a source's rotation (the same view as `platform-secrets rotation`); only for sources it shows", async () => {
        const page = await open(dash.url);
        await page.click(`tr[data-testid=group][data-source="${D}/db"] [data-testid=rotation-button]`);
        await page.waitForSelector("[data-testid=rotation-verdict]", { timeout: 20_000 });
        const steps = await page.$$eval("tr[data-testid=rotation-step]", (trs) => trs.map((t) => `${t.getAttribute("data-kind")}:${t.children[1]?.textContent}:${t.getAttribute("data-state")}`));
        // A plain source (no ExternalSecret, no hooks): its derived secrets and the workload that follows it.
        assert.ok(steps.includes(`derived:${D}/db-copy:done`), steps.join(" "));
        assert.ok(steps.some((x) => x.startsWith(`workload:deployments/${D}/web:`)), steps.join(" "));
        assert.match((await page.textContent("[data-testid=rotation-verdict]")) ?? "", new RegExp(`^secret ${D}/db: `));
        seen.push(await page.content());
        await page.close();
        const T = { Host: new URL(dash.url).host, "X-Dashboard-Token": new URL(dash.url).searchParams.get("token")! };
        const outside = await rawRequest(dash.url, "GET", `/api/rotation?source=${encodeURIComponent(`${other}/foreign`)}`, T);
        assert.equal(outside.code, 403);
        assert.match(outside.text, /outside this dashboard's scope/);
        assert.equal((await rawRequest(dash.url, "GET", `/api/rotation?source=${encodeURIComponent(`${D}/db`)}`, { Host: T.Host })).code, 401, "needs the session token");
    });

    it("a user without patch rights sees a clear error, and nothing is written", async () => {
        readerDash = await startDashboardCli(await namespaceUserKubeconfig(D, [SECRETS_READ]));
        const page = await open(readerDash.url);
        const target = `${D}/db-copy`;
        const before = (await getSecret(D, "db-copy")).metadata.resourceVersion;
        await page.click(`tr[data-target="${target}"] [data-testid=sync]`);
        const banner = await page.waitForSelector("[data-testid=banner-error]", { timeout: 15_000 });
        assert.match((await banner.textContent()) ?? "", new RegExp(`${target}: ✗ not permitted: your credentials may not patch secret ${target}.*RBAC "patch" on secrets in namespace ${D}`));
        assert.match((await page.textContent(`tr[data-target="${target}"] [data-testid=message]`)) ?? "", /✗ not permitted/);
        assert.equal((await getSecret(D, "db-copy")).metadata.resourceVersion, before);
        // Its source in another namespace is not readable for this user: shown, not a failure.
        assert.match((await page.textContent(`tr[data-testid=group][data-source="${other}/foreign"]`)) ?? "", /not-permitted/);
        seen.push(await page.content());
        await page.close();
    });

    it("refuses foreign Host headers (DNS rebinding) and sync requests without its header or from another origin", async () => {
        const host = new URL(dash.url).host;
        const T = { Host: host, "X-Dashboard-Token": new URL(dash.url).searchParams.get("token")! };
        assert.equal((await rawRequest(dash.url, "GET", "/api/status", { ...T, Host: "evil.example:80" })).code, 421);
        const body = JSON.stringify({ target: `${D}/db-copy` });
        assert.equal((await rawRequest(dash.url, "POST", "/api/sync", { ...T, "Content-Type": "application/json" }, body)).code, 403);
        assert.equal((await rawRequest(dash.url, "POST", "/api/sync", { ...T, "Content-Type": "text/plain", "X-Requested-By": "platform-secrets-dashboard" }, body)).code, 403);
        assert.equal((await rawRequest(dash.url, "POST", "/api/sync", { ...T, Origin: "http://evil.example", "Content-Type": "application/json", "X-Requested-By": "platform-secrets-dashboard" }, body)).code, 403);
        const bad = await rawRequest(dash.url, "POST", "/api/sync", { ...T, "Content-Type": "application/json", "X-Requested-By": "platform-secrets-dashboard" }, JSON.stringify({ target: "../../etc" }));
        assert.equal(bad.code, 400);
        const status = await rawRequest(dash.url, "GET", "/api/status", T);
        seen.push(status.text);
        assert.equal(status.code, 200);
        assert.ok(!status.text.includes("source-hash"), "the plain source hash never leaves the CLI");
    });

    it("another local user without the session token gets nothing: no page, no status, no sync", async () => {
        const host = new URL(dash.url).host;
        const sync = { Host: host, "Content-Type": "application/json", "X-Requested-By": "platform-secrets-dashboard", Origin: `http://${host}` };
        const before = (await getSecret(D, "db-copy")).metadata.resourceVersion;
        for (const [method, p, h, b] of [["GET", "/", { Host: host }], ["GET", "/api/status", { Host: host }], ["GET", "/api/status", { Host: host, "X-Dashboard-Token": "guess" }], ["GET", "/api/status", { Host: host, Cookie: "ps-dashboard-session=guess" }], ["POST", "/api/sync", sync, JSON.stringify({ target: `${D}/db-copy` })]] as const) {
            const r = await rawRequest(dash.url, method, p, h, b);
            assert.equal(r.code, 401, `${method} ${p} ${JSON.stringify(h)}`);
            assert.match(r.text, /needs its session token: open the URL it printed/);
            assert.ok(!r.text.includes(D), "nothing of the cluster in the refusal");
        }
        assert.equal((await rawRequest(dash.url, "GET", "/?token=guess", { Host: host })).code, 403);
        // The printed URL: a redirect that sets the HttpOnly, SameSite=Strict cookie and drops the token from the address bar.
        const r = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(new URL(dash.url), { headers: { Host: host } }, resolve).on("error", reject));
        r.resume();
        assert.equal(r.statusCode, 303);
        assert.equal(r.headers.location, "/");
        assert.match(String(r.headers["set-cookie"]), /^ps-dashboard-session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
        assert.equal((await getSecret(D, "db-copy")).metadata.resourceVersion, before, "nothing written");
    });

    it("sync only inside its scope and only for what it shows; at most 4 sync waits at once", async () => {
        const T = { Host: new URL(dash.url).host, "X-Dashboard-Token": new URL(dash.url).searchParams.get("token")!, "Content-Type": "application/json", "X-Requested-By": "platform-secrets-dashboard" };
        const post = (target: string) => rawRequest(dash.url, "POST", "/api/sync", T, JSON.stringify({ target }));
        // An unmanaged Secret the user may patch: not the dashboard's business.
        await (await admin()).request("POST", `/api/v1/namespaces/${D}/secrets`, { body: { metadata: { name: "plain" }, stringData: { k: "v" } } });
        const plain = await post(`${D}/plain`);
        assert.equal(plain.code, 403);
        assert.match(plain.text, /is not a derived secret, fan-out target or source shown by this dashboard/);
        assert.equal((await getSecret(D, "plain")).metadata.annotations?.[ANNOTATION_SYNC_REQUESTED], undefined);
        // The source in another namespace is shown (as not permitted) but outside `-n`.
        const far = await post(`${other}/foreign`);
        assert.equal(far.code, 403);
        assert.match(far.text, /outside this dashboard's scope \(namespace /);
        // With the reconciler stopped no sync is acknowledged, so each waits its full timeout: the fifth is turned away.
        await rec.stop();
        rec = undefined as unknown as Running;
        const waits = [0, 1, 2, 3].map(() => post(`${D}/db-copy`));
        await new Promise((r) => setTimeout(r, 1500));
        const fifth = await post(`${D}/db-copy`);
        assert.equal(fifth.code, 429);
        assert.match(fifth.text, /4 syncs are already waiting/);
        for (const w of await Promise.all(waits)) assert.equal(w.code, 200);
    });
});
