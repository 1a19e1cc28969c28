import { canonicalJson, isDnsSubdomain } from "../../derive";
import { Fingerprinter } from "../fingerprint";
import { ANNOTATION_RESTART_ON, ANNOTATION_RESTART_ON_IGNORE } from "../keys";

import type { WorkloadKind } from "../machinery/queue-keys";

interface Container {
    env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[];
    envFrom?: { secretRef?: { name?: string } }[];
}

/** The parts of a pod spec that reference secrets. */
export interface PodSpec {
    containers?: Container[];
    initContainers?: Container[];
    ephemeralContainers?: Container[];
    volumes?: { secret?: { secretName?: string }; projected?: { sources?: { secret?: { name?: string } }[] } }[];
    imagePullSecrets?: { name?: string }[];
}

/** Secret names a pod spec references: env valueFrom, envFrom, volumes (secret and projected), imagePullSecrets. */
export function referencedSecrets(podSpec: PodSpec | undefined): string[] {
    const out = new Set<string>();
    const containers = [...(podSpec?.containers ?? []), ...(podSpec?.initContainers ?? []), ...(podSpec?.ephemeralContainers ?? [])];
    for (const c of containers) {
        for (const e of c?.env ?? []) {
            const n = e?.valueFrom?.secretKeyRef?.name;
            if (n) out.add(n);
        }
        for (const e of c?.envFrom ?? []) {
            const n = e?.secretRef?.name;
            if (n) out.add(n);
        }
    }
    for (const v of podSpec?.volumes ?? []) {
        if (v?.secret?.secretName) out.add(v.secret.secretName);
        for (const s of v?.projected?.sources ?? []) if (s?.secret?.name) out.add(s.secret.name);
    }
    for (const p of podSpec?.imagePullSecrets ?? []) if (p?.name) out.add(p.name);
    return [...out].sort();
}

export type RestartOn = { mode: "off" } | { mode: "auto" } | { mode: "list"; names: string[] };

/** Parses the restart-on annotation. Throws naming the workload when a listed name is not a valid secret name. */
export function parseRestartOn(value: string | undefined, object: string): RestartOn {
    if (value === undefined || value.trim() === "" || value.trim() === "false") return { mode: "off" };
    if (value.trim() === "auto" || value.trim() === "true") return { mode: "auto" };
    const names = [...new Set(value.split(",").map((s) => s.trim()).filter(Boolean))].sort();
    for (const n of names) {
        if (!isDnsSubdomain(n)) {
            throw new Error(`${object}: annotation ${ANNOTATION_RESTART_ON} lists "${n}", which is not a secret name; use "auto" or a comma list of secret names`);
        }
    }
    return { mode: "list", names };
}

/** Parses a workload's restart-on-ignore list (pure). Throws naming the workload when a name is not a secret name. */
export function parseRestartIgnore(value: string | undefined, object: string): string[] {
    const names = [...new Set((value ?? "").split(",").map((s) => s.trim()).filter(Boolean))].sort();
    for (const n of names) {
        if (!isDnsSubdomain(n)) throw new Error(`${object}: annotation ${ANNOTATION_RESTART_ON_IGNORE} lists "${n}", which is not a secret name; write a comma list of secret names`);
    }
    return names;
}

/** The secrets a workload's restarts follow (empty when not opted in). */
export function consumedSecrets(restartOn: RestartOn, podSpec: PodSpec | undefined): string[] {
    switch (restartOn.mode) {
        case "off":
            return [];
        case "auto":
            return referencedSecrets(podSpec);
        case "list":
            return restartOn.names;
        default: {
            const never: never = restartOn;
            throw new Error(`unknown restart-on mode ${JSON.stringify(never)}`);
        }
    }
}

/** Which workload a secrets-hash is written on: part of the HMAC input. */
export interface WorkloadRef {
    kind: WorkloadKind;
    namespace: string;
    name: string;
}

/**
 * The key-id suffix of hashes that bind the workload (issue 21 §3). A hash without it (written by an older version)
 * counts as "another key" for restartDecision: the upgrade records new baselines instead of rolling every workload.
 */
export const SCOPED_HASH_MARK = "w";

/**
 * Combined fingerprint of the consumed secrets' content hashes, by name (order-independent). Keyed (HMAC): it is
 * written on the workload, which the built-in `view` role can read. The namespace and workload are in the input:
 * without them equal content gave an equal value in every namespace, so a tenant with `view` on namespace B could
 * write guesses into its own Secret of the same name, opt a `replicas: 0` Deployment in and compare the hashes.
 */
export function secretsHash(contents: Record<string, string>, fp: Fingerprinter, workload: WorkloadRef): string {
    // The third part tags WHICH secrets the hash covers (issue 22 §2): a change of that set (restart-on,
    // restart-on-ignore, the pod spec) is a new baseline, not a content change, so ignoring a secret restarts nothing.
    const set = fp.of(`set:${Object.keys(contents).sort().join(",")}`).slice(0, 8);
    return `${fp.keyId}${SCOPED_HASH_MARK}.${fp.of(canonicalJson({ workload: `${workload.kind}/${workload.namespace}/${workload.name}`, contents }))}.${set}`;
}

