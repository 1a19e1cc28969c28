import { isDerived } from "../../derive";
import { ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE, ANNOTATION_STATUS_TIME, SYNC_STATUSES, SyncStatus } from "../keys";
import type { SecretMeta } from "../model";

/** The status bucket of a cached secret: its status annotation, "unknown" when absent or not one of ours; undefined when not derived. */
export function statusBucket(s: SecretMeta): string | undefined {
    if (!isDerived(s)) return undefined;
    const st = s.metadata.annotations?.[ANNOTATION_STATUS];
    return st !== undefined && (SYNC_STATUSES as readonly string[]).includes(st) ? st : "unknown";
}

/**
 * Derived secrets by status (the platform_secrets_derived_secrets gauge), kept current from the informer's changes
 * (a relist emits its differences as changes too), so a scrape does not walk every cached secret.
 */
export class StatusTally {
    private readonly tally = new Map<string, number>([...SYNC_STATUSES, "unknown"].map((s) => [s, 0]));

    change(old: SecretMeta | undefined, now: SecretMeta | undefined): void {
        const was = old && statusBucket(old);
        const is = now && statusBucket(now);
        if (was === is) return;
        if (was) this.tally.set(was, this.tally.get(was)! - 1);
        if (is) this.tally.set(is, this.tally.get(is)! + 1);
    }

    counts(): Record<string, number> {
        return Object.fromEntries(this.tally);
    }
}

/** Event reason and type for a status (Warning for anything a person must act on). */
export function statusEvent(s: SyncStatus): { reason: string; type: "Normal" | "Warning" } {
    switch (s) {
        case "in-sync":
            return { reason: "InSync", type: "Normal" };
        case "stale":
            return { reason: "Stale", type: "Warning" };
        case "source-missing":
            return { reason: "SourceMissing", type: "Warning" };
        case "refused":
            return { reason: "Refused", type: "Warning" };
        case "error":
            return { reason: "DerivationFailed", type: "Warning" };
        default: {
            const never: never = s;
            throw new Error(`unknown status ${String(never)}`);
        }
    }
}

export interface StatusReport {
    status: SyncStatus;
    message: string;
}

/** The status annotations to write, or undefined when the live ones already say the same (time is ignored, so no write loops). */
export function statusPatch(liveAnnotations: Record<string, string> | undefined, next: StatusReport, now: Date): Record<string, string> | undefined {
    const a = liveAnnotations ?? {};
    const message = next.message.slice(0, 1024);
    if (a[ANNOTATION_STATUS] === next.status && a[ANNOTATION_STATUS_MESSAGE] === message) return undefined;
    return { [ANNOTATION_STATUS]: next.status, [ANNOTATION_STATUS_MESSAGE]: message, [ANNOTATION_STATUS_TIME]: now.toISOString() };
}

/** Status annotations for a write that just brought the secret in sync. */
export function inSyncAnnotations(message: string, now: Date): Record<string, string> {
    return { [ANNOTATION_STATUS]: "in-sync", [ANNOTATION_STATUS_MESSAGE]: message, [ANNOTATION_STATUS_TIME]: now.toISOString() };
}

/** Replaces every occurrence of the given values in `text`: error texts from drivers may echo input. */
export function scrub(text: string, values: readonly (string | undefined)[]): string {
    let out = text;
    for (const v of values) {
        if (!v) continue;
        // A value of 1-3 characters cannot be cut out without mangling every word that contains it, and letting it
        // through would leak it: withhold the whole text instead (it still says where to look).
        if (v.length < 4) {
            if (out.includes(v)) return "[message withheld: it may contain a secret value; see the reconciler's audit log for the object and the step]";
            continue;
        }
        out = out.split(v).join("[redacted]");
    }
    return out;
}

/** One fan-out target's state, as recorded on the source. */
export interface TargetStatus {
    state: "in-sync" | "pending" | "refused" | "error";
    reason?: string;
}

export const FAN_OUT_STATUS_LIMIT = 50;

/**
 * The fan-out status document (pure): counts of every state, the targets listed not-in-sync first then by key,
 * at most FAN_OUT_STATUS_LIMIT of them (`truncated` counts the rest). Reasons name objects, never values.
 */
export function renderFanOutStatus(targets: ReadonlyMap<string, TargetStatus>): string {
    const counts: Record<TargetStatus["state"], number> = { "in-sync": 0, pending: 0, refused: 0, error: 0 };
    for (const t of targets.values()) counts[t.state]++;
    const rank = (s: TargetStatus["state"]) => (s === "in-sync" ? 1 : 0);
    const list = [...targets.entries()].sort(([ka, a], [kb, b]) => rank(a.state) - rank(b.state) || (ka < kb ? -1 : ka > kb ? 1 : 0));
    const shown = list.slice(0, FAN_OUT_STATUS_LIMIT).map(([k, t]) => ({ target: k, state: t.state, ...(t.reason ? { reason: t.reason.slice(0, 300) } : {}) }));
    return JSON.stringify({ counts, targets: shown, truncated: Math.max(0, list.length - FAN_OUT_STATUS_LIMIT) });
}
