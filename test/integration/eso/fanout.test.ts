import assert from "node:assert/strict";
import { deriveSecret, Recipe } from "../../../derive";
import { KARGO_CRED_TYPE_LABEL } from "../../../derive/constants";
import { eventually, randomName } from "../../support";
import { loadStackFile } from "../../unit/stacks/harness";
import { admin } from "../reconciler/helpers";
import { allowNamespaces, apply, createNamespace, createVaultTokenSecret, Obj, only, remove, renderStack, vaultDelete, vaultWrite, waitReady } from "./helpers";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Credentials no template author expects: quotes, backslashes, template delimiters, HTML-escaped characters, non-ASCII. */
const USERNAME = `bot"\\{{ .x }}<&>é`;
const PASSWORD = `p"a\\ss{{ "{{" }}}}\n\t<script>&amp; ☃ 𝄞 \u2028 end`;

async function secret(namespace: string, name: string): Promise<any | undefined> {
    const k = await admin();
    return k.request("GET", `/api/v1/namespaces/${namespace}/secrets/${name}`).catch(() => undefined);
}

/**
 * Seed 003 through the real controller: the docker-registry and Kargo ClusterExternalSecrets the program renders
 * fan out to labelled namespaces (matchLabels and matchExpressions), their output is byte-for-byte what derive/
 * produces for the same credentials (one format, one implementation), and a removed label cleans up.
 */
