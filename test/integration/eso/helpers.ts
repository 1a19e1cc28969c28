import assert from "node:assert/strict";
import { isKubeError } from "../../../lib/kube";
import { eventually, randomName } from "../../support";
import { loadStackFile, Registered, runStack } from "../../unit/stacks/harness";
import { getEnv } from "../fixture";
import { admin } from "../reconciler/helpers";

/**
 * Shared steps of the tests that run the REAL External Secrets Operator (started by startTestEnv): the objects
 * come from the program's own code (a mocks run of a stack file, test/unit/stacks/harness.ts), and the Vault
 * writes are exactly what the program's vault.kv.SecretV2 resources ask the vault provider to write.
 */
export const ESO_GROUP = "/apis/external-secrets.io/v1";
const FIELD_MANAGER = "platform-secrets-eso-test";

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any };

const PLURALS: Record<string, string> = {
    ClusterSecretStore: "clustersecretstores",
    ExternalSecret: "externalsecrets",
    ClusterExternalSecret: "clusterexternalsecrets",
};

export function esoPath(o: Pick<Obj, "kind" | "metadata">): string {
    const plural = PLURALS[o.kind];
    if (!plural) throw new Error(`not an ESO kind: ${o.kind}`);
    return `${ESO_GROUP}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ""}/${plural}/${o.metadata.name}`;
}

/** Server-side apply, as the kubernetes provider does for `pulumi up`. */
export async function apply(o: Obj): Promise<void> {
    const k = await admin();
    await k.request("PATCH", esoPath(o), { body: o, contentType: "application/apply-patch+yaml", query: { fieldManager: FIELD_MANAGER, force: true, fieldValidation: "Strict" } });
}

export async function remove(o: Obj): Promise<void> {
    const k = await admin();
    await k.request("DELETE", esoPath(o)).catch((e) => {
        if (!isKubeError(e, 404)) throw e;
    });
}

/** Kubernetes objects out of a mocks run, as the kubernetes provider receives them. */
export function rendered(resources: Registered[]): Obj[] {
    return resources.filter((r) => r.type.startsWith("kubernetes:")).map((r) => {
        const { apiVersion, kind, metadata, ...rest } = r.inputs;
        return { apiVersion, kind, metadata, ...rest } as Obj;
    });
}

/** Unwraps a Pulumi secret as the mocks hand it to a provider. */
function plain(v: any): any {
    return v && typeof v === "object" && "value" in v && Object.keys(v).some((k) => k.length === 32) ? v.value : v;
}

/**
 * Plays the vault provider for the program's SecretV2 resources against the REAL Vault dev server: a write of
 * `dataJson` to `<mount>/data/<name>`, i.e. a new KV v2 version when the value changed (the real provider's update).
 */
export async function writeProgramVaultSecrets(resources: Registered[], filter: (name: string) => boolean = () => true): Promise<number> {
    let n = 0;
    for (const r of resources.filter((x) => x.type === "vault:kv/secretV2:SecretV2")) {
        const mount = plain(r.inputs.mount) as string;
        const name = plain(r.inputs.name) as string;
        if (!filter(name)) continue;
        const data = JSON.parse(plain(r.inputs.dataJson) as string) as Record<string, string>;
        const current = await vaultRead(mount, name);
        if (current && JSON.stringify(current.data) === JSON.stringify(data)) continue;
        await vaultWrite(mount, name, data);
        n++;
    }
    return n;
}

export async function vaultWrite(mount: string, path: string, data: Record<string, string>): Promise<void> {
    const { addr, token } = getEnv().vault;
    const res = await fetch(`${addr}/v1/${mount}/data/${path}`, { method: "POST", headers: { "X-Vault-Token": token, "Content-Type": "application/json" }, body: JSON.stringify({ data }) });
    if (!res.ok) throw new Error(`vault write ${mount}/${path}: HTTP ${res.status}`);
}

export async function vaultRead(mount: string, path: string, version?: number): Promise<{ data: Record<string, string>; version: number } | undefined> {
    const { addr, token } = getEnv().vault;
    const res = await fetch(`${addr}/v1/${mount}/data/${path}${version ? `?version=${version}` : ""}`, { headers: { "X-Vault-Token": token } });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`vault read ${mount}/${path}: HTTP ${res.status}`);
    const body = (await res.json()) as { data: { data: Record<string, string>; metadata: { version: number } } };
    return { data: body.data.data, version: body.data.metadata.version };
}

export async function vaultDelete(mount: string, path: string): Promise<void> {
    const { addr, token } = getEnv().vault;
    await fetch(`${addr}/v1/${mount}/metadata/${path}`, { method: "DELETE", headers: { "X-Vault-Token": token } });
}

/** The Secret ESO's ClusterSecretStore logs in with (token auth), written as the operator's seed writes it. */
export async function createVaultTokenSecret(namespace: string, name: string, key: string): Promise<void> {
    const k = await admin();
    await k.request("POST", `/api/v1/namespaces/${namespace}/secrets`, {
        body: { apiVersion: "v1", kind: "Secret", metadata: { name }, type: "Opaque", data: { [key]: Buffer.from(getEnv().vault.token).toString("base64") } },
    });
}

/** Ready condition of an ESO object (undefined while it has none). */
export async function readyCondition(o: Obj): Promise<{ status: string; reason?: string; message?: string } | undefined> {
    const k = await admin();
    const live = await k.request("GET", esoPath(o)).catch(() => undefined);
    return ((live?.status?.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[]).find((c) => c.type === "Ready");
}

export async function waitReady(o: Obj, ms = 60_000): Promise<void> {
    let last: unknown;
    await eventually(async () => {
        const c = await readyCondition(o);
        last = c;
        return c?.status === "True" ? true : undefined;
    }, ms, `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name} Ready (last condition: ${JSON.stringify(last)})`, 200);
}

export async function secretData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const k = await admin();
    try {
        const s = await k.request("GET", `/api/v1/namespaces/${namespace}/secrets/${name}`);
        return Object.fromEntries(Object.entries((s.data ?? {}) as Record<string, string>).map(([key, v]) => [key, Buffer.from(v, "base64").toString("utf8")]));
    } catch (e) {
        if (isKubeError(e, 404)) return undefined;
        throw e;
    }
}

export async function createNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
    const k = await admin();
    const name = randomName(prefix);
    await k.request("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "test.platform-secrets.io/suite": "eso", ...labels } } } });
    return name;
}

/** The store's allowed namespaces of `stack` plus the test's own (the rest of the stack must stay valid). */
export function allowNamespaces(stack: string, namespaces: string[]): string[] {
    return [...((loadStackFile(stack).storeAllowedNamespaces as string[] | undefined) ?? []), ...namespaces];
}

/** Renders a stack file with overrides through the program (mocks) and returns its Kubernetes objects + resources. */
export async function renderStack(stack: string, overrides: Record<string, unknown>): Promise<{ objects: Obj[]; resources: Registered[] }> {
    // A `secure:` value cannot be decrypted by the mocks harness (the local stack's githubToken is an empty one).
    // vaultPathPrefix "/": the tests' random paths as written (the prefix itself is tested in test/e2e/environments).
    const run = await runStack(stack, { overrides: { githubToken: undefined, vaultPathPrefix: "/", ...overrides } });
    return { objects: rendered(run.resources), resources: run.resources };
}

export function only(objects: Obj[], kind: string, name: string, namespace?: string): Obj {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name && (namespace === undefined || x.metadata.namespace === namespace));
    assert.ok(o, `the program renders ${kind} ${namespace ? `${namespace}/` : ""}${name} (rendered: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(", ")})`);
    return o;
}
