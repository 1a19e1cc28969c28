import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { DerivedSecretInputs, DerivedSecretOutputs, MirroredSecretInputs, derivedSecretProvider as p, mirroredSecretProvider as m } from "../../../providers";
import { sourceGrantAnnotations } from "../../../stacks/git";
import type { GitCredentialSpec } from "../../../stacks/config/types";
import { canaryValue, eventually, randomName } from "../../support";
import { getEnv } from "../fixture";
import { Cluster, rejection } from "./helpers";

const ALLOW = "platform-secrets.io/allow-namespaces";
const BY_PROVIDER = "platform-secrets.io/provider-granted-namespaces";

/**
 * The source's consent (issue 10) as the providers keep it, against the real apiserver: a cross-namespace create adds
 * the grant, delete withdraws only a grant a provider added, and a source that already grants (as the stack's
 * ExternalSecret templates write it) is never written.
 */
describe("providers: source grants for cross-namespace derivation (real apiserver)", function () {
    const c = new Cluster();
    let src: string;
    let dst: string;

    before(async () => {
        src = await c.namespace("grant-src");
        dst = await c.namespace("grant-dst");
    });
    after(() => c.cleanup());

    const tekton = (sourceName: string, targetName = randomName("git")): DerivedSecretInputs => ({
        format: "tekton-git",
        source: { namespace: src, name: sourceName },
        target: { namespace: dst, name: targetName },
        options: { gitUrls: ["https://github.com/org/repo"] },
        kubeconfig: c.kubeconfig,
        adopt: false,
    });
    /** A basic-auth source as a person creates it with kubectl (no grant), or as ESO writes it from the stack's template. */
    async function source(annotations: Record<string, string> = {}): Promise<string> {
        const name = randomName("src");
        await c.secret(src, name, "kubernetes.io/basic-auth", { username: "bot", password: canaryValue() }, { annotations });
        return name;
    }
    const annotationsOf = async (name: string) => (await c.get(src, name))?.metadata?.annotations ?? {};
    async function annotate(name: string, key: string, value: string | undefined): Promise<void> {
        const s = (await c.get(src, name))!;
        const a = { ...(s.metadata!.annotations ?? {}) };
        if (value === undefined) delete a[key];
        else a[key] = value;
        s.metadata!.annotations = a;
        await c.core.replaceNamespacedSecret({ namespace: src, name, body: s });
    }

    it("create adds the grant (recorded as the provider's); a withdrawn grant is drift that update repairs; delete withdraws only it", async () => {
        const name = await source();
        const before = (await c.get(src, name))!;
        const i = tekton(name);
        const { id, outs } = await p.create(i);
        assert.equal(outs?.grantAdded, true);
        const granted = (await c.get(src, name))!;
        assert.deepEqual([granted.metadata?.annotations?.[ALLOW], granted.metadata?.annotations?.[BY_PROVIDER]], [dst, dst]);
        assert.deepEqual(granted.data, before.data, "the source's data is untouched");
        const r = await p.read!(id, outs);
        assert.deepEqual([r.props?.drift, r.props?.inSync, r.props?.grantAdded], [[], true, true]);

        // Someone withdraws the grant by hand: refresh shows it, the next `up` puts it back.
        await annotate(name, ALLOW, undefined);
        const r2 = await p.read!(id, outs);
        assert.deepEqual(r2.props?.drift, ["source-grant-missing"]);
        assert.equal((await p.diff!(id, r2.props!, i)).changes, true);
        const u = await p.update!(id, r2.props!, i);
        assert.equal(u.outs?.grantAdded, true);
        assert.equal((await annotationsOf(name))[ALLOW], dst);

        // A namespace granted by someone else meanwhile stays after delete; only the provider's entry goes.
        await annotate(name, ALLOW, `${dst},team-x`);
        await p.delete!(id, u.outs as DerivedSecretOutputs);
        assert.equal(await c.get(dst, i.target.name), undefined);
        const after = await annotationsOf(name);
        assert.equal(after[ALLOW], "team-x");
        assert.equal(after[BY_PROVIDER], undefined);
    });

    it("a source that already grants (the stack's ExternalSecret template) is never written, and keeps its grant after delete", async () => {
        const credential = { sourceNamespace: src, tekton: { namespace: dst, secretName: "x" } } as GitCredentialSpec;
        const name = await source(sourceGrantAnnotations(credential));
        const rv = (await c.get(src, name))!.metadata!.resourceVersion;
        const { id, outs } = await p.create(tekton(name));
        assert.equal(outs?.grantAdded, false);
        assert.equal((await c.get(src, name))!.metadata!.resourceVersion, rv, "not written at create");
        await p.delete!(id, outs!);
        const s = (await c.get(src, name))!;
        assert.equal(s.metadata!.resourceVersion, rv, "not written at delete");
        assert.equal(s.metadata!.annotations?.[ALLOW], dst);
    });

    it("two derived secrets in one namespace share the grant: it stays until the last one goes", async () => {
        const name = await source();
        const a = await p.create(tekton(name));
        const b = await p.create({ ...tekton(name), format: "docker", options: { registry: "ghcr.io" } });
        assert.deepEqual([a.outs?.grantAdded, b.outs?.grantAdded], [true, true]);
        await p.delete!(a.id, a.outs!);
        assert.equal((await annotationsOf(name))[ALLOW], dst, "the docker secret still relies on it");
        await p.delete!(b.id, b.outs!);
        assert.equal((await annotationsOf(name))[ALLOW], undefined);
    });

    it("an identity that may not update the source: create fails naming the source, the annotation and the fix; nothing written", async () => {
        const name = await source();
        const sa = randomName("sa");
        const rbac = getEnv().kubeConfig().makeApiClient(RbacAuthorizationV1Api);
        await c.core.createNamespacedServiceAccount({ namespace: dst, body: { metadata: { name: sa } } });
        const grant = async (ns: string, verbs: string[]) => {
            await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: sa }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs }] } });
            await rbac.createNamespacedRoleBinding({ namespace: ns, body: { metadata: { name: sa }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: sa }, subjects: [{ kind: "ServiceAccount", name: sa, namespace: dst }] } });
        };
        await grant(src, ["get"]);
        await grant(dst, ["get", "list", "create", "update", "delete"]);
        const kubeconfig = readFileSync(await getEnv().mintServiceAccountKubeconfig(dst, sa), "utf8");
        const i = { ...tekton(name), kubeconfig };
        // RBAC caches settle within moments: wait until the read is allowed and only the grant write fails.
        const e = await eventually(async () => {
            const err = await rejection(p.create(i));
            return /HTTP 403 Forbidden/.test(err.message) && /reading secret/.test(err.message) ? undefined : err;
        }, 15000, "RBAC for the minted identity");
        assert.match(e.message, new RegExp(`source secret ${src}/${name} does not grant namespace\\(s\\) ${dst} \\(annotation ${ALLOW}\\) and this identity may not add the grant \\(HTTP 403\\)\\. Fix: annotate source ${src}/${name} with ${ALLOW}: "${dst}"`));
        assert.equal(await c.get(dst, i.target.name), undefined, "no derived secret without the source's consent");
        assert.equal((await annotationsOf(name))[ALLOW], undefined);
    });

    it("MirroredSecret: grants each target namespace it adds, withdraws a dropped namespace's grant on update and the rest on delete", async () => {
        const a = await c.namespace("grant-ma");
        const b = await c.namespace("grant-mb");
        const name = await source({ [ALLOW]: b });
        const i: MirroredSecretInputs = { source: { namespace: src, name }, namespaces: [a, b], kubeconfig: c.kubeconfig };
        const { id, outs } = await m.create(i);
        assert.deepEqual(outs?.grantsAdded, [a], "b was granted already");
        assert.deepEqual((await annotationsOf(name))[ALLOW], [a, b].sort().join(","));
        assert.deepEqual((await m.read!(id, outs)).props?.drift, []);
        const u = await m.update!(id, outs!, { ...i, namespaces: [b] });
        assert.deepEqual(u.outs?.grantsAdded, []);
        assert.equal((await annotationsOf(name))[ALLOW], b);
        const u2 = await m.update!(id, u.outs!, i);
        assert.deepEqual(u2.outs?.grantsAdded, [a]);
        await m.delete!(id, u2.outs!);
        assert.equal((await annotationsOf(name))[ALLOW], b, "only the grant of b, which the provider did not add, remains");
    });
});
