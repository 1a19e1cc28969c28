import { Logger } from "../../lib/log";
import { KubeClient } from "../../lib/kube";

export interface InvolvedObject {
    apiVersion: string;
    kind: string;
    namespace: string;
    name: string;
    uid?: string;
    resourceVersion?: string;
}

export type AuditAction = "write" | "create" | "delete" | "restart" | "hook" | "status";

/**
 * Audit lines and Kubernetes Events. An audit line names the object, the action, the reason and a keyed fingerprint —
 * callers never pass values, and the logger's redaction paths are the second line of defence.
 */
/** Events per second the recorder sends at most, and its burst. */
export const EVENT_RATE = 20;
export const EVENT_BURST = 200;
/**
 * Each namespace's share of that budget (issue 21): a tenant whose objects are refused by the thousand spends its own
 * 2/s (burst 20) and at most that much of the global budget, so other namespaces' Refused/HookFailed Events still go out.
 */
export const NAMESPACE_EVENT_RATE = 2;
export const NAMESPACE_EVENT_BURST = 20;
/** Namespace buckets kept at most; full (idle) ones are dropped first, so the map is bounded whatever tenants do. */
const MAX_NAMESPACE_BUCKETS = 2048;

/** A token bucket refilled from wall time (best-effort Events need no injected clock). */
class Bucket {
    private tokens: number;
    private at: number;
    constructor(
        private readonly rate: number,
        private readonly burst: number,
        now: number,
    ) {
        this.tokens = burst;
        this.at = now;
    }
    level(now: number): number {
        this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate);
        this.at = now;
        return this.tokens;
    }
    spend(): void {
        this.tokens -= 1;
    }
}

export class Recorder {
    private readonly global = new Bucket(EVENT_RATE, EVENT_BURST, Date.now());
    private readonly perNamespace = new Map<string, Bucket>();
    /** Events not sent because of the rate limit (the global budget or the namespace's share). */
    dropped = 0;

    constructor(
        private readonly client: KubeClient,
        private readonly logger: Logger,
        private readonly identity: string,
        private readonly eventsEnabled = true,
    ) {}

    private namespaceBucket(ns: string, now: number): Bucket {
        let b = this.perNamespace.get(ns);
        if (!b) {
            if (this.perNamespace.size >= MAX_NAMESPACE_BUCKETS) {
                pruneFull(this.perNamespace, now, NAMESPACE_EVENT_BURST);
                // Still full of busy namespaces: start over (every share begins full again, the global budget still holds).
                if (this.perNamespace.size >= MAX_NAMESPACE_BUCKETS) this.perNamespace.clear();
            }
            b = new Bucket(NAMESPACE_EVENT_RATE, NAMESPACE_EVENT_BURST, now);
            this.perNamespace.set(ns, b);
        }
        return b;
    }

    audit(action: AuditAction, object: string, reason: string, extra: { fingerprint?: string; [k: string]: string | number | boolean | undefined } = {}): void {
        this.logger.info({ audit: true, action, object, reason, ...extra }, `audit ${action} ${object}: ${reason}`);
    }

    /** Fire-and-forget core/v1 Event; a failure is logged, never thrown (events are best effort). */
    event(obj: InvolvedObject, type: "Normal" | "Warning", reason: string, message: string): void {
        if (!this.eventsEnabled) return;
        // Events are best effort and must not flood the apiserver (a first start over 10k secrets, a tenant
        // creating many refused objects): a token bucket; what it drops is counted and logged at debug.
        const t = Date.now();
        const share = this.namespaceBucket(obj.namespace, t);
        if (share.level(t) < 1 || this.global.level(t) < 1) {
            this.dropped++;
            this.logger.debug({ object: `${obj.namespace}/${obj.name}`, reason, dropped: this.dropped }, "event dropped by the rate limit");
            return;
        }
        share.spend();
        this.global.spend();
        const now = new Date().toISOString();
        const body = {
            apiVersion: "v1",
            kind: "Event",
            metadata: { generateName: `${obj.name.slice(0, 200)}.`, namespace: obj.namespace },
            involvedObject: obj,
            reason,
            message: message.slice(0, 1024),
            type,
            source: { component: "platform-secrets-reconciler" },
            reportingComponent: "platform-secrets.io/reconciler",
            reportingInstance: this.identity.slice(0, 128),
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
        };
        this.client.request("POST", `/api/v1/namespaces/${obj.namespace}/events`, { body }).catch((e) => {
            this.logger.debug({ object: `${obj.namespace}/${obj.name}`, err: String(e) }, "event not recorded");
        });
    }
}

/** Private to Recorder; outside the class so the class reads as what it records. */
function pruneFull(m: Map<string, Bucket>, now: number, burst: number): void {
    for (const [ns, b] of m) if (b.level(now) >= burst) m.delete(ns);
}

export function secretRef(s: { metadata: { namespace?: string; name?: string; uid?: string; resourceVersion?: string } }): InvolvedObject {
    return { apiVersion: "v1", kind: "Secret", namespace: s.metadata.namespace ?? "", name: s.metadata.name ?? "", uid: s.metadata.uid, resourceVersion: s.metadata.resourceVersion };
}
