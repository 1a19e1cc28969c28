import { strict as assert } from "node:assert";
import { generateKeyPairSync } from "node:crypto";
import { DerivedSecretInputs, DerivedSecretOutputs, derivedSecretProvider as p } from "../../../providers";
import { canaryValue, randomName } from "../../support";
import { Cluster, b64, rejection, unb64 } from "./helpers";

const BASIC = "kubernetes.io/basic-auth";
const pem = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();

/** Every place a value could leak to, except the secret `data` and `kubeconfig` outputs. */
function publicPart(o: DerivedSecretOutputs | undefined): string {
    if (o === undefined) return "";
    const { data: _d, kubeconfig: _k, ...rest } = o;
    return JSON.stringify(rest);
}

describe("providers: DerivedSecret against the real apiserver", function () {
    const c = new Cluster();
    let src: string;
    let dst: string;
    const canaries: string[] = [];
    const messages: string[] = [];

    const inputs = (over: Partial<DerivedSecretInputs> & { sourceName: string; targetName?: string }): DerivedSecretInputs => ({
        format: "tekton-git",
        source: { namespace: src, name: over.sourceName },
        target: { namespace: dst, name: over.targetName ?? randomName("out") },
        options: { gitUrls: ["https://github.com/org/repo", "https://ghe.corp.example:8443/x"] },
        kubeconfig: c.kubeconfig,
        adopt: false,
        ...over,
    });
    async function basicSource(password = canaryValue()): Promise<string> {
        canaries.push(password);
        const name = randomName("src");
        await c.secret(src, name, BASIC, { username: "bot", password });
        return name;
    }
    async function failure(promise: Promise<unknown>): Promise<Error> {
        const e = await rejection(promise);
        messages.push(`${e.message} ${e.stack ?? ""}`);
        return e;
    }

    before(async () => {
        src = await c.namespace("prov-src");
        dst = await c.namespace("prov-dst");
    });
    after(() => c.cleanup());

    it("create writes each format; read right after reports no drift", async () => {
        const sourceName = await basicSource();
        const app = randomName("app");
        await c.secret(src, app, "Opaque", { githubAppID: "12", githubAppInstallationID: "34", githubAppPrivateKey: pem });
        const ssh = randomName("ssh");
        await c.secret(src, ssh, "kubernetes.io/ssh-auth", { "ssh-privatekey": pem, known_hosts: "github.com ssh-ed25519 AAAA" });
        const cases: [DerivedSecretInputs, string, string[]][] = [
            [inputs({ sourceName }), BASIC, ["password", "username"]],
            [inputs({ sourceName: ssh, options: { gitUrls: ["git@github.com:org/repo.git"] } }), "kubernetes.io/ssh-auth", ["known_hosts", "ssh-privatekey"]],
            [inputs({ sourceName, format: "docker", options: { registry: "ghcr.io", tektonAnnotation: true } }), "kubernetes.io/dockerconfigjson", [".dockerconfigjson"]],
            [inputs({ sourceName: app, format: "kargo", options: { credType: "git", repoURL: "https://github.com/org/repo" } }), "Opaque", ["githubAppID", "githubAppInstallationID", "githubAppPrivateKey", "repoURL"]],
            [inputs({ sourceName, format: "argocd", options: { secretType: "repository", url: "https://github.com/org/repo" } }), "Opaque", ["password", "type", "url", "username"]],
            [inputs({ sourceName, format: "mirror", options: {} }), BASIC, ["password", "username"]],
        ];
        for (const [i, type, keys] of cases) {
            const { id, outs } = await p.create(i);
            assert.equal(id, `${dst}/${i.target.name}`);
            const live = await c.get(dst, i.target.name);
            assert.equal(live?.type, type, i.format);
            assert.deepEqual(Object.keys(live?.data ?? {}).sort(), keys, i.format);
            assert.deepEqual(outs?.data, live?.data);
            assert.equal(live?.metadata?.labels?.["app.kubernetes.io/managed-by"], "platform-secrets");
            const r = await p.read!(id, outs);
            assert.deepEqual(r.props?.drift, [], i.format);
            assert.equal(r.props?.inSync, true, i.format);
            // No plain hash of the values in state: the source-hash annotation stays on the Secret only.
            assert.ok(!("sourceHash" in r.props!) && !("liveSourceHash" in r.props!), i.format);
            assert.equal(r.props?.annotations["platform-secrets.io/source-hash"], undefined, i.format);
            assert.ok(!publicPart(r.props).includes(live!.metadata!.annotations!["platform-secrets.io/source-hash"]), i.format);
            assert.equal((await p.diff!(id, r.props!, i)).changes, false, i.format);
        }
        const tekton = await c.get(dst, cases[0][0].target.name);
        assert.equal(tekton?.metadata?.annotations?.["tekton.dev/git-0"], "https://github.com");
        assert.equal(tekton?.metadata?.annotations?.["tekton.dev/git-1"], "https://ghe.corp.example:8443");
    });

    it("rotate the source → read reports drift → update repairs", async () => {
        const sourceName = await basicSource();
        const i = inputs({ sourceName });
        const { id, outs } = await p.create(i);
        const rotated = canaryValue();
        canaries.push(rotated);
        await c.setText(src, sourceName, "password", rotated);
        const r = await p.read!(id, outs);
        assert.deepEqual(r.props?.drift, ["data.password", "annotations.platform-secrets.io/source-hash"]);
        assert.equal(r.props?.inSync, false);
        const d = await p.diff!(id, r.props!, i);
        assert.equal(d.changes, true);
        const u = await p.update!(id, r.props!, i);
        assert.equal(unb64((await c.get(dst, i.target.name))!.data!.password), rotated);
        assert.deepEqual((await p.read!(id, u.outs)).props?.drift, []);
        assert.ok(!publicPart(r.props).includes(rotated) && !publicPart(u.outs).includes(rotated));
    });

    it("an edited derived secret shows as drift; update repairs it and keeps foreign labels/annotations", async () => {
        const sourceName = await basicSource();
        const i = inputs({ sourceName });
        const { id, outs } = await p.create(i);
        const live = (await c.get(dst, i.target.name))!;
        live.data = { ...live.data, password: b64("edited"), extra: b64("x") };
        live.metadata!.labels = { ...live.metadata!.labels, team: "a" };
        live.metadata!.annotations = { ...live.metadata!.annotations, "tekton.dev/git-0": "https://evil.example", "kubectl.kubernetes.io/last-applied-configuration": "{}" };
        await c.core.replaceNamespacedSecret({ namespace: dst, name: i.target.name, body: live });
        const r = await p.read!(id, outs);
        assert.deepEqual(r.props?.drift, ["data.extra", "data.password", "annotations.tekton.dev/git-0"]);
        await p.update!(id, r.props!, i);
        const fixed = (await c.get(dst, i.target.name))!;
        assert.deepEqual(Object.keys(fixed.data ?? {}).sort(), ["password", "username"]);
        assert.equal(fixed.metadata?.labels?.team, "a");
        assert.equal(fixed.metadata?.annotations?.["kubectl.kubernetes.io/last-applied-configuration"], "{}");
        assert.equal(fixed.metadata?.annotations?.["tekton.dev/git-0"], "https://github.com");
    });

    it("refuses an existing unmanaged target and leaves it untouched; adopt: true takes it over", async () => {
        const sourceName = await basicSource();
        const target = randomName("taken");
        await c.secret(dst, target, BASIC, { username: "someone", password: "theirs" }, { labels: { owner: "team-b" } });
        const before = (await c.get(dst, target))!;
        const e = await failure(p.create(inputs({ sourceName, targetName: target })));
        assert.match(e.message, new RegExp(`secret ${dst}/${target} exists and is not managed by platform-secrets.*Fix: .*adopt: true`));
        const after = (await c.get(dst, target))!;
        assert.equal(after.metadata?.resourceVersion, before.metadata?.resourceVersion);
        const { outs } = await p.create(inputs({ sourceName, targetName: target, adopt: true }));
        const adopted = (await c.get(dst, target))!;
        assert.equal(adopted.metadata?.labels?.["app.kubernetes.io/managed-by"], "platform-secrets");
        assert.equal(adopted.metadata?.labels?.owner, "team-b");
        assert.equal(unb64(adopted.data!.username), "bot");
        assert.deepEqual(outs?.drift, []);
    });

    it("refuses a target managed by platform-secrets for another source", async () => {
        const a = await basicSource();
        const b = await basicSource();
        const target = randomName("shared");
        await p.create(inputs({ sourceName: a, targetName: target }));
        const e = await failure(p.create(inputs({ sourceName: b, targetName: target })));
        assert.match(e.message, /managed by platform-secrets for another source/);
    });

    it("delete removes our secret, tolerates already-gone, and leaves an unmanaged replacement untouched", async () => {
        const sourceName = await basicSource();
        const i = inputs({ sourceName });
        const { id, outs } = await p.create(i);
        await p.delete!(id, outs!);
        assert.equal(await c.get(dst, i.target.name), undefined);
        await p.delete!(id, outs!); // already gone
        assert.deepEqual(await p.read!(id, outs), {}, "read of a deleted target drops the resource");
        await c.secret(dst, i.target.name, BASIC, { username: "x", password: "y" });
        await p.delete!(id, outs!);
        assert.ok(await c.get(dst, i.target.name), "an unmanaged secret under the same name survives delete");
        const r = await p.read!(id, outs);
        assert.ok(r.props?.drift.includes("not-managed"));
    });

    it("missing source → clear error naming it and the fix; nothing written", async () => {
        const i = inputs({ sourceName: randomName("absent") });
        const e = await failure(p.create(i));
        assert.match(e.message, new RegExp(`source secret ${src}/${i.source.name} of ${dst}/${i.target.name} not found\\. Fix: create`));
        assert.equal(await c.get(dst, i.target.name), undefined);
    });

    it("bad source → DerivationError naming secret and key; nothing written; read reports it as drift", async () => {
        const canary = canaryValue();
        canaries.push(canary);
        const name = randomName("bad");
        await c.secret(src, name, BASIC, { username: "bot", password: `${canary}\n` });
        const i = inputs({ sourceName: name });
        const e = await failure(p.create(i));
        assert.match(e.message, new RegExp(`${src}/${name} key "password": the value ends with a newline\\. Fix: `));
        assert.equal(await c.get(dst, i.target.name), undefined);
        // A good source that later goes bad: refresh reports it instead of failing.
        const good = await basicSource();
        const gi = inputs({ sourceName: good });
        const { id, outs } = await p.create(gi);
        await c.setText(src, good, "password", "");
        const r = await p.read!(id, outs);
        assert.deepEqual(r.props?.drift, ["source-invalid:empty-value"]);
        const ue = await failure(p.update!(id, r.props!, gi));
        assert.match(ue.message, /key "password": the value is empty/);
    });

    it("a source whose type changed is re-created (type is immutable); source change is an in-place update", async () => {
        const sourceName = await basicSource();
        const i = inputs({ sourceName, format: "mirror", options: {} });
        const { id, outs } = await p.create(i);
        const other = randomName("ssh");
        await c.secret(src, other, "kubernetes.io/ssh-auth", { "ssh-privatekey": pem });
        const news = { ...i, source: { namespace: src, name: other } };
        assert.deepEqual((await p.diff!(id, outs!, news)).replaces, []);
        const u = await p.update!(id, outs!, news);
        const live = (await c.get(dst, i.target.name))!;
        assert.equal(live.type, "kubernetes.io/ssh-auth");
        assert.equal(live.metadata?.annotations?.["platform-secrets.io/source-name"], other);
        assert.deepEqual((await p.read!(id, u.outs)).props?.drift, []);
    });

    it("check rejects bad inputs with property names; default kubeconfig loading is used when none is given", async () => {
        const f = await p.check!({} as DerivedSecretInputs, { ...inputs({ sourceName: "x" }), options: { gitUrls: [] } });
        assert.equal(f.failures?.[0].property, "options.gitUrls");
        const sourceName = await basicSource();
        const prev = process.env.KUBECONFIG;
        process.env.KUBECONFIG = (await import("../fixture")).getEnv().kubeconfigPath;
        try {
            const i = inputs({ sourceName, kubeconfig: undefined });
            const { outs } = await p.create(i);
            assert.deepEqual(outs?.drift, []);
        } finally {
            if (prev === undefined) delete process.env.KUBECONFIG;
            else process.env.KUBECONFIG = prev;
        }
    });

    it("apiserver errors are rephrased: missing namespace → 404 with a fix; unreachable server → clear message", async () => {
        const sourceName = await basicSource();
        const i = inputs({ sourceName, target: { namespace: randomName("nope"), name: "x" } });
        const e = await failure(p.create(i));
        assert.match(e.message, new RegExp(`creating secret ${i.target.namespace}/x failed: HTTP 404 NotFound \\(namespaces "${i.target.namespace}" not found\\)\\. Fix: create the namespace`));
        const dead = c.kubeconfig.replace(/server: https:\/\/127\.0\.0\.1:\d+/, "server: https://127.0.0.1:1");
        const e2 = await failure(p.create(inputs({ sourceName, kubeconfig: dead })));
        assert.match(e2.message, /reading secret .* failed: cannot reach the apiserver .*Fix: check the kubeconfig/);
    });

    it("a kubeconfig without RBAC on secrets → 403 naming the object and the missing permission", async () => {
        const sourceName = await basicSource();
        const sa = randomName("sa");
        await c.core.createNamespacedServiceAccount({ namespace: dst, body: { metadata: { name: sa } } });
        const path = await (await import("../fixture")).getEnv().mintServiceAccountKubeconfig(dst, sa);
        const kubeconfig = (await import("node:fs")).readFileSync(path, "utf8");
        const e = await failure(p.create(inputs({ sourceName, kubeconfig })));
        assert.match(e.message, new RegExp(`reading secret ${src}/${sourceName} failed: HTTP 403 Forbidden .*Fix: grant`));
    });

    it("canary: no planted value appears in any error message or public output", () => {
        assert.ok(canaries.length >= 5 && messages.length >= 5);
        for (const m of messages) for (const v of canaries) assert.ok(!m.includes(v), "a planted value leaked into an error");
    });
});
