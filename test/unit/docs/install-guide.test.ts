import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { ALL_KEYS, parseStackConfig } from "../../../stacks/config";
import { vaultAccess } from "../../../stacks/vault-access";
import { COMMANDS } from "../../../cli/args";
import { ESO_CONTROLLER_VERSION } from "../../env/eso-binary";
import { KUBERNETES_VERSION } from "../../env/binaries";

/**
 * docs/install.md against the code: every config key, npm script, CLI command, stack output and output field a
 * command in it names exists, and the versions it states are the ones the tests run. (Running the guide's commands
 * against a cluster is the e2e suite's job; this keeps the text from drifting away from the code meanwhile.)
 */
const ROOT = path.join(__dirname, "../../..");
const doc = readFileSync(path.join(ROOT, "docs/install.md"), "utf8");
const blocks = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
const code = blocks.join("\n");

describe("docs/install.md matches the code", () => {
    it("has the guide's sections and shell blocks", () => {
        for (const h of ["Prerequisites", "images", "Provider configuration", "configuration", "first `up`", "Vault policies and roles", "in sync", "upgrade, uninstall"]) assert.ok(doc.includes(h), h);
        assert.ok(blocks.length >= 10, `${blocks.length} blocks`);
    });

    it("every platform-secrets: config key it sets exists in the schema; kubernetes:context is never set", () => {
        const keys = [...code.matchAll(/platform-secrets:([A-Za-z]+)/g)].map((m) => m[1]);
        assert.ok(keys.length > 5);
        for (const k of keys) assert.ok(ALL_KEYS.includes(k), `platform-secrets:${k} is not a config key`);
        assert.ok(!/config set kubernetes:/.test(code));
    });

    it("every npm script and CLI command it runs exists", () => {
        const scripts = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
        for (const m of code.matchAll(/npm run ([\w:-]+)/g)) assert.ok(scripts[m[1]], `npm run ${m[1]}`);
        const cmds = COMMANDS.map((c) => c.name);
        const used = [...code.matchAll(/npx platform-secrets (\w+)/g)].map((m) => m[1]);
        assert.ok(used.length > 0);
        for (const c of used) assert.ok(cmds.includes(c), `platform-secrets ${c}`);
    });

    it("the stack outputs and output fields it reads are the program's", () => {
        const index = readFileSync(path.join(ROOT, "index.ts"), "utf8");
        for (const m of code.matchAll(/pulumi stack output (\w+)/g)) assert.match(index, new RegExp(`export const ${m[1]} =`), m[1]);
        const cfg = parseStackConfig({
            environment: "dev",
            vaultAddress: "https://vault.example:8200",
            passwords: JSON.stringify([{ name: "db", length: 32, vaultPath: "app/db", rotation: 0, consumers: [{ namespace: "app", secretName: "app-db", secretKey: "password", refreshPolicy: "OnChange", hooks: [{ type: "postgres", host: "db.app.svc", user: "app" }] }] }]),
        });
        const out = vaultAccess(cfg);
        for (const w of ["eso", "pulumi", "reconciler"]) assert.deepEqual(Object.keys(out.vaultPolicies[w] ?? {}).sort(), ["hcl", "name"], w);
        for (const r of Object.values(out.vaultKubernetesAuthRoles)) {
            for (const f of ["mount", "name", "bound_service_account_names", "bound_service_account_namespaces", "token_policies", "token_ttl"]) assert.ok(f in r, f);
        }
        assert.equal(out.vaultKubernetesAuthRoles.reconciler?.audience, "vault");
    });

    it("states the versions the tests run", () => {
        assert.ok(doc.includes(`--version ${ESO_CONTROLLER_VERSION.slice(1)}`), "ESO chart version");
        assert.ok(doc.includes(`**${ESO_CONTROLLER_VERSION}**`), "ESO version in the table");
        assert.ok(doc.includes(KUBERNETES_VERSION.slice(1)), "Kubernetes version");
    });
});
