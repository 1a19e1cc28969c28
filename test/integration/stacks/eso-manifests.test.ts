import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { request, HttpResponse } from "../../env";
import { esoCrds as publishedEsoCrds, ESO_MODULE, ESO_VERSION } from "../../env/eso-crds";
import { getEnv } from "../fixture";
import { randomName, withTimeout, eventually } from "../../support";
import { runStack, Registered } from "../../unit/stacks/harness";

/**
 * The manifests the Pulumi program renders (collected from a mocks run) applied to a real kube-apiserver that carries
 * ESO's published CRDs (the version of the controller the environment runs: test/env/eso-crds.ts), with server-side apply and fieldValidation=Strict: an unknown or mistyped field fails.
 */
const FIELD_MANAGER = "platform-secrets-stacks-test";

interface Obj {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
    [k: string]: unknown;
}

class Api {
    private readonly tls: { ca?: string; cert?: string; key?: string };
    private readonly server: string;
    constructor(kc: KubeConfig) {
        const cluster = kc.getCurrentCluster()!;
        const user = kc.getCurrentUser()!;
        const pem = (data?: string, file?: string) => (data ? Buffer.from(data, "base64").toString("utf8") : file ? readFileSync(file, "utf8") : undefined);
        this.tls = { ca: pem(cluster.caData, cluster.caFile), cert: pem(user.certData, user.certFile), key: pem(user.keyData, user.keyFile) };
        this.server = cluster.server.replace(/\/$/, "");
    }
    call(method: string, p: string, body?: unknown, contentType = "application/json"): Promise<HttpResponse> {
        return request(`${this.server}${p}`, { method, ...this.tls, timeoutMs: 30000, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": contentType } }) });
    }
}

const BUILTIN_PLURALS: Record<string, string> = {
    ServiceAccount: "serviceaccounts",
    Role: "roles",
    RoleBinding: "rolebindings",
    ClusterRole: "clusterroles",
    ClusterRoleBinding: "clusterrolebindings",
    Namespace: "namespaces",
    ConfigMap: "configmaps",
    Service: "services",
    Deployment: "deployments",
    PodDisruptionBudget: "poddisruptionbudgets",
};

function objectPath(o: Obj, plurals: Map<string, string>): string {
    const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
    const plural = BUILTIN_PLURALS[o.kind] ?? plurals.get(`${group}/${o.kind}`);
    if (!plural) throw new Error(`no plural known for ${o.apiVersion} ${o.kind}`);
    const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
    return `${base}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ""}/${plural}/${o.metadata.name}`;
}

/** Every field we sent is on the live object with the same value (nothing pruned or rewritten). */
function assertSubset(sent: unknown, live: unknown, where: string): void {
    if (Array.isArray(sent)) {
        assert.ok(Array.isArray(live), `${where}: expected a list`);
        assert.equal((live as unknown[]).length, sent.length, `${where}: list length`);
        sent.forEach((x, i) => assertSubset(x, (live as unknown[])[i], `${where}[${i}]`));
    } else if (sent && typeof sent === "object") {
        for (const [k, v] of Object.entries(sent)) assertSubset(v, (live as Record<string, unknown>)?.[k], `${where}.${k}`);
    } else {
        assert.deepEqual(live, sent, where);
    }
}

/** Kubernetes manifests out of a mocks run: the ESO objects, the RBAC objects and the reconciler's objects. */
function manifests(resources: Registered[]): Obj[] {
    return resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => {
        const { apiVersion, kind, metadata, ...rest } = r.inputs;
        return { apiVersion, kind, metadata, ...rest } as Obj;
    });
}

describe("stacks: rendered manifests against ESO's published CRDs (real apiserver)", function () {
    this.timeout(300000);
    let api: Api;
    const plurals = new Map<string, string>();

    before(async () => {
        api = new Api(getEnv().kubeConfig());
        const crds = (await withTimeout(publishedEsoCrds(), 240000, `go mod download ${ESO_MODULE}@${ESO_VERSION}`)) as unknown as Obj[];
        for (const kind of ["ExternalSecret", "ClusterExternalSecret", "ClusterSecretStore"]) {
            const crd = crds.find((c) => (c.spec as any).names.kind === kind && (c.spec as any).group === "external-secrets.io")!;
            assert.ok((crd.spec as any).versions.some((v: any) => v.name === "v1" && v.served), `${ESO_VERSION} serves external-secrets.io/v1 ${kind}`);
        }
        for (const crd of crds) {
            const spec = crd.spec as { group: string; names: { kind: string; plural: string } };
            plurals.set(`${spec.group}/${spec.names.kind}`, spec.names.plural);
            const res = await api.call("PATCH", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}?fieldManager=${FIELD_MANAGER}&force=true`, crd, "application/apply-patch+yaml");
            assert.ok(res.status === 200 || res.status === 201, `CRD ${crd.metadata.name}: ${res.status} ${res.body.slice(0, 300)}`);
        }
        await eventually(async () => {
            for (const crd of crds) {
                const res = await api.call("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
                const conds = (JSON.parse(res.body).status?.conditions ?? []) as { type: string; status: string }[];
                if (!conds.some((c) => c.type === "Established" && c.status === "True")) return undefined;
            }
            return true;
        }, 60000, "ESO CRDs established");
    });

    async function apply(o: Obj): Promise<HttpResponse> {
        return api.call("PATCH", `${objectPath(o, plurals)}?fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Strict`, o, "application/apply-patch+yaml");
    }

    async function ensureNamespaces(objs: Obj[], runLabel: Record<string, string>, created: string[]): Promise<void> {
        for (const ns of new Set(objs.map((o) => o.metadata.namespace).filter((n): n is string => !!n))) {
            const res = await api.call("GET", `/api/v1/namespaces/${ns}`);
            if (res.status === 404) {
                const c = await api.call("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: runLabel } });
                assert.equal(c.status, 201, `namespace ${ns}: ${c.body.slice(0, 200)}`);
                created.push(ns);
            }
        }
    }

    async function cleanup(applied: Obj[], namespaces: string[]): Promise<void> {
        for (const o of applied.reverse()) await api.call("DELETE", objectPath(o, plurals)).catch(() => undefined);
        for (const ns of namespaces) await api.call("DELETE", `/api/v1/namespaces/${ns}`).catch(() => undefined);
        // The example stacks share namespace names: the next stack must not meet a terminating namespace.
        for (const ns of namespaces) await eventually(async () => ((await api.call("GET", `/api/v1/namespaces/${ns}`)).status === 404 ? true : undefined), 120000, `namespace ${ns} deleted`, 250);
    }

    for (const stack of ["dev", "staging", "prod"]) {
        it(`${stack}: the apiserver accepts every ESO object and RBAC object the program renders (Strict field validation)`, async () => {
            const run = await runStack(stack);
            const all = manifests(run.resources);
            // cert-manager's CRDs are not installed here: the issuer is the one object left out, and only in prod.
            const skipped = all.filter((o) => o.apiVersion.startsWith("cert-manager.io/"));
            assert.deepEqual(skipped.map((o) => `${o.kind}/${o.metadata.name}`), stack === "prod" ? ["ClusterIssuer/letsencrypt-powerdns"] : []);
            const objs = all.filter((o) => !skipped.includes(o));
            const kinds = new Set(objs.map((o) => o.kind));
            for (const k of ["ClusterSecretStore", "ExternalSecret", "ClusterExternalSecret", "ServiceAccount", "Role", "RoleBinding"]) assert.ok(kinds.has(k), `${stack} renders a ${k}`);
            if (stack === "staging") assert.ok(kinds.has("GithubAccessToken"));

            const runLabel = { "platform-secrets.io/test-run": randomName("stacks") };
            const applied: Obj[] = [];
            const namespaces: string[] = [];
            try {
                await ensureNamespaces(objs, runLabel, namespaces);
                for (const o of objs) {
                    const res = await apply(o);
                    assert.ok(res.status === 200 || res.status === 201, `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name} rejected: ${res.status} ${res.body.slice(0, 500)}`);
                    applied.push(o);
                    const live = JSON.parse((await api.call("GET", objectPath(o, plurals))).body) as Record<string, unknown>;
                    const { apiVersion: _a, kind: _k, metadata, ...body } = o;
                    assertSubset(body, live, `${o.kind}/${o.metadata.name}`);
                    assertSubset({ name: metadata.name, labels: metadata.labels ?? {} }, live.metadata, `${o.kind}/${o.metadata.name}.metadata`);
                }

                // Only each app's ServiceAccount may read its own secret (RBAC resourceNames), evaluated by the apiserver.
                const can = async (sa: string, secret: string) => {
                    const res = await api.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
                        apiVersion: "authorization.k8s.io/v1",
                        kind: "SubjectAccessReview",
                        spec: { user: `system:serviceaccount:workflows:${sa}`, groups: ["system:serviceaccounts", "system:serviceaccounts:workflows"], resourceAttributes: { namespace: "workflows", verb: "get", resource: "secrets", name: secret } },
                    });
                    assert.equal(res.status, 201, res.body.slice(0, 200));
                    return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed;
                };
                assert.equal(await can("github-app-rex", "github-app-rex"), true);
                assert.equal(await can("github-app-rex", "github-app-qa"), false);
                assert.equal(await can("github-app-qa", "github-app-rex"), false);
                assert.equal(await can("default", "github-app-rex"), false);
                assert.equal(await can("github-app-security", "github-app-security-token"), stack === "staging");

                // The reconciler reads its policy ConfigMap but can neither rewrite it nor read ConfigMaps elsewhere.
                const reconciler = async (verb: string, namespace: string, name: string) => {
                    const res = await api.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
                        apiVersion: "authorization.k8s.io/v1",
                        kind: "SubjectAccessReview",
                        spec: { user: "system:serviceaccount:platform-secrets:platform-secrets-reconciler", groups: ["system:serviceaccounts", "system:serviceaccounts:platform-secrets"], resourceAttributes: { namespace, verb, resource: "configmaps", name } },
                    });
                    return (JSON.parse(res.body) as { status: { allowed: boolean } }).status.allowed;
                };
                assert.equal(await reconciler("get", "platform-secrets", "platform-secrets-policy"), true);
                assert.equal(await reconciler("update", "platform-secrets", "platform-secrets-policy"), false, "the reconciler cannot widen its own policy");
                assert.equal(await reconciler("get", "kube-system", "platform-secrets-policy"), false);
            } finally {
                await cleanup(applied, namespaces);
            }
        });
    }

    it("the schemas are really enforced: a bad refreshPolicy and an unknown field are rejected", async () => {
        const run = await runStack("dev");
        const es = manifests(run.resources).find((o) => o.kind === "ExternalSecret" && o.metadata.namespace === "authentik")!;
        const runLabel = { "platform-secrets.io/test-run": randomName("stacks-neg") };
        const namespaces: string[] = [];
        try {
            await ensureNamespaces([es], runLabel, namespaces);
            const badPolicy = JSON.parse(JSON.stringify(es)) as Obj;
            (badPolicy.spec as any).refreshPolicy = "Sometimes";
            const r1 = await apply(badPolicy);
            assert.equal(r1.status, 422, r1.body.slice(0, 300));
            assert.match(r1.body, /refreshPolicy/);
            const unknown = JSON.parse(JSON.stringify(es)) as Obj;
            (unknown.spec as any).refreshPolicyy = "OnChange";
            const r2 = await apply(unknown);
            // Server-side apply refuses a field missing from the CRD schema while building the typed patch.
            assert.ok(r2.status >= 400 && /refreshPolicyy: field not declared in schema|unknown field "spec.refreshPolicyy"/.test(r2.body), `${r2.status} ${r2.body.slice(0, 300)}`);
        } finally {
            await cleanup([], namespaces);
        }
    });
});
