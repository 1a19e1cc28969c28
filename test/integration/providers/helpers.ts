import { CoreV1Api } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { randomName } from "../../support";
import { getEnv } from "../fixture";

export const b64 = (s: string): string => Buffer.from(s).toString("base64");
export const unb64 = (s: string): string => Buffer.from(s, "base64").toString("utf8");

/** Namespaces for one suite, labelled so leftovers are identifiable; removed in `cleanup`. */
export class Cluster {
    private readonly namespaces: string[] = [];
    private api?: CoreV1Api;
    private text?: string;

    /** Lazy: suites build a Cluster at load time, before the global fixture has started the servers. */
    get core(): CoreV1Api {
        this.api ??= getEnv().kubeConfig().makeApiClient(CoreV1Api);
        return this.api;
    }

    /** The admin kubeconfig's YAML content, as the providers' `kubeconfig` input takes it. */
    get kubeconfig(): string {
        this.text ??= readFileSync(getEnv().kubeconfigPath, "utf8");
        return this.text;
    }

    async namespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
        const name = randomName(prefix);
        await this.core.createNamespace({ body: { metadata: { name, labels: { "platform-secrets.io/test": "providers", ...labels } } } });
        this.namespaces.push(name);
        return name;
    }

    async secret(namespace: string, name: string, type: string, text: Record<string, string>, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Promise<void> {
        const data: Record<string, string> = {};
        for (const [k, v] of Object.entries(text)) data[k] = b64(v);
        await this.core.createNamespacedSecret({ namespace, body: { metadata: { name, ...meta }, type, data } });
    }

    async setText(namespace: string, name: string, key: string, value: string): Promise<void> {
        const s = await this.core.readNamespacedSecret({ namespace, name });
        s.data = { ...(s.data ?? {}), [key]: b64(value) };
        await this.core.replaceNamespacedSecret({ namespace, name, body: s });
    }

    async get(namespace: string, name: string) {
        try {
            return await this.core.readNamespacedSecret({ namespace, name });
        } catch (e) {
            if ((e as { code?: number }).code === 404) return undefined;
            throw e;
        }
    }

    async cleanup(): Promise<void> {
        for (const ns of this.namespaces.splice(0)) await this.core.deleteNamespace({ name: ns }).catch(() => undefined);
    }
}

/** Runs `p` and returns the error it throws; fails when it does not throw. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
    try {
        await p;
    } catch (e) {
        return e as Error;
    }
    throw new Error("expected the call to fail, but it succeeded");
}