/** key id, content MAC and (since issue 22) set tag of a secrets-hash ("" key for values from before key ids). */
function hashParts(hash: string): { key: string; mac: string; set?: string } {
    const dot = hash.indexOf(".");
    if (dot <= 0) return { key: "", mac: hash };
    const rest = hash.slice(dot + 1);
    const d2 = rest.indexOf(".");
    return d2 < 0 ? { key: hash.slice(0, dot), mac: rest } : { key: hash.slice(0, dot), mac: rest.slice(0, d2), set: rest.slice(d2 + 1) };
}

/**
 * Restart decision (pure). `baseline` is the hash the running pods were started with (pod-template annotation,
 * else the workload's baseline annotation). No baseline → record one without a rollout (opting in must not restart).
 */
export function restartDecision(current: string, templateHash: string | undefined, baselineHash: string | undefined): "none" | "record-baseline" | "restart" {
    // A hash made under another fingerprint key (a lost key, a run without its own namespace) says nothing about
    // the content: it is ignored, so a new key records a new baseline instead of rolling every workload. Nor does
    // a hash over another set of secrets (one written before set tags covers the same set: an upgrade rolls nothing).
    const cur = hashParts(current);
    const comparable = (h: string | undefined) => {
        if (h === undefined) return undefined;
        const p = hashParts(h);
        return p.key === cur.key && (p.set === undefined || p.set === cur.set) ? p : undefined;
    };
    const seen = comparable(templateHash) ?? comparable(baselineHash);
    if (seen === undefined) return "record-baseline";
    return seen.mac === cur.mac ? "none" : "restart";
}

/**
 * Per-workload trailing debounce with an upper bound: each change pushes the due time out by `windowMs`, so a burst
 * yields one rollout, but never past `maxDelayMs` after the burst's first change: a source that changes every second
 * forever still rolls its consumers (with the value current then) at least every `maxDelayMs`.
 */
export class Debouncer {
    private readonly due = new Map<string, number>();
    private readonly firstAt = new Map<string, number>();
    readonly maxDelayMs: number;
    constructor(
        readonly windowMs: number,
        maxDelayMs?: number,
    ) {
        if (!(windowMs >= 0)) throw new Error(`debounce window must be >= 0 ms (got ${windowMs})`);
        this.maxDelayMs = maxDelayMs ?? Math.max(10 * windowMs, 10_000);
        if (!(this.maxDelayMs >= windowMs)) throw new Error(`restart max delay (${this.maxDelayMs} ms) must be >= the debounce window (${windowMs} ms)`);
    }
    touch(key: string, now: number): number {
        const first = this.firstAt.get(key) ?? now;
        this.firstAt.set(key, first);
        const at = Math.min(now + this.windowMs, first + this.maxDelayMs);
        this.due.set(key, at);
        return at;
    }
    /** Milliseconds until `key` may act (0 when due or never touched). */
    remaining(key: string, now: number): number {
        const at = this.due.get(key);
        return at === undefined ? 0 : Math.max(0, at - now);
    }
    clear(key: string): void {
        this.due.delete(key);
        this.firstAt.delete(key);
    }
    get size(): number {
        return this.due.size;
    }
}

/** The longest restart-min-interval accepted (a deferred key waits at most this long). */
export const MAX_MIN_INTERVAL_MS = 24 * 3_600_000;

/**
 * How long a restart must still wait for the workload's minimum interval (0: now). A restarted-at in the future is
 * not ours (a clock far off, or written by hand) and is ignored, so no one can park a workload's restarts forever
 * by writing a date, and the wait never exceeds the interval.
 */
export function minIntervalWait(minIntervalMs: number | undefined, restartedAt: number | undefined, now: number): number {
    if (minIntervalMs === undefined || restartedAt === undefined || restartedAt > now + 60_000) return 0;
    return Math.min(minIntervalMs, Math.max(0, restartedAt + minIntervalMs - now));
}

/** A restart-min-interval value ("500ms", "30s", "5m", "1h") in ms; throws naming the workload and the fix. */
export function parseMinInterval(value: string | undefined, object: string): number | undefined {
    if (value === undefined || value.trim() === "") return undefined;
    const m = /^(\d+)(ms|s|m|h)$/.exec(value.trim());
    if (!m) throw new Error(`${object}: annotation platform-secrets.io/restart-min-interval "${value}" is not a duration; write e.g. "30s", "5m" or "1h"`);
    const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
    if (ms > MAX_MIN_INTERVAL_MS) throw new Error(`${object}: annotation platform-secrets.io/restart-min-interval "${value}" is longer than 24h; write at most "24h"`);
    return ms;
}
