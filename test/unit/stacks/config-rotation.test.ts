import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { rotationBlocker } from "../../../stacks/config";
import { parseStack, rejectsConfig } from "./config-helpers";
import { T, loadStackFile, ofType, runStack } from "./harness";

/**
 * Refuse at preview what cannot rotate (ESO v0.16.2 shouldRefresh): the stack delivers a rotation as a metadata
 * change of the ExternalSecret, which ESO acts on only under OnChange and Periodic; CreatedOnce (and Periodic with a
 * zero interval) never sync again, so a copy of a stable password there would keep the old value forever.
 */
const parse = parseStack;

const rejects = rejectsConfig;

const copy = <X>(x: X): X => JSON.parse(JSON.stringify(x)) as X;

describe("stacks/config: everything fed by a stable password can receive a rotation", () => {
    it("the example stacks and the sandbox stack pass (they use OnChange and Periodic)", () => {
        for (const s of ["dev", "staging", "prod", "local"]) parse(s);
    });

    it("a password consumer with refreshPolicy CreatedOnce is refused, naming the counter and the fix", () => {
        const pw = copy(loadStackFile("dev").passwords) as any[];
        pw[1].consumers[0].refreshPolicy = "CreatedOnce";
        rejects(
            () => parse("dev", { passwords: pw }),
            "platform-secrets:passwords[1].consumers[0].refreshPolicy",
            /CreatedOnce never re-syncs after the first sync .* password "authentik-postgres-password" could never be rotated here: bumping platform-secrets:passwords\[1\]\.rotation .*; fix: set refreshPolicy: OnChange .* or Periodic/,
        );
    });

    it("Periodic with a zero refreshInterval is refused the same way (it syncs once and stops)", () => {
        const pw = copy(loadStackFile("dev").passwords) as any[];
        pw[0].consumers[1].refreshInterval = "0s";
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[0].consumers[1].refreshInterval", /Periodic with refreshInterval 0s syncs once and never again.*fix: set a non-zero refreshInterval/);
        pw[0].consumers[1].refreshInterval = "0h0m";
        rejects(() => parse("dev", { passwords: pw }), "platform-secrets:passwords[0].consumers[1].refreshInterval", /0h0m/);
    });

    it("externalSecrets / clusterExternalSecrets entries reading a password's vaultPath follow the same rule; other paths are free", () => {
        const ces = copy(loadStackFile("dev").clusterExternalSecrets) as any[];
        ces[0].refreshPolicy = "CreatedOnce";
        rejects(() => parse("dev", { clusterExternalSecrets: ces }), "platform-secrets:clusterExternalSecrets[0].refreshPolicy", /password "platform-webhook-token" could never be rotated here: bumping platform-secrets:passwords\[3\]\.rotation/);
        const es = [{ name: "pdns-copy", namespace: "dns-system", vaultPath: "dns/powerdns-api-key", refreshPolicy: "CreatedOnce", data: [{ secretKey: "k", property: "password" }] }];
        rejects(() => parse("dev", { externalSecrets: es }), "platform-secrets:externalSecrets[0].refreshPolicy", /password "powerdns-api-key"/);
        // A path nobody rotates (written elsewhere) may be synced once.
        const other = copy(loadStackFile("dev").externalSecrets) as any[];
        other[0].refreshPolicy = "CreatedOnce";
        assert.equal(parse("dev", { externalSecrets: other }).externalSecrets[0].refreshPolicy, "CreatedOnce");
    });

    it("rotationBlocker: only CreatedOnce and a zero Periodic interval block (property over policies and intervals)", () => {
        fc.assert(fc.property(fc.constantFrom("CreatedOnce", "OnChange", "Periodic"), fc.constantFrom("0s", "0h", "0m0s", "1s", "15m", "1h", "0.5h"), (policy, interval) => {
            const zero = /^(0+(\.0+)?[a-z]+)+$/.test(interval);
            const want = policy === "CreatedOnce" ? "CreatedOnce" : policy === "Periodic" && zero ? "zero-interval" : undefined;
            assert.equal(rotationBlocker(policy, interval), want);
        }));
    });
});

describe("stacks program: the counter reaches every ExternalSecret of a stable password (mocks)", function () {
    this.timeout(60000);

    it("an externalSecrets entry on a password's path gets the rotation annotation; a ClusterExternalSecret gets it as a label on its ExternalSecrets", async () => {
        const pw = copy(loadStackFile("dev").passwords) as any[];
        pw[3].rotation = 5;
        const es = [
            ...(copy(loadStackFile("dev").externalSecrets) as any[]),
            { name: "webhook-copy", namespace: "authentik", vaultPath: "platform/webhook-token", refreshPolicy: "OnChange", data: [{ secretKey: "token", property: "token" }] },
        ];
        const run = await runStack("dev", { overrides: { passwords: pw, externalSecrets: es } });
        const copyEs = ofType(run, T.externalSecret).find((r) => r.name === "external-authentik-webhook-copy-es")!;
        assert.deepEqual(copyEs.inputs.metadata.annotations, { "platform-secrets.io/rotation": "5", "platform-secrets.io/vault-path": "dev/platform/webhook-token" });
        const other = ofType(run, T.externalSecret).find((r) => r.name === "external-backstage-backstage-github-oauth-es")!;
        assert.equal(other.inputs.metadata.annotations, undefined, "a path no password writes carries no counter");
        // ESO hashes labels and annotations alike (HashMeta): the label on the generated ExternalSecrets re-syncs them.
        const ces = ofType(run, T.clusterExternalSecret).find((r) => r.name === "fanout-platform-webhook-token-ces")!;
        assert.equal(ces.inputs.spec.externalSecretMetadata.labels["platform-secrets.io/rotation"], "5");
        const registry = ofType(run, T.clusterExternalSecret).find((r) => r.name === "registry-application-docker-registry-application-ces")!;
        assert.equal(registry.inputs.spec.externalSecretMetadata.labels["platform-secrets.io/rotation"], undefined);
    });
});
