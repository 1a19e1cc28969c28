import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import * as YAML from "yaml";
import { waitUntil } from "./http";

/**
 * ESO's published CRDs (deploy/crds/bundle.yaml of the Go module, fetched through the module proxy like the
 * servers), server-side applied to the apiserver; resolves once every CRD is Established.
 */
export const ESO_MODULE = "github.com/external-secrets/external-secrets";
export const ESO_VERSION = "v1.3.2";

type Obj = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any };

export async function esoCrds(version = ESO_VERSION): Promise<Obj[]> {
    const env = { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin`, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" };
    const { stdout } = await promisify(execFile)("go", ["mod", "download", "-json", `${ESO_MODULE}@${version}`], { cwd: os.tmpdir(), env, maxBuffer: 1 << 20 });
    const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
    const docs = YAML.parseAllDocuments(readFileSync(path.join(dir, "deploy", "crds", "bundle.yaml"), "utf8")).map((d) => d.toJSON() as Obj).filter(Boolean);
    return docs.filter((d) => d.kind === "CustomResourceDefinition");
}

export async function installEsoCrds(kc: KubeConfig, version = ESO_VERSION): Promise<number> {
    const api = KubernetesObjectApi.makeApiClient(kc);
    const crds = await esoCrds(version);
    for (const crd of crds) await api.patch(crd as any, undefined, undefined, "platform-secrets-test-env", true, PatchStrategy.ServerSideApply);
    await waitUntil("ESO CRDs established", async () => {
        for (const crd of crds) {
            const live = (await api.read({ apiVersion: crd.apiVersion, kind: crd.kind, metadata: { name: crd.metadata.name } } as any)) as any;
            if (!(live.status?.conditions ?? []).some((c: any) => c.type === "Established" && c.status === "True")) return false;
        }
        return true;
    }, { timeoutMs: 60_000, everyMs: 250 });
    return crds.length;
}
