import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { ROOT } from "./engine";
import { request } from "./http";
import { copyProject, LOCAL_STACK } from "./local-stack";

/**
 * What a cluster operator has in place before the first `pulumi up` of the `local` stack, done for the sandbox:
 * the namespaces the stack's consumers live in (with the labels of `namespaceLabels`), the Vault paths written by
 * someone else (`externalVaultPaths`: registry, git and GitHub App credentials, throwaway values), and a workspace
 * copy of Pulumi.yaml + Pulumi.local.yaml in which the values that depend on the running servers are set.
 */
export const NS = "platform-secrets";

type Obj = Record<string, any>;

/** Short keys of Pulumi.<stack>.yaml (`platform-secrets:` stripped), values as written. */
export async function readStackConfig(file = path.join(ROOT, `Pulumi.${LOCAL_STACK}.yaml`)): Promise<Obj> {
    const doc = YAML.parse(await fs.readFile(file, "utf8")) as { config: Obj };
    const out: Obj = {};
    for (const [k, v] of Object.entries(doc.config)) if (k.startsWith(`${NS}:`)) out[k.slice(NS.length + 1)] = v;
    return out;
}

/** Namespaces the stack writes into but does not create, with the labels `namespaceLabels` gives them. */
export function stackNamespaces(cfg: Obj): Map<string, Record<string, string>> {
    const own = cfg.reconcilerEnabled ? (cfg.reconcilerNamespace ?? "platform-secrets-system") : undefined;
    const out = new Map<string, Record<string, string>>();
    const add = (ns: unknown): void => {
        if (typeof ns === "string" && ns && ns !== own && !out.has(ns)) out.set(ns, {});
    };
    for (const p of cfg.passwords ?? []) for (const c of p.consumers ?? []) add(c.namespace);
    for (const e of cfg.externalSecrets ?? []) add(e.namespace);
    for (const g of cfg.gitCredentials ?? []) {
        add(g.sourceNamespace);
        for (const k of ["tekton", "argocd", "kargo"]) add(g[k]?.namespace);
    }
    if ((cfg.githubApps ?? []).length) add(cfg.workflowsNamespace ?? "workflows");
    if ((cfg.vaultAuthMethod ?? "kubernetes") === "token") add(cfg.vaultTokenSecretNamespace ?? "external-secrets");
    for (const [ns, labels] of Object.entries((cfg.namespaceLabels ?? {}) as Record<string, Record<string, string>>)) out.set(ns, { ...(out.get(ns) ?? {}), ...labels });
    return out;
}

/** Throwaway values for the Vault paths the stack only reads. */
export function externalVaultData(cfg: Obj): Map<string, Record<string, string>> {
    const fake = (): string => randomBytes(12).toString("hex");
    const out = new Map<string, Record<string, string>>();
    for (const r of cfg.dockerRegistries ?? []) out.set(r.vaultPath, { username: "sandbox-bot", password: fake() });
    for (const g of cfg.gitCredentials ?? []) out.set(g.vaultPath, { username: "sandbox-bot", password: fake() });
    for (const e of cfg.externalSecrets ?? []) out.set(e.vaultPath, Object.fromEntries((e.data ?? []).map((d: Obj) => [d.property, fake()])));
    const prefix = cfg.githubAppsVaultPrefix ?? "github-apps";
    for (const a of cfg.githubApps ?? []) out.set(a.vaultPath ?? `${prefix}/${a.name}`, { appId: "12345", installationId: "67890", privateKey: `sandbox-not-a-key-${fake()}` });
    return out;
}

