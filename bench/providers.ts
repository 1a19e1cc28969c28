/**
 * Per-call latency of the DerivedSecret / MirroredSecret provider methods against a local apiserver.
 *   npx ts-node --transpile-only bench/providers.ts [iterations]
 * Uses $KUBECONFIG when set, otherwise starts the test environment (test/env) and stops it afterwards.
 * Prints one line per method: n, mean, p50, p95, max (ms).
 */
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { DerivedSecretInputs, derivedSecretProvider as p, mirroredSecretProvider as m } from "../providers";
import { randomName } from "../test/support";
import { DynamicProviderHost, serializeProvider } from "../test/integration/providers/engine-host";

const N = Number(process.argv[2] ?? 50);

function stats(name: string, ms: number[]): string {
    const s = [...ms].sort((a, b) => a - b);
    const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    return `${name.padEnd(22)} n=${String(s.length).padStart(4)}  mean=${mean.toFixed(2)}  p50=${q(0.5).toFixed(2)}  p95=${q(0.95).toFixed(2)}  max=${s[s.length - 1].toFixed(2)} ms`;
}

async function timed<T>(bucket: number[], f: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const r = await f();
    bucket.push(performance.now() - t0);
    return r;
}

async function main(): Promise<void> {
    let stop: (() => Promise<void>) | undefined;
    let kubeconfigPath = process.env.KUBECONFIG;
    if (!kubeconfigPath) {
        const { startTestEnv } = await import("../test/env");
        const env = await startTestEnv();
        stop = () => env.stop();
        kubeconfigPath = env.kubeconfigPath;
    }
    const kubeconfig = readFileSync(kubeconfigPath, "utf8");
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const ns = randomName("bench");
    const mirrorNs = Array.from({ length: 5 }, (_, i) => `${ns}-m${i}`);
    try {
        for (const n of [ns, ...mirrorNs]) await core.createNamespace({ body: { metadata: { name: n, labels: { "platform-secrets.io/bench": ns } } } });
        await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "src" }, type: "kubernetes.io/basic-auth", data: { username: "Ym90", password: "cHc=" } } });
        const t = { create: [] as number[], read: [] as number[], readDrift: [] as number[], update: [] as number[], delete: [] as number[], mirrorCreate: [] as number[], mirrorRead: [] as number[] };
        for (let i = 0; i < N; i++) {
            const inputs: DerivedSecretInputs = { format: "tekton-git", source: { namespace: ns, name: "src" }, target: { namespace: ns, name: `out-${i}` }, options: { gitUrls: ["https://github.com/o/r"] }, kubeconfig };
            const { id, outs } = await timed(t.create, () => p.create(inputs));
            await timed(t.read, () => p.read!(id, outs));
            await core.patchNamespacedSecret({ namespace: ns, name: `out-${i}`, body: [{ op: "replace", path: "/data/password", value: "ZWRpdGVk" }] });
            const r = await timed(t.readDrift, () => p.read!(id, outs));
            await timed(t.update, () => p.update!(id, r.props!, inputs));
            await timed(t.delete, () => p.delete!(id, outs!));
        }
        for (let i = 0; i < Math.max(5, Math.floor(N / 5)); i++) {
            const mi = { source: { namespace: ns, name: "src" }, targetName: `copy-${i}`, namespaceSelector: `platform-secrets.io/bench=${ns}`, kubeconfig };
            const { id, outs } = await timed(t.mirrorCreate, () => m.create(mi));
            await timed(t.mirrorRead, () => m.read!(id, outs));
            await m.delete!(id, outs!);
        }
        // The same calls through the real dynamic-provider host over gRPC (what `pulumi up` pays per resource).
        const host = await DynamicProviderHost.start();
        const engine = { engineCreate: [] as number[], engineRead: [] as number[] };
        try {
            const text = (await serializeProvider(p)).text;
            const urn = "urn:pulumi:bench::p::pulumi-nodejs:dynamic/platform-secrets:DerivedSecret::b";
            for (let i = 0; i < Math.max(5, Math.floor(N / 2)); i++) {
                const props = { __provider: text, format: "tekton-git", source: { namespace: ns, name: "src" }, target: { namespace: ns, name: `eng-${i}` }, options: { gitUrls: ["https://github.com/o/r"] }, kubeconfig, adopt: false };
                const created = await timed(engine.engineCreate, () => host.create(urn, props));
                await timed(engine.engineRead, () => host.read(urn, created.id, created.props));
                await host.delete(urn, created.id, created.props);
            }
        } finally {
            await host.stop();
        }
        Object.assign(t, engine);
        process.stdout.write(`DerivedSecret (tekton-git) against ${kc.getCurrentCluster()?.server}, ${N} iterations\n`);
        for (const [k, v] of Object.entries(t)) process.stdout.write(`${stats(k, v)}\n`);
        process.stdout.write(`(mirror* = MirroredSecret over a selector matching ${mirrorNs.length + 1} namespaces; engine* = through the dynamic-provider host over gRPC)\n`);
    } finally {
        for (const n of [ns, ...mirrorNs]) await core.deleteNamespace({ name: n }).catch(() => undefined);
        await stop?.();
    }
}

main().catch((e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
