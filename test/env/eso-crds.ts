import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import * as YAML from "yaml";
import { ESO_CONTROLLER_VERSION, ESO_MODULE } from "./eso-binary";
import { request, HttpResponse, waitUntil } from "./http";

/**
 * ESO's published CRDs (deploy/crds/bundle.yaml of the Go module, fetched through the module proxy like the
 * servers), server-side applied to the apiserver; resolves once every CRD is Established.
 *
 * The version is the controller's (eso-binary.ts), so the CRDs match what the running controller reads and
 * writes. In v0.16.2 the four core kinds (ExternalSecret, SecretStore and their Cluster variants) serve v1 and
 * v1beta1 with v1 as the storage version and no `spec.conversion` (= strategy None: the apiserver only rewrites
 * apiVersion, the schemas are the same), so the stack's external-secrets.io/v1 objects are accepted and stored
 * with no conversion webhook. `esoCrds` fails if a version bump changes that (a Webhook strategy would need ESO's
 * webhook server and its certificates, which this environment does not run).
 */
export { ESO_MODULE } from "./eso-binary";
export const ESO_VERSION = ESO_CONTROLLER_VERSION;

type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any };

export async function esoCrds(version = ESO_VERSION): Promise<Obj[]> {
    const env = { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin`, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" };
    const { stdout } = await promisify(execFile)("go", ["mod", "download", "-json", `${ESO_MODULE}@${version}`], { cwd: os.tmpdir(), env, maxBuffer: 1 << 20 });
    const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
    const docs = YAML.parseAllDocuments(readFileSync(path.join(dir, "deploy", "crds", "bundle.yaml"), "utf8")).map((d) => d.toJSON() as Obj).filter(Boolean);
    const crds = docs.filter((d) => d.kind === "CustomResourceDefinition");
    checkNoConversionWebhook(crds, version);
    return crds;
}

/** Every CRD must store a served version and convert without a webhook; see the header comment. */
export function checkNoConversionWebhook(crds: Obj[], version: string): void {
    for (const crd of crds) {
        const strategy = crd.spec?.conversion?.strategy ?? "None";
        if (strategy !== "None") throw new Error(`ESO ${version} CRD ${crd.metadata.name} uses conversion strategy ${strategy}; this environment runs no conversion webhook`);
        const versions = (crd.spec?.versions ?? []) as { name: string; served?: boolean; storage?: boolean }[];
        if (!versions.some((v) => v.served && v.storage)) throw new Error(`ESO ${version} CRD ${crd.metadata.name} has no served storage version`);
    }
    const core = crds.filter((c) => /^(cluster)?(externalsecrets|secretstores)\.external-secrets\.io$/.test(c.metadata.name));
    for (const crd of core) {
        if (!(crd.spec.versions as { name: string; served?: boolean }[]).some((v) => v.name === "v1" && v.served)) {
            throw new Error(`ESO ${version} CRD ${crd.metadata.name} does not serve external-secrets.io/v1, which the stack renders`);
        }
    }
    if (core.length !== 4) throw new Error(`ESO ${version} bundle has ${core.length} of the 4 core CRDs (ExternalSecret, SecretStore and Cluster variants)`);
}

/** Raw JSON to the apiserver: client-node's typed models drop x-kubernetes-* schema fields of CRDs. */
function apiCaller(kc: KubeConfig): (method: string, p: string, body?: unknown, contentType?: string) => Promise<HttpResponse> {
    const cluster = kc.getCurrentCluster()!;
    const user = kc.getCurrentUser()!;
    const pem = (data?: string, file?: string): string | undefined => (data ? Buffer.from(data, "base64").toString("utf8") : file ? readFileSync(file, "utf8") : undefined);
    const tls = { ca: pem(cluster.caData, cluster.caFile), cert: pem(user.certData, user.certFile), key: pem(user.keyData, user.keyFile) };
    const server = cluster.server.replace(/\/$/, "");
    return (method, p, body, contentType = "application/json") =>
        request(`${server}${p}`, { method, ...tls, timeoutMs: 30_000, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": contentType } }) });
}

export async function installEsoCrds(kc: KubeConfig, version = ESO_VERSION): Promise<number> {
    const call = apiCaller(kc);
    const crds = await esoCrds(version);
    const base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    for (const crd of crds) {
        const res = await call("PATCH", `${base}/${crd.metadata.name}?fieldManager=platform-secrets-test-env&force=true`, crd, "application/apply-patch+yaml");
        if (res.status !== 200 && res.status !== 201) throw new Error(`applying CRD ${crd.metadata.name}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    }
    await waitUntil("ESO CRDs established", async () => {
        for (const crd of crds) {
            const live = JSON.parse((await call("GET", `${base}/${crd.metadata.name}`)).body) as { status?: { conditions?: { type: string; status: string }[] } };
            if (!(live.status?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True")) return false;
        }
        return true;
    }, { timeoutMs: 60_000, everyMs: 250 });
    return crds.length;
}