export async function writeVault(vault: { addr: string; token: string }, mount: string, p: string, data: Record<string, unknown>): Promise<void> {
    const res = await request(`${vault.addr}/v1/${mount}/data/${p}`, { method: "POST", headers: { "x-vault-token": vault.token, "content-type": "application/json" }, body: JSON.stringify({ data }) });
    if (res.status !== 200) throw new Error(`vault write ${mount}/${p}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
}

export async function ensureNamespaces(kc: KubeConfig, namespaces: Map<string, Record<string, string>>): Promise<string[]> {
    const core = kc.makeApiClient(CoreV1Api);
    const created: string[] = [];
    for (const [name, labels] of namespaces) {
        try {
            await core.createNamespace({ body: { metadata: { name, labels } } });
            created.push(name);
        } catch (e) {
            if ((e as { code?: number }).code !== 409) throw e;
        }
    }
    return created;
}

export interface SeedTargets {
    kubeConfig: KubeConfig;
    vault: { addr: string; token: string };
    postgres: { host: string; port: number };
    /**
     * The real node (pod-install.ts): the reconciler runs as the stack deploys it, so the workspace copy names the
     * built image, 2 replicas awaited, Vault over TLS with its CA and Kubernetes auth, and PostgreSQL as Pods reach it.
     */
    pods?: { reconcilerImage: string; vaultUrl: string; vaultCaPem: string; authMount: string; postgres: { host: string; port: number } };
}

/**
 * Seeds the servers and writes the workspace copy to `workDir`: vaultAddress → the running Vault, each postgres
 * hook → the running PostgreSQL. Returns the stack config as written there.
 */
export async function seedLocalStack(t: SeedTargets, workDir: string): Promise<Obj> {
    const cfg = await readStackConfig();
    await ensureNamespaces(t.kubeConfig, stackNamespaces(cfg));
    if ((cfg.vaultAuthMethod ?? "kubernetes") === "token") {
        // ESO's Vault login (tokenSecretRef): the sandbox's dev token, as an operator would store a real one.
        const core = t.kubeConfig.makeApiClient(CoreV1Api);
        const name = cfg.vaultTokenSecretName ?? "vault-token";
        const namespace = cfg.vaultTokenSecretNamespace ?? "external-secrets";
        await core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined);
        await core.createNamespacedSecret({ namespace, body: { metadata: { name, namespace }, stringData: { [cfg.vaultTokenSecretKey ?? "token"]: t.vault.token } } });
    }
    for (const [p, data] of externalVaultData(cfg)) await writeVault(t.vault, cfg.vaultKvMount ?? "secret", p, data);
    await copyProject(workDir);
    const file = path.join(workDir, `Pulumi.${LOCAL_STACK}.yaml`);
    const doc = YAML.parseDocument(await fs.readFile(file, "utf8"));
    doc.setIn(["config", `${NS}:vaultAddress`], t.vault.addr);
    if (t.pods) {
        const set = (k: string, v: unknown) => doc.setIn(["config", `${NS}:${k}`], v);
        set("reconcilerImage", t.pods.reconcilerImage);
        set("reconcilerReplicas", 2);
        set("reconcilerSkipAwait", false);
        set("reconcilerVaultAddress", t.pods.vaultUrl);
        set("reconcilerVaultCaCert", t.pods.vaultCaPem);
        set("reconcilerVaultAuthMethod", "kubernetes");
        set("reconcilerVaultAuthMount", t.pods.authMount);
        doc.deleteIn(["config", `${NS}:reconcilerVaultTokenSecretName`]);
    }
    const pg = t.pods?.postgres ?? t.postgres;
    const passwords = (cfg.passwords ?? []) as Obj[];
    passwords.forEach((p, i) =>
        (p.consumers ?? []).forEach((c: Obj, j: number) =>
            (c.hooks ?? []).forEach((h: Obj, k: number) => {
                if (h.type !== "postgres") return;
                const at = ["config", `${NS}:passwords`, i, "consumers", j, "hooks", k];
                doc.setIn([...at, "host"], pg.host);
                doc.setIn([...at, "port"], pg.port);
            }),
        ),
    );
    await fs.writeFile(file, doc.toString());
    return readStackConfig(file);
}
