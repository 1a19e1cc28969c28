import { strict as assert } from "node:assert";
import { MirroredSecretInputs, mirroredSecretProvider as p } from "../../../providers";
import { canaryValue, randomName } from "../../support";
import { Cluster, rejection, unb64 } from "./helpers";

describe("providers: MirroredSecret against the real apiserver", function () {
    const c = new Cluster();
    let src: string;
    const label = `mirror-test-${randomName("k").slice(2)}`;

    before(async () => {
        src = await c.namespace("mir-src");
    });
    after(() => c.cleanup());

    async function source(): Promise<{ name: string; value: string }> {
        const name = randomName("shared");
        const value = canaryValue();
        await c.secret(src, name, "kubernetes.io/dockerconfigjson", { ".dockerconfigjson": JSON.stringify({ auths: { "ghcr.io": { auth: value } } }) });
        return { name, value };
    }

    it("mirrors into an explicit namespace list; namespace removal deletes the copy on update", async () => {
        const a = await c.namespace("mir-a");
        const b = await c.namespace("mir-b");
        const s = await source();
        const i: MirroredSecretInputs = { source: { namespace: src, name: s.name }, namespaces: [a, b, src], kubeconfig: c.kubeconfig };
        const { id, outs } = await p.create(i);
        assert.deepEqual(outs?.targetNamespaces, [a, b].sort());
        for (const ns of [a, b]) assert.ok(unb64((await c.get(ns, s.name))!.data![".dockerconfigjson"]).includes(s.value));
        const news = { ...i, namespaces: [a] };
        const u = await p.update!(id, outs!, news);
        assert.deepEqual(u.outs?.targetNamespaces, [a]);
        assert.equal(await c.get(b, s.name), undefined);
        await p.delete!(id, u.outs!);
        assert.equal(await c.get(a, s.name), undefined);
    });

    it("follows a namespace label selector at read and update", async () => {
        const x = await c.namespace("mir-x", { [label]: "on" });
        const y = await c.namespace("mir-y");
        const s = await source();
        const i: MirroredSecretInputs = { source: { namespace: src, name: s.name }, namespaceSelector: `${label}=on`, targetName: "copy", kubeconfig: c.kubeconfig };
        const { id, outs } = await p.create(i);
        assert.deepEqual(outs?.targetNamespaces, [x]);
        // y gains the label, x loses it: read reports both, update follows.
        const nsY = await c.core.readNamespace({ name: y });
        nsY.metadata!.labels = { ...nsY.metadata!.labels, [label]: "on" };
        await c.core.replaceNamespace({ name: y, body: nsY });
        const nsX = await c.core.readNamespace({ name: x });
        delete nsX.metadata!.labels![label];
        await c.core.replaceNamespace({ name: x, body: nsX });
        const r = await p.read!(id, outs);
        assert.deepEqual(r.props?.drift, [`${x}: not selected`, `${y}: missing`]);
        assert.equal((await p.diff!(id, r.props!, i)).changes, true);
        const u = await p.update!(id, r.props!, i);
        assert.deepEqual(u.outs?.targetNamespaces, [y]);
        assert.ok(await c.get(y, "copy"));
        assert.equal(await c.get(x, "copy"), undefined);
        assert.deepEqual((await p.read!(id, u.outs)).props?.drift, []);
        // Rotation shows per namespace.
        await c.setText(src, s.name, ".dockerconfigjson", JSON.stringify({ auths: {} }));
        const r2 = await p.read!(id, u.outs);
        assert.deepEqual(r2.props?.drift, [`${y}: data..dockerconfigjson`, `${y}: annotations.platform-secrets.io/source-hash`]);
        await p.delete!(id, u.outs!);
        assert.equal(await c.get(y, "copy"), undefined);
    });

    it("refuses when any target holds an unmanaged secret, writing nothing anywhere; adopt takes over", async () => {
        const a = await c.namespace("mir-a");
        const b = await c.namespace("mir-b");
        const s = await source();
        await c.secret(b, s.name, "Opaque", { mine: "yes" });
        const i: MirroredSecretInputs = { source: { namespace: src, name: s.name }, namespaces: [a, b], kubeconfig: c.kubeconfig };
        const e = await rejection(p.create(i));
        assert.match(e.message, new RegExp(`secret ${b}/${s.name} exists and is not managed by platform-secrets.*adopt: true`));
        assert.ok(!e.message.includes(s.value));
        assert.equal(await c.get(a, s.name), undefined, "nothing written in the other namespace");
        assert.equal(unb64((await c.get(b, s.name))!.data!.mine), "yes");
        const { id, outs } = await p.create({ ...i, adopt: true });
        assert.deepEqual(outs?.targetNamespaces, [a, b].sort());
        await p.delete!(id, outs!);
    });

    it("missing source → clear error", async () => {
        const a = await c.namespace("mir-a");
        const e = await rejection(p.create({ source: { namespace: src, name: "absent" }, namespaces: [a], kubeconfig: c.kubeconfig }));
        assert.match(e.message, new RegExp(`source secret ${src}/absent of mirror of ${src}/absent not found\\. Fix:`));
    });
});
