import { strict as assert } from "node:assert";
import { activeRole, buildReconcilerPolicy } from "../../../stacks/policy";
import { parseStack, rejectsConfig } from "./config-helpers";
import { loadStackFile, ofType, runStack, T } from "./harness";

/**
 * strategy alternate as the stack renders it (issue 22 §1): the policy hook, the active role beside the password in
 * the SAME Vault version, and the role's name in every consumer Secret of that password.
 */
const devPasswords = () => JSON.parse(JSON.stringify(loadStackFile("dev").passwords)) as any[];
const HOOK = "platform-secrets:passwords[1].consumers[0].hooks";
const ALT = { type: "postgres", host: "authentik-postgresql.authentik.svc", user: "authentik", strategy: "alternate", roles: ["authentik_a", "authentik_b"] };

describe("stacks: alternating PostgreSQL users", function () {
    this.timeout(60000);

    it("activeRole: the roles take turns, one per rotation", () => {
        assert.deepEqual([0, 1, 2, 3].map((r) => activeRole(["a", "b"], r)), ["a", "b", "a", "b"]);
    });

    it("the policy hook carries the strategy with usernameKey written out", () => {
        const pw = devPasswords();
        pw[1].consumers[0].hooks = [ALT];
        const hook = buildReconcilerPolicy(parseStack("dev", { passwords: pw })).hooks.find((b) => b.source.name === "authentik-postgres")!.hooks[0];
        assert.deepEqual(hook, { ...ALT, passwordKey: "password", usernameKey: "username", vault: { mount: "secret", path: "dev/authentik/postgres", key: "password" } });
    });

    it("Vault holds the active role beside the password in one version; every consumer Secret maps both", async () => {
        const pw = devPasswords();
        pw[1].consumers[0].hooks = [ALT];
        pw[1].rotation = 3;
        pw[1].consumers.push({ namespace: "workflows", secretName: "authentik-db", secretKey: "PGPASSWORD" });
        const run = await runStack("dev", { overrides: { passwords: pw } });
        const kv = run.resources.find((r) => r.name === "password-authentik-postgres-password-vault")!;
        const rnd = run.resources.find((r) => r.name === "password-authentik-postgres-password-random")!;
        assert.deepEqual(JSON.parse(kv.inputs.dataJson.value), { username: "authentik_b", password: rnd.state.result });
        const es = ofType(run, T.externalSecret).filter((r) => r.name.startsWith("password-authentik-postgres-password-"));
        assert.equal(es.length, 2);
        for (const r of es) {
            const key = r.inputs.metadata.namespace === "workflows" ? "PGPASSWORD" : "password";
            assert.deepEqual(r.inputs.spec.data, [
                { secretKey: key, remoteRef: { key: "dev/authentik/postgres", property: "password" } },
                { secretKey: "username", remoteRef: { key: "dev/authentik/postgres", property: "username" } },
            ]);
        }
        // Other passwords are written as before: the password key alone.
        const other = run.resources.find((r) => r.name === "password-powerdns-api-key-vault")!;
        assert.deepEqual(Object.keys(JSON.parse(other.inputs.dataJson.value)), ["password"]);
    });

    it("refuses two role pairs for one password and a usernameKey equal to the password's key", () => {
        const pw = devPasswords();
        pw[1].consumers[0].hooks = [ALT];
        pw[1].consumers.push({ namespace: "workflows", secretName: "authentik-db", secretKey: "password", hooks: [{ ...ALT, roles: ["x_a", "x_b"] }] });
        rejectsConfig(() => parseStack("dev", { passwords: pw }), "platform-secrets:passwords[1].consumers[1].hooks[0].roles", /already alternates between authentik_a and authentik_b/);
        const pw2 = devPasswords();
        pw2[1].consumers[0].hooks = [{ ...ALT, usernameKey: "password" }];
        rejectsConfig(() => parseStack("dev", { passwords: pw2 }), `${HOOK}[0].usernameKey`, /cannot go there too/);
    });
});
