import { main } from "../../../cli/main";
import type { CliIO } from "../../../cli/io";
import { randomName } from "../../support";
import { getEnv } from "../fixture";
import { admin } from "../reconciler/helpers";

export type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

/** Secrets read-only, or read + patch (what `sync` needs). */
export const SECRETS_READ: Rule = { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] };
export const SECRETS_PATCH: Rule = { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "patch"] };
export const WORKLOADS_READ: Rule = { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "list"] };
export const EVENTS_READ: Rule = { apiGroups: [""], resources: ["events"], verbs: ["get", "list"] };

/**
 * A person with rights in ONE namespace only (a real ServiceAccount, a Role and RoleBinding there, a token minted
 * through TokenRequest): the kubeconfig file the CLI gets, whose context namespace is `ns`.
 */
export async function namespaceUserKubeconfig(ns: string, rules: Rule[]): Promise<string> {
    const c = await admin();
    const sa = randomName("user");
    await c.request("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, { body: { metadata: { name: sa } } });
    await c.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, { body: { metadata: { name: sa }, rules } });
    await c.request("POST", `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
        body: { metadata: { name: sa }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: sa }, subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }] },
    });
    return getEnv().mintServiceAccountKubeconfig(ns, sa);
}

export interface Run {
    code: number;
    out: string;
    err: string;
}

/** Runs the CLI in-process as a user would (`platform-secrets ARGS --kubeconfig FILE`), no colours (not a TTY). */
export async function cli(kubeconfig: string, ...args: string[]): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIO = {
        stdout: (t) => void out.push(t),
        stderr: (t) => void err.push(t),
        stdoutTTY: false,
        stderrTTY: false,
        env: {},
        readFile: () => {
            throw new Error("no files in this test");
        },
        interrupted: () => Promise.resolve(),
    };
    const code = await main([...args, "--kubeconfig", kubeconfig], io);
    return { code, out: out.join(""), err: err.join("") };
}

export const adminKubeconfig = (): string => getEnv().kubeconfigPath;

/** A Deployment that restarts when `secret` changes (restart-on: auto, envFrom). No pods run: only the object matters. */
export async function createConsumer(ns: string, name: string, secret: string): Promise<void> {
    const c = await admin();
    await c.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, {
        body: {
            metadata: { name, annotations: { "platform-secrets.io/restart-on": "auto" } },
            spec: {
                replicas: 0,
                selector: { matchLabels: { app: name } },
                template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: "registry.invalid/app:1", envFrom: [{ secretRef: { name: secret } }] }] } },
            },
        },
    });
}

/** Asserts none of `canaries` (nor their base64) appears in `text`. */
export function assertNoCanary(text: string, canaries: string[], where: string): void {
    for (const c of canaries) {
        if (text.includes(c) || text.includes(Buffer.from(c).toString("base64"))) throw new Error(`a canary value appeared in ${where}`);
    }
}
