import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../../stacks/config";
import { buildReconcilerPolicy, hookVaultPaths } from "../../../stacks/policy";
import { parseStack, rejectsConfig } from "./config-helpers";
import { ROOT, loadStackFile } from "./harness";

/** Stack config of the new trust model: hooks (own password's path only), reconciler Vault login, fan-out grants. */
const parse = parseStack;

const rejects = rejectsConfig;

const devPasswords = () => JSON.parse(JSON.stringify(loadStackFile("dev").passwords)) as any[];
const HOOK = "platform-secrets:passwords[1].consumers[0].hooks";

describe("stacks/config: hooks, reconciler Vault login and fan-out grants", () => {
    it("the example stacks' hooks parse as the reconciler's parser returns them (no defaults yet, no namespace)", () => {
        const cfg = parse("dev");
        assert.deepEqual(cfg.passwords[0].consumers[0].hooks, [{ type: "job-rerun", job: "powerdns-api-key-sync" }]);
        assert.deepEqual(cfg.passwords[1].consumers[0].hooks, [{ type: "postgres", host: "authentik-postgresql.authentik.svc", user: "authentik" }]);
        assert.deepEqual(cfg.passwords[2].consumers[0].hooks, [{ type: "job-rerun", cronJob: "authentik-bootstrap" }]);
        assert.deepEqual(parse("prod").passwords[1].consumers[0].hooks[0], { type: "postgres", host: "authentik-postgresql.authentik.svc", user: "authentik", tls: { mode: "require" } });
    });

    it("reconcilerPauseRestarts: a reason renders the policy's pauseRestarts, empty resumes, a control character is refused", () => {
        assert.deepEqual(buildReconcilerPolicy(parse("dev", { reconcilerPauseRestarts: " INC-9 " })).pauseRestarts, { reason: "INC-9" });
        assert.equal(buildReconcilerPolicy(parse("dev")).pauseRestarts, undefined);
        rejects(() => parse("dev", { reconcilerPauseRestarts: "INC\u001b[2J" }), "platform-secrets:reconcilerPauseRestarts", /one line of at most 200 printable characters/);
    });

    it("rejects a job-rerun hook naming a namespace (it acts only in its source's namespace)", () => {
        const pw = devPasswords();
        pw[2].consumers[0].hooks = [{ type: "job-rerun", job: "authentik-bootstrap", namespace: "kube-system" }];
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[2].consumers[0].hooks", /names a namespace; a job-rerun hook acts only in its source's namespace; fix: drop "namespace"/);
        pw[2].consumers[0].hooks = [{ type: "job-rerun" }];
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[2].consumers[0].hooks", /needs "job" .* or "cronJob"/);
    });

    it("rejects a postgres hook reading another mount or key, or a passwordKey the synced secret does not hold", () => {
        const pw = devPasswords();
        pw[1].consumers[0].hooks[0].vault = { path: "authentik/postgres", mount: "kv-old" };
        rejects(() => parse("dev", { passwords: pw }), `${HOOK}[0].vault.mount`, /would read mount "kv-old".*fix: remove vault.mount .* or set it to secret/);
        pw[1].consumers[0].hooks[0].vault = { path: "authentik/postgres", key: "previous" };
        rejects(() => parse("dev", { passwords: pw }), `${HOOK}[0].vault.key`, /would read key "previous".*fix: remove vault.key/);
        pw[1].consumers[0].hooks[0] = { type: "postgres", host: "db", user: "authentik", passwordKey: "PGPASSWORD" };
        rejects(() => parse("dev", { passwords: pw }), `${HOOK}[0].passwordKey`, /secret authentik\/authentik-postgres holds the password under key "password", not "PGPASSWORD"; fix: remove passwordKey/);
        pw[1].consumers[0].hooks[0] = { type: "postgres", host: "db", user: "authentik", tls: { mode: "verify-full" } };
        rejects(() => parse("dev", { passwords: pw }), HOOK, /verify-full needs "tls.ca"/);
    });

    it("seed 004, natural form: a hook naming its own password's path is accepted and renders as the default; a '-previous' path is refused", () => {
        const pw = devPasswords();
        const implicit = buildReconcilerPolicy(parse("dev"));
        pw[1].consumers[0].hooks[0].vault = { path: "authentik/postgres", mount: "secret", key: "password" };
        pw[1].consumers[0].hooks[0].passwordKey = "password";
        assert.deepEqual(buildReconcilerPolicy(parse("dev", { passwords: pw })), implicit, "writing the defaults out changes nothing");
        pw[1].consumers[0].hooks[0] = { type: "postgres", host: "db", user: "authentik", vault: { path: "authentik/postgres-previous" } };
        rejects(() => parse("dev", { passwords: pw }), `${HOOK}[0].vault.path`, /would read Vault path "authentik\/postgres-previous", but a hook may read only its own password's path .*previous version is what still logs in; fix: remove vault \(it defaults to the password's own path\) or set vault.path: dev\/authentik\/postgres/);
    });

    it("passwordKey defaults to the consumer's secretKey (not the reconciler's own default \"password\"), vault to the password's mount/path/key", () => {
        const pw = devPasswords();
        pw[1].vaultKey = "pg";
        pw[1].consumers[0].secretKey = "POSTGRES_PASSWORD";
        const cfg = parse("dev", { passwords: pw, vaultKvMount: "kv" });
        const [pg] = buildReconcilerPolicy(cfg).hooks.find((b) => b.source.name === "authentik-postgres")!.hooks;
        assert.deepEqual(pg, { type: "postgres", host: "authentik-postgresql.authentik.svc", user: "authentik", passwordKey: "POSTGRES_PASSWORD", vault: { mount: "kv", path: "dev/authentik/postgres", key: "pg" } });
        assert.deepEqual(hookVaultPaths(buildReconcilerPolicy(cfg)), ["kv/dev/authentik/postgres"]);
    });

    it("the example stacks write hooks in the natural form: no vault path of their own, nothing '-previous'", () => {
        for (const stack of ["dev", "staging", "prod", "local"]) {
            const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
            assert.doesNotMatch(text, /-previous/, `Pulumi.${stack}.yaml`);
            for (const p of (loadStackFile(stack).passwords as any[]) ?? []) for (const c of p.consumers ?? []) for (const h of c.hooks ?? []) assert.equal(h.vault, undefined, `${stack}: ${p.name}`);
        }
    });

    it("rejects hooks or fan-out grants while the reconciler is disabled (nothing would act on them)", () => {
        rejects(() => parse("dev", { reconcilerEnabled: false }), "platform-secrets:passwords[0].consumers[0].hooks", /hooks run only in the reconciler/);
        const pw = devPasswords().map((p) => ({ ...p, consumers: (p.consumers ?? []).map((c: any) => ({ ...c, hooks: [] })) }));
        parse("dev", { reconcilerEnabled: false, passwords: pw });
        rejects(() => parse("dev", { reconcilerEnabled: false, passwords: pw, reconcilerFanOutGrants: [{ sourceNamespace: "a", namespaces: ["b"] }] }), "platform-secrets:reconcilerFanOutGrants", /read only by the reconciler/);
    });

    it("reconciler Vault login: defaults to Kubernetes auth at vaultAddress; token-file names a Secret", () => {
        const d = parseStackConfig({ environment: "dev", vaultAddress: "https://vault.vault.svc:8200", reconcilerImage: "r/reconciler:1" });
        assert.deepEqual(d.reconciler.vault, { address: "https://vault.vault.svc:8200", auth: { method: "kubernetes", role: "platform-secrets-reconciler", mount: "kubernetes", audience: "vault" } });
        assert.deepEqual(d.reconciler.fanOutGrants, []);
        assert.deepEqual(parse("staging").reconciler.vault.auth, { method: "kubernetes", role: "platform-secrets-reconciler-staging", mount: "kubernetes-staging", audience: "vault" });
        const t = parse("dev", { reconcilerVaultAuthMethod: "token-file", reconcilerVaultTokenSecretName: "rv-token" });
        assert.deepEqual(t.reconciler.vault.auth, { method: "token-file", secretName: "rv-token" });
        rejects(() => parse("dev", { reconcilerVaultAuthMethod: "token" }), "platform-secrets:reconcilerVaultAuthMethod", /"token" is not allowed; fix: use one of kubernetes, token-file/);
        rejects(() => parse("dev", { reconcilerVaultRole: "" }), "platform-secrets:reconcilerVaultRole", /is empty; fix: set the Vault Kubernetes auth role/);
        rejects(() => parse("dev", { reconcilerVaultAuthMount: "/auth/kubernetes" }), "platform-secrets:reconcilerVaultAuthMount", /not a Vault auth mount path/);
        rejects(() => parse("dev", { reconcilerVaultAddress: "vault:8200" }), "platform-secrets:reconcilerVaultAddress", /not a Vault server URL; fix: .*leave it empty to use vaultAddress/);
        rejects(() => parse("dev", { reconcilerVaultAuthMethod: "token-file", reconcilerVaultTokenSecretName: "Bad_Name" }), "platform-secrets:reconcilerVaultTokenSecretName", /not a DNS-1123 subdomain/);
        rejects(() => parse("dev", { reconcilerVaultAudience: "vault, kubernetes" }), "platform-secrets:reconcilerVaultAudience", /is not a token audience; fix: write one audience/);
    });

    it("reconcilerVaultCaCert: a PEM bundle for an https address, refused otherwise naming the key", () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        const ok = parse("dev", { reconcilerVaultAddress: "https://vault.internal:8200", reconcilerVaultCaCert: pem });
        assert.equal(ok.reconciler.vault.caCert, pem);
        assert.equal(parse("dev", { reconcilerVaultAddress: "https://vault.internal:8200" }).reconciler.vault.caCert, undefined);
        rejects(() => parse("dev", { reconcilerVaultAddress: "https://vault.internal:8200", reconcilerVaultCaCert: "not a pem" }), "platform-secrets:reconcilerVaultCaCert", /is not a PEM certificate bundle; fix: paste the CA's PEM/);
        rejects(() => parse("dev", { reconcilerVaultAddress: "http://127.0.0.1:8200", reconcilerVaultCaCert: pem }), "platform-secrets:reconcilerVaultCaCert", /is not https; fix: use an https:\/\/ address/);
    });

    it("reconcilerFanOutGrants: validated entry by entry, naming the key and the fix", () => {
        const ok = parse("dev", { reconcilerFanOutGrants: [{ sourceNamespace: "platform-secrets", namespaces: ["team-a"], namespaceSelector: "env in (dev,staging)" }] });
        assert.deepEqual(ok.reconciler.fanOutGrants, [{ sourceNamespace: "platform-secrets", namespaces: ["team-a"], namespaceSelector: "env in (dev,staging)" }]);
        const g = (x: unknown) => () => parse("dev", { reconcilerFanOutGrants: [x] });
        rejects(g({ namespaces: ["a"] }), "platform-secrets:reconcilerFanOutGrants[0].sourceNamespace", /is required/);
        rejects(g({ sourceNamespace: "a" }), "platform-secrets:reconcilerFanOutGrants[0].namespaces", /allows no namespace; fix: list target namespaces/);
        rejects(g({ sourceNamespace: "a", namespaces: [] }), "platform-secrets:reconcilerFanOutGrants[0].namespaces", /allows no namespace/);
        rejects(g({ sourceNamespace: "a", namespaceSelector: "" }), "platform-secrets:reconcilerFanOutGrants[0].namespaceSelector", /not a non-empty label selector/);
        rejects(g({ sourceNamespace: "a", namespaceSelector: "a in b" }), "platform-secrets:reconcilerFanOutGrants[0].namespaceSelector", /not a non-empty label selector/);
        rejects(g({ sourceNamespace: "a", namespaces: ["Team_A"] }), "platform-secrets:reconcilerFanOutGrants[0].namespaces[0]", /not a DNS-1123 label/);
        rejects(g({ sourceNamespace: "a", namespace: ["b"] }), "platform-secrets:reconcilerFanOutGrants[0].namespace", /unknown field; fix: did you mean "namespaces"\?/);
        rejects(() => parse("dev", { reconcilerFanOutGrants: { sourceNamespace: "a" } }), "platform-secrets:reconcilerFanOutGrants", /must be a list/);
    });
});
