import { deriveSecret, LABEL_SOURCE, Recipe } from "../../../derive";
import { Reconciler, ReconcilerOptions } from "../../../reconciler/app";
import { KubeClient, isKubeError } from "../../../reconciler/kube";
import { capturingLogger, eventually, randomName } from "../../support";
import { getEnv } from "../fixture";

export const b64 = (s: string) => Buffer.from(s).toString("base64");
export const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8"));

let shared: KubeClient | undefined;
export async function admin(): Promise<KubeClient> {
    shared ??= await KubeClient.create(getEnv().kubeConfig());
    return shared;
}

export async function createNamespace(labels: Record<string, string> = {}, prefix = "rec"): Promise<string> {
    const c = await admin();
    const name = randomName(prefix);
    await c.request("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "test.platform-secrets.io/suite": "reconciler", ...labels } } } });
    return name;
}

export async function deleteNamespaces(names: string[]): Promise<void> {
    const c = await admin();
    await Promise.all(names.map((n) => c.request("DELETE", `/api/v1/namespaces/${n}`).catch(() => undefined)));
}

export async function getSecret(ns: string, name: string): Promise<any | undefined> {
    try {
        return await (await admin()).request("GET", `/api/v1/namespaces/${ns}/secrets/${name}`);
    } catch (e) {
        if (isKubeError(e, 404)) return undefined;
        throw e;
    }
}

export async function createSource(ns: string, name: string, data: Record<string, string>, opts: { type?: string; annotations?: Record<string, string>; labels?: Record<string, string> } = {}): Promise<any> {
    const c = await admin();
    const body = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: ns, labels: { [LABEL_SOURCE]: "true", ...(opts.labels ?? {}) }, annotations: opts.annotations ?? {} },
        type: opts.type ?? "Opaque",
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    };
    return c.request("POST", `/api/v1/namespaces/${ns}/secrets`, { body });
}

/** Read-modify-write of a secret with retries on 409 (tests play the user / ESO). */
export async function mutateSecret(ns: string, name: string, fn: (s: any) => void): Promise<any> {
    const c = await admin();
    for (let i = 0; ; i++) {
        const s = await c.request("GET", `/api/v1/namespaces/${ns}/secrets/${name}`);
        fn(s);
        try {
            return await c.request("PUT", `/api/v1/namespaces/${ns}/secrets/${name}`, { body: s });
        } catch (e) {
            if (!isKubeError(e, 409) || i > 20) throw e;
        }
    }
}

/** What `pulumi up` (the dynamic provider) bootstraps: the derived secret written once from the derivation core. */
export async function bootstrapDerived(recipe: Recipe): Promise<any> {
    const source = await getSecret(recipe.source.namespace, recipe.source.name);
    const desired = deriveSecret(source, recipe);
    return (await admin()).request("POST", `/api/v1/namespaces/${recipe.target.namespace}/secrets`, { body: { apiVersion: "v1", kind: "Secret", ...desired } });
}

export interface Running {
    r: Reconciler;
    lines: string[];
    text: () => string;
    stop: () => Promise<void>;
}

export async function startReconciler(namespaces: string[], opts: Partial<ReconcilerOptions> = {}): Promise<Running> {
    const cap = capturingLogger("reconciler");
    const client = await KubeClient.create(getEnv().kubeConfig());
    const r = new Reconciler({ client, logger: cap.logger, identity: randomName("rec"), namespaces, debounceMs: 300, workers: 4, ...opts });
    await r.start();
    if (!opts.lease) await r.waitUntilReconciling();
    let stopped = false;
    return {
        r,
        lines: cap.lines,
        text: cap.text,
        stop: async () => {
            if (stopped) return;
            stopped = true;
            await r.stop();
            client.close();
        },
    };
}

export function auditLines(lines: string[]): any[] {
    return lines.map((l) => JSON.parse(l)).filter((l) => l.audit === true);
}

export { eventually };
