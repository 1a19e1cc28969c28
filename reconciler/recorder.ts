import { Logger } from "../lib/log";
import { KubeClient } from "./kube";

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

export class Recorder {
    private tokens = EVENT_BURST;
    private refilledAt = Date.now();
    /** Events not sent because of the rate limit. */
    dropped = 0;

    constructor(
        private readonly client: KubeClient,
        private readonly logger: Logger,
        private readonly identity: string,
        private readonly eventsEnabled = true,
    ) {}

    audit(action: AuditAction, object: string, reason: string, extra: { fingerprint?: string; [k: string]: string | number | boolean | undefined } = {}): void {
        this.logger.info({ audit: true, action, object, reason, ...extra }, `audit ${action} ${object}: ${reason}`);
    }

    /** Fire-and-forget core/v1 Event; a failure is logged, never thrown (events are best effort). */
    event(obj: InvolvedObject, type: "Normal" | "Warning", reason: string, message: string): void {
        if (!this.eventsEnabled) return;
        // Events are best effort and must not flood the apiserver (a first start over 10k secrets, a tenant
        // creating many refused objects): a token bucket; what it drops is counted and logged at debug.
        const t = Date.now();
        this.tokens = Math.min(EVENT_BURST, this.tokens + ((t - this.refilledAt) / 1000) * EVENT_RATE);
        this.refilledAt = t;
        if (this.tokens < 1) {
            this.dropped++;
            this.logger.debug({ object: `${obj.namespace}/${obj.name}`, reason, dropped: this.dropped }, "event dropped by the rate limit");
            return;
        }
        this.tokens -= 1;
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

export function secretRef(s: { metadata: { namespace?: string; name?: string; uid?: string; resourceVersion?: string } }): InvolvedObject {
    return { apiVersion: "v1", kind: "Secret", namespace: s.metadata.namespace ?? "", name: s.metadata.name ?? "", uid: s.metadata.uid, resourceVersion: s.metadata.resourceVersion };
}
