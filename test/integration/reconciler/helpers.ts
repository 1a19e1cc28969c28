import { KubeConfig } from "@kubernetes/client-node";
import { deriveSecret, Recipe } from "../../../derive";
import { POLICY_CONFIGMAP_NAME, POLICY_KEY, ReconcilerPolicy, renderPolicy } from "../../../reconciler/trust/policy";
import { Reconciler, ReconcilerOptions } from "../../../reconciler/app";
import { KubeClient, isKubeError } from "../../../lib/kube";
import { capturingLogger, eventually, kubeClientFrom, randomName, TestKube, testKube } from "../../support";
import { getEnv } from "../fixture";

export const b64 = (s: string) => Buffer.from(s).toString("base64");
export const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8"));

let shared: TestKube | undefined;
export async function admin(): Promise<TestKube> {
    shared ??= testKube(await kubeClientFrom(getEnv().kubeConfig()));
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

/** A source as a person (`kubectl create secret`) or ESO creates it: no label or annotation of ours unless asked. */
export async function createSource(ns: string, name: string, data: Record<string, string>, opts: { type?: string; annotations?: Record<string, string>; labels?: Record<string, string>; client?: KubeClient } = {}): Promise<any> {
    const c = opts.client ?? (await admin());
    const body = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: ns, ...(opts.labels ? { labels: opts.labels } : {}), ...(opts.annotations ? { annotations: opts.annotations } : {}) },
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

/** Writes the administrator's policy ConfigMap the way the stack renders it (ReconcilerDeployment). */
export async function writePolicy(ownNs: string, policy: ReconcilerPolicy, name = POLICY_CONFIGMAP_NAME): Promise<void> {
    const c = await admin();
    const body = { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ownNs }, data: { [POLICY_KEY]: renderPolicy(policy) } };
    try {
        await c.request("POST", `/api/v1/namespaces/${ownNs}/configmaps`, { body });
    } catch (e) {
        if (!isKubeError(e, 409)) throw e;
        await c.request("PUT", `/api/v1/namespaces/${ownNs}/configmaps/${name}`, { body });
    }
}

/**
 * A namespace tenant: a ServiceAccount in `ns` allowed to manage Secrets (and, with `extra`, more) in `ns` only,
 * as a real kubeconfig minted through the TokenRequest API.
 */
export async function tenantClient(ns: string, extra: { apiGroups: string[]; resources: string[]; verbs: string[] }[] = []): Promise<KubeClient> {
    const c = await admin();
    const sa = randomName("tenant");
    await c.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { metadata: { name: sa } } });
    const rules = [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] }, ...extra];
    await c.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, { body: { metadata: { name: sa }, rules } });
    await c.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
        body: { metadata: { name: sa }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: sa }, subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }] },
    });
    const kc = new KubeConfig();
    kc.loadFromFile(await getEnv().mintServiceAccountKubeconfig(ns, sa));
    return kubeClientFrom(kc);
}

export interface Running {
    r: Reconciler;
    lines: string[];
    text: () => string;
    stop: () => Promise<void>;
}

export async function startReconciler(namespaces: string[], opts: Partial<ReconcilerOptions> = {}): Promise<Running> {
    const cap = capturingLogger("reconciler");
    const client = opts.client ?? (await kubeClientFrom(getEnv().kubeConfig()));
    const r = new Reconciler({ client, logger: cap.logger, identity: randomName("rec"), namespaces, debounceMs: 300, workers: 4, deleteGraceMs: 1000, retryMaxMs: 2000, resyncMs: 0, ...opts });
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

/**
 * The reconciler's identity exactly as the stack deploys it cluster-wide (ReconcilerDeployment without
 * secretNamespaces): a ServiceAccount in `ownNs`, ClusterRoles `cluster` + `secrets` bound cluster-wide, Role `own`
 * in `ownNs`. Returns a client with a minted token for it and the cluster objects to delete afterwards.
 */
export async function reconcilerIdentity(ownNs: string): Promise<{ client: KubeClient; cleanup: () => Promise<void> }> {
    const { reconcilerRbacRules } = await import("../../../reconciler/trust/rbac");
    const k = await admin();
    const rules = reconcilerRbacRules();
    const sa = "reconciler";
    const base = randomName("ps-rec");
    const subj = [{ kind: "ServiceAccount", name: sa, namespace: ownNs }];
    const rbac = "/apis/rbac.authorization.k8s.io/v1";
    await k.request("POST", `/api/v1/namespaces/${ownNs}/serviceaccounts`, { body: { metadata: { name: sa } } });
    const cluster: string[] = [];
    for (const [suffix, r] of [["cluster", rules.cluster], ["secrets", rules.secrets]] as const) {
        const name = `${base}-${suffix}`;
        await k.request("POST", `${rbac}/clusterroles`, { body: { metadata: { name }, rules: r } });
        await k.request("POST", `${rbac}/clusterrolebindings`, { body: { metadata: { name }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name }, subjects: subj } });
        cluster.push(`${rbac}/clusterroles/${name}`, `${rbac}/clusterrolebindings/${name}`);
    }
    await k.request("POST", `${rbac}/namespaces/${ownNs}/roles`, { body: { metadata: { name: `${base}-own` }, rules: rules.own } });
    await k.request("POST", `${rbac}/namespaces/${ownNs}/rolebindings`, { body: { metadata: { name: `${base}-own` }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${base}-own` }, subjects: subj } });
    const kc = new KubeConfig();
    kc.loadFromFile(await getEnv().mintServiceAccountKubeconfig(ownNs, sa));
    const client = await kubeClientFrom(kc);
    return {
        client,
        cleanup: async () => {
            client.close();
            for (const p of cluster) await k.request("DELETE", p).catch(() => undefined);
        },
    };
}

/** Events in a namespace, as one string (for canary and reason checks). */
export async function eventsText(ns: string): Promise<string> {
    return JSON.stringify((await (await admin()).request("GET", `/api/v1/namespaces/${ns}/events`)).items);
}

/** Whether `user` can log in to the test PostgreSQL with `password` (the database's own verdict). */
export async function canLogin(user: string, password: string): Promise<boolean> {
    const { Client } = await import("pg");
    const pg = getEnv().postgres;
    const c = new Client({ host: pg.host, port: pg.port, database: pg.database, user, password });
    c.on("error", () => undefined);
    try {
        await c.connect();
        await c.end();
        return true;
    } catch {
        return false;
    }
}

/** Runs `fn` as the test PostgreSQL's superuser (the app's bootstrap, the DBA). */
export async function superuser<T>(fn: (c: import("pg").Client) => Promise<T>): Promise<T> {
    const { Client } = await import("pg");
    const pg = getEnv().postgres;
    const c = new Client({ host: pg.host, port: pg.port, database: pg.database, user: pg.user, password: pg.password });
    await c.connect();
    try {
        return await fn(c);
    } finally {
        await c.end();
    }
}
