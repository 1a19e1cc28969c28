/**
 * The measured phases. Every trigger is one PUT of a Secret (GET before it, outside the timing); every latency is
 * PUT sent → the bench's own watch sees the expected state. Rotations run one at a time (latency, not throughput).
 */
import { KubeClient } from "../lib/kube";
import { appName, consumedBy, dstName, putPassword, Sizes, srcName, unrelatedName } from "./cluster";
import { log, sleep } from "./lib";
import { CountingProxy, requestTotal } from "./proxy";
import { Watcher } from "./observe";

export interface Ctx {
    client: KubeClient;
    ns: string;
    sizes: Sizes;
    /** Observer of derived secrets (selector platform-secrets.io/derived=true). */
    derived: Watcher;
    /** Observer of the bench's Deployments, keeping each one's latest pod template. */
    apps: Watcher;
    timeoutMs: number;
}

let seq = 0;
const fresh = (what: string) => `${what}-${++seq}-${Date.now()}`;

/** Source rotation → derived secret rewritten with the new password. Sources spread evenly over all N. */
export async function rotationSample(c: Ctx, sample: number): Promise<number[]> {
    const out: number[] = [];
    for (let j = 0; j < sample; j++) {
        const i = Math.floor((j * c.sizes.sources) / sample);
        const v = fresh("rot");
        const seen = c.derived.waitPassword(`${c.ns}/${dstName(i)}`, v, c.timeoutMs);
        const t = await putPassword(c.client, c.ns, srcName(i), v);
        const at = await seen;
        out.push(at < 0 ? -1 : at - t);
    }
    return out;
}

/** The floor: a raw PUT of a watched secret → its watch event (no reconciler in between). */
export async function floorSample(c: Ctx, sample: number): Promise<number[]> {
    const label = "bench.platform-secrets.io/floor";
    await c.client.request("POST", `/api/v1/namespaces/${c.ns}/secrets`, { body: { metadata: { name: "bench-floor", labels: { [label]: "true" } }, type: "Opaque", data: { password: "Zg==" } } });
    const w = await Watcher.start(c.client, `/api/v1/namespaces/${c.ns}/secrets`, `${label}=true`);
    const out: number[] = [];
    try {
        for (let j = 0; j < sample; j++) {
            const v = fresh("floor");
            const seen = w.waitPassword(`${c.ns}/bench-floor`, v, c.timeoutMs);
            const t = await putPassword(c.client, c.ns, "bench-floor", v);
            const at = await seen;
            out.push(at < 0 ? -1 : at - t);
        }
    } finally {
        w.stop();
    }
    return out;
}

/** Deployments consuming an unrelated (ESO-style) secret `u-d`, and those consuming a derived `dst-d`. */
export function consumers(s: Sizes): { direct: number[]; viaDerived: number[] } {
    const direct: number[] = [];
    const viaDerived: number[] = [];
    for (let d = 0; d < s.deployments; d++) {
        const n = consumedBy(d, s);
        if (n === unrelatedName(d)) direct.push(d);
        else if (n === dstName(d)) viaDerived.push(d);
    }
    return { direct, viaDerived };
}

/**
 * Secret change → consumer Deployment's pod-template annotation changed. `viaDerived`: the change is a rotation
 * of the source of the derived secret the Deployment reads (two hops). Deployments are cycled round-robin.
 */
export async function restartSample(c: Ctx, sample: number, viaDerived: boolean): Promise<number[]> {
    const pool = viaDerived ? consumers(c.sizes).viaDerived : consumers(c.sizes).direct;
    if (pool.length === 0) return [];
    const out: number[] = [];
    for (let j = 0; j < sample; j++) {
        const d = pool[Math.floor((j * pool.length) / Math.min(sample, pool.length)) % pool.length];
        const seen = c.apps.waitTemplateChange(`${c.ns}/${appName(d)}`, c.timeoutMs);
        const t = await putPassword(c.client, c.ns, viaDerived ? srcName(d) : unrelatedName(d), fresh("chg"));
        const at = await seen;
        out.push(at < 0 ? -1 : at - t);
    }
    return out;
}

export interface RequestCount {
    perRotation: number[];
    breakdown: Map<string, number>;
}

/**
 * Apiserver requests the reconciler makes per source rotation, counted by the proxy it talks through: reset,
 * rotate, wait for the derived secret, wait `trailMs` for anything that follows (status, events, echoes), read.
 * `consumed`: rotate sources whose derived secret a Deployment reads (else ones nothing reads).
 */
export async function countRequests(c: Ctx, proxy: CountingProxy, rotations: number, consumed: boolean, trailMs: number): Promise<RequestCount> {
    const readers = new Set<string>();
    for (let d = 0; d < c.sizes.deployments; d++) readers.add(consumedBy(d, c.sizes) ?? "");
    const picks: number[] = [];
    for (let i = c.sizes.sources - 1; i >= 0 && picks.length < rotations; i--) if (readers.has(dstName(i)) === consumed) picks.push(i);
    const perRotation: number[] = [];
    const breakdown = new Map<string, number>();
    for (const i of picks) {
        const v = fresh("cnt");
        const seen = c.derived.waitPassword(`${c.ns}/${dstName(i)}`, v, c.timeoutMs);
        const restarted = consumed ? c.apps.waitTemplateChange(`${c.ns}/${appName(i)}`, c.timeoutMs) : Promise.resolve(0);
        proxy.reset();
        await putPassword(c.client, c.ns, srcName(i), v);
        if ((await seen) < 0) log(`  rotation of ${srcName(i)}: derived not rewritten within ${c.timeoutMs} ms`);
        await restarted;
        await sleep(trailMs);
        const counts = proxy.counts();
        perRotation.push(requestTotal(counts));
        for (const [k, n] of counts) breakdown.set(k, (breakdown.get(k) ?? 0) + n);
    }
    return { perRotation, breakdown };
}