describe("eso: registry fan-out through the real controller (stack-rendered ClusterExternalSecrets)", function () {
    this.timeout(240_000);
    const vaultPath = `platform-secrets-test/${randomName("registry")}`;
    const selectLabel = `test.platform-secrets.io/${randomName("docker")}`;
    const exprLabel = `test.platform-secrets.io/${randomName("tier")}`;
    /** The store's label condition a selector must include (stacks/config guardrails), next to its expression. */
    const teamLabel = `test.platform-secrets.io/${randomName("team")}`;
    const kargoLabel = `test.platform-secrets.io/${randomName("kargo")}`;
    const registryName = randomName("registry");
    const kargoName = randomName("kargo");
    const store = randomName("store");
    const server = "registry.example.com:5000/team-a";
    const repoURL = "^registry\\.example\\.com:5000/team-a/{{app}}/.*$";
    let own: string;
    let byLabels: string;
    let byExpression: string;
    let unlabelled: string;
    let kargoNs: string;
    const applied: Obj[] = [];

    before(async () => {
        own = await createNamespace("eso-own");
        byLabels = await createNamespace("eso-lbl", { [selectLabel]: "true" });
        byExpression = await createNamespace("eso-expr", { [teamLabel]: "true", [exprLabel]: "frontend" });
        unlabelled = await createNamespace("eso-none");
        kargoNs = await createNamespace("eso-kargo", { [kargoLabel]: "true" });
    });

    after(async () => {
        for (const o of applied.reverse()) await remove(o).catch(() => undefined);
        const k = await admin();
        for (const n of [own, byLabels, byExpression, unlabelled, kargoNs]) if (n) await k.request("DELETE", `/api/v1/namespaces/${n}`).catch(() => undefined);
        await vaultDelete("secret", vaultPath).catch(() => undefined);
    });

    it("docker and Kargo secrets reach exactly the selected namespaces, byte-for-byte derive's formats, and go when a label is removed", async () => {
        // The operator writes the registry credential into Vault (an externally written path).
        await vaultWrite("secret", vaultPath, { username: USERNAME, password: PASSWORD });
        const { objects } = await renderStack("local", {
            storeName: store,
            vaultAddress: (await import("../fixture")).getEnv().vault.addr,
            vaultTokenSecretNamespace: own,
            storeAllowedNamespaces: allowNamespaces("local", [unlabelled]),
            storeAllowedNamespaceLabels: [...((loadStackFile("local").storeAllowedNamespaceLabels as string[] | undefined) ?? []), `${selectLabel}=true`, `${teamLabel}=true`, `${kargoLabel}=true`],
            externalVaultPaths: [vaultPath, "git/platform-repo", "oauth/backstage-github", "github-apps/rex", "github-apps/clippy"],
            dockerRegistries: [
                {
                    name: registryName,
                    server,
                    vaultPath,
                    secretName: "registry-pull",
                    namespaceSelectors: [{ matchLabels: { [selectLabel]: "true" } }, { matchLabels: { [teamLabel]: "true" }, matchExpressions: [{ key: exprLabel, operator: "In", values: ["frontend", "backend"] }] }],
                    kargo: { name: kargoName, secretName: "kargo-image", repoURL, repoURLIsRegex: true, namespaceSelectors: [{ matchLabels: { [kargoLabel]: "true" } }] },
                },
            ],
        });
        const storeObj = only(objects, "ClusterSecretStore", store);
        const tokenRef = storeObj.spec.provider.vault.auth.tokenSecretRef as { name: string; namespace: string; key: string };
        await createVaultTokenSecret(tokenRef.namespace, tokenRef.name, tokenRef.key);
        const docker = only(objects, "ClusterExternalSecret", registryName);
        const kargo = only(objects, "ClusterExternalSecret", kargoName);
        for (const o of [storeObj, docker, kargo]) {
            await apply(o);
            applied.push(o);
        }
        await waitReady(storeObj);

        // Fan-out: both selector forms, and nothing in the unlabelled namespace.
        const t0 = Date.now();
        const [pullA, pullB, kargoSecret] = await Promise.all([
            eventually(() => secret(byLabels, "registry-pull"), 60_000, "dockerconfigjson in the matchLabels namespace", 200),
            eventually(() => secret(byExpression, "registry-pull"), 60_000, "dockerconfigjson in the matchExpressions namespace", 200),
            eventually(() => secret(kargoNs, "kargo-image"), 60_000, "Kargo credential in the Kargo project namespace", 200),
        ]);
        process.stderr.write(`[eso] ClusterExternalSecret fan-out to 3 namespaces: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
        assert.equal(await secret(unlabelled, "registry-pull"), undefined, "an unlabelled namespace gets nothing");

        // One format, one implementation: what ESO rendered from the stack's Go templates is what derive/ writes.
        const source = (ns: string) => ({ metadata: { namespace: ns, name: "registry-source" }, type: "Opaque", data: { username: b64(USERNAME), password: b64(PASSWORD) } });
        const dockerRecipe: Recipe = { format: "docker", source: { namespace: byLabels, name: "registry-source" }, target: { namespace: byLabels, name: "registry-pull" }, options: { registry: server } };
        const derivedDocker = deriveSecret(source(byLabels), dockerRecipe);
        assert.equal(pullA.type, "kubernetes.io/dockerconfigjson");
        assert.equal(pullA.data[".dockerconfigjson"], derivedDocker.data[".dockerconfigjson"], `ESO's .dockerconfigjson:\n${Buffer.from(pullA.data[".dockerconfigjson"], "base64").toString()}\nderive's:\n${Buffer.from(derivedDocker.data[".dockerconfigjson"]!, "base64").toString()}`);
        assert.equal(pullB.data[".dockerconfigjson"], derivedDocker.data[".dockerconfigjson"]);
        assert.deepEqual(JSON.parse(Buffer.from(pullA.data[".dockerconfigjson"], "base64").toString()).auths[server].username, USERNAME);
        const kargoRecipe: Recipe = { format: "kargo", source: { namespace: kargoNs, name: "registry-source" }, target: { namespace: kargoNs, name: "kargo-image" }, options: { credType: "image", repoURL, repoURLIsRegex: true } };
        const derivedKargo = deriveSecret(source(kargoNs), kargoRecipe);
        assert.deepEqual(kargoSecret.data, derivedKargo.data, "Kargo data equal key for key, byte for byte");
        assert.equal(kargoSecret.metadata.labels[KARGO_CRED_TYPE_LABEL], derivedKargo.metadata.labels![KARGO_CRED_TYPE_LABEL]);
        assert.equal(kargoSecret.type, derivedKargo.type);

        // A removed label: ESO deletes its ExternalSecret there, and the garbage collector the Secret it owned.
        const k = await admin();
        const t1 = Date.now();
        await k.request("PATCH", `/api/v1/namespaces/${byExpression}`, { body: { metadata: { labels: { [exprLabel]: null } } }, contentType: "application/merge-patch+json" });
        await eventually(async () => ((await secret(byExpression, "registry-pull")) === undefined ? true : undefined), 90_000, "registry-pull removed after the label went", 200);
        process.stderr.write(`[eso] label removed → Secret gone: ${((Date.now() - t1) / 1000).toFixed(1)} s\n`);
        assert.ok(await secret(byLabels, "registry-pull"), "the other namespace keeps its secret");
        await waitReady(docker, 30_000).catch(() => undefined);
    });

    it("the templates refuse what derive refuses (derive's bad-input set): no Secret, the ExternalSecret says why, never the value", async () => {
        const store2 = randomName("store");
        const cases: { name: string; username?: string; password?: string; why?: RegExp }[] = [
            { name: "colon", username: "bot:1", password: "p", why: /key "username": the user name contains ':'/ },
            { name: "empty-user", username: " ", password: "p", why: /key "username": the value is empty/ },
            { name: "empty-pass", username: "bot", password: "", why: /key "password": the value is empty/ },
            { name: "newline", username: "bot", password: "secret-canary-nl\n", why: /key "password": the value ends with a newline/ },
            { name: "fine", username: "bot", password: "p@ss word" },
        ];
        const paths = cases.map((c) => `${vaultPath}-${c.name}`);
        for (const [i, c] of cases.entries()) await vaultWrite("secret", paths[i]!, { username: c.username!, password: c.password! });
        const { objects } = await renderStack("local", {
            storeName: store2,
            vaultAddress: (await import("../fixture")).getEnv().vault.addr,
            vaultTokenSecretNamespace: own,
            storeAllowedNamespaces: allowNamespaces("local", [unlabelled]),
            storeAllowedNamespaceLabels: [...((loadStackFile("local").storeAllowedNamespaceLabels as string[] | undefined) ?? []), `${selectLabel}=true`],
            externalVaultPaths: [...paths, "git/platform-repo", "oauth/backstage-github", "github-apps/rex", "github-apps/clippy"],
            dockerRegistries: cases.map((c, i) => ({ name: `${registryName}-${c.name}`, server, vaultPath: paths[i]!, secretName: `pull-${c.name}`, namespaceSelectors: [{ matchLabels: { [selectLabel]: "true" } }] })),
        });
        const storeObj = only(objects, "ClusterSecretStore", store2);
        // (The token Secret the first case created in the same namespace serves this store too.)
        const ces = cases.map((c) => only(objects, "ClusterExternalSecret", `${registryName}-${c.name}`));
        for (const o of [storeObj, ...ces]) {
            await apply(o);
            applied.push(o);
        }
        await waitReady(storeObj);
        const k = await admin();
        const source = (c: (typeof cases)[number]) => ({ metadata: { namespace: byLabels, name: "src" }, type: "Opaque", data: { username: b64(c.username!), password: b64(c.password!) } });
        for (const c of cases) {
            const recipe: Recipe = { format: "docker", source: { namespace: byLabels, name: "src" }, target: { namespace: byLabels, name: `pull-${c.name}` }, options: { registry: server } };
            if (!c.why) {
                const got = await eventually(() => secret(byLabels, `pull-${c.name}`), 60_000, `pull-${c.name} written`, 200);
                assert.equal(got.data[".dockerconfigjson"], deriveSecret(source(c), recipe).data[".dockerconfigjson"], "accepted input: byte-for-byte derive's");
                continue;
            }
            assert.throws(() => deriveSecret(source(c), recipe), c.why, `derive refuses ${c.name}`);
            const esPath = `/apis/external-secrets.io/v1/namespaces/${byLabels}/externalsecrets/${registryName}-${c.name}`;
            const why = await eventually(
                async () => {
                    const es = await k.request("GET", esPath).catch(() => undefined);
                    const ready = ((es?.status?.conditions ?? []) as { type: string; status: string; message?: string }[]).find((x) => x.type === "Ready");
                    if (!ready || ready.status === "True") return undefined;
                    const events = (await k.request("GET", `/api/v1/namespaces/${byLabels}/events`, { query: { fieldSelector: `involvedObject.name=${registryName}-${c.name}` } })).items as { message?: string }[];
                    const text = [ready.message ?? "", ...events.map((e) => e.message ?? "")].join("\n");
                    return c.why!.test(text) ? text : undefined;
                },
                60_000,
                `ExternalSecret ${registryName}-${c.name} reports derive's refusal`,
                250,
            );
            assert.equal(await secret(byLabels, `pull-${c.name}`), undefined, `no Secret for ${c.name}`);
            for (const v of [c.username!, c.password!].map((x) => x.trim()).filter((x) => x.length >= 5)) assert.ok(!why.includes(v), `${c.name}: the value is not in the message`);
        }
        for (const p of paths) await vaultDelete("secret", p).catch(() => undefined);
    });
});

