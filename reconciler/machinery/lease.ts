/** The parts of a coordination.k8s.io/v1 Lease spec leader election reads. */
export interface LeaseRecord {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    renewTime?: string;
    acquireTime?: string;
    leaseTransitions?: number;
}

export type LeaseAction = "create" | "renew" | "acquire" | "wait";

/**
 * Leader-election decision (pure). Expiry is judged on OUR clock from when we last saw the record change
 * (client-go's approach), so clock skew between replicas cannot make a live leader look expired.
 */
export function leaseDecision(lease: LeaseRecord | undefined, identity: string, now: number, observedChangeAt: number, durationMs: number): LeaseAction {
    if (!lease) return "create";
    if (lease.holderIdentity === identity) return "renew";
    if (!lease.holderIdentity) return "acquire";
    return now >= observedChangeAt + durationMs ? "acquire" : "wait";
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
    return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The spec to write for an action (pure). */
export function nextLease(prev: LeaseRecord | undefined, action: Exclude<LeaseAction, "wait">, identity: string, now: number, durationSeconds: number): LeaseRecord {
    const t = microTime(now);
    switch (action) {
        case "create":
            return { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: t, renewTime: t, leaseTransitions: 0 };
        case "renew":
            return { ...prev, holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime: t };
        case "acquire":
            return { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: t, renewTime: t, leaseTransitions: (prev?.leaseTransitions ?? 0) + 1 };
        default: {
            const never: never = action;
            throw new Error(`unknown lease action ${String(never)}`);
        }
    }
}
