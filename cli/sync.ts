import { isDerived } from "../derive";
import { KubeClient } from "../lib/kube";
import { ANNOTATION_FAN_OUT_STATUS, ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE, ANNOTATION_SYNC_HANDLED, ANNOTATION_SYNC_REQUESTED } from "../reconciler/api";
import { AccessError, getSlimSecret, isForbidden, SlimSecret } from "./kube";
import { parseFanOutStatus } from "./model";

/**
 * `sync NS/NAME`: sets `platform-secrets.io/sync-requested-at` to a new value with the USER's credentials (a merge
 * patch: the user needs `patch` on secrets there) and waits until the reconciler echoes it in `sync-handled-at`
 * (on a source: after every dependant was rewritten).
 */

export interface SyncResult {
    object: string;
    role: "derived" | "source";
    handled: boolean;
    requestedAt: string;
    /** Derived: its status after the sync. Source: whether every fan-out target is in sync. */
    state: string;
    message: string;
    waitedMs: number;
}

export class NotPermittedError extends AccessError {
    constructor(message: string) {
        super(message);
        this.name = "NotPermittedError";
    }
}

export interface SyncOptions {
    timeoutMs: number;
    pollMs?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    /** Called on every poll with the elapsed time (progress output). */
    onWait?: (elapsedMs: number) => void;
}

/** A value that differs from the current request (timestamps can collide within one millisecond). */
export function nextRequestValue(current: string | undefined, now: Date): string {
    const v = now.toISOString();
    return v === current ? `${v}#${Math.random().toString(36).slice(2, 8)}` : v;
}

/** The outcome shown for a secret after (or while waiting for) a sync (pure). */
export function syncOutcome(s: SlimSecret): { role: SyncResult["role"]; state: string; message: string } {
    if (isDerived({ metadata: s })) return { role: "derived", state: s.annotations[ANNOTATION_STATUS] ?? "unknown", message: s.annotations[ANNOTATION_STATUS_MESSAGE] ?? "no status reported yet" };
    const fan = parseFanOutStatus(s.annotations[ANNOTATION_FAN_OUT_STATUS]);
    if (!fan) return { role: "source", state: "in-sync", message: "every derived secret naming it was rewritten" };
    const notOk = Object.entries(fan.counts).filter(([k, n]) => k !== "in-sync" && n > 0);
    return {
        role: "source",
        state: notOk.length ? "not-in-sync" : "in-sync",
        message: `fan-out: ${Object.entries(fan.counts).map(([k, n]) => `${n} ${k}`).join(", ")}${notOk.length ? `; first: ${fan.targets.filter((t) => t.state !== "in-sync").slice(0, 3).map((t) => `${t.target} ${t.state}${t.reason ? ` (${t.reason})` : ""}`).join("; ")}` : ""}`,
    };
}

export async function requestSync(client: KubeClient, namespace: string, name: string, o: SyncOptions): Promise<SyncResult> {
    const now = o.now ?? Date.now;
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const object = `${namespace}/${name}`;
    let before: SlimSecret | undefined;
    try {
        before = await getSlimSecret(client, namespace, name);
    } catch (e) {
        if (isForbidden(e)) throw new NotPermittedError(`not permitted: your credentials may not read secret ${object} (RBAC: get on secrets in namespace ${namespace})`);
        throw e;
    }
    if (!before) throw new AccessError(`secret ${object} not found`);
    const value = nextRequestValue(before.annotations[ANNOTATION_SYNC_REQUESTED], new Date(now()));
    try {
        await client.request("PATCH", `/api/v1/namespaces/${namespace}/secrets/${name}`, {
            body: { metadata: { annotations: { [ANNOTATION_SYNC_REQUESTED]: value } } },
            contentType: "application/merge-patch+json",
            object,
        });
    } catch (e) {
        if (isForbidden(e)) {
            throw new NotPermittedError(`not permitted: your credentials may not patch secret ${object}. A sync request is an annotation on the secret, so it needs RBAC "patch" on secrets in namespace ${namespace}; ask someone who has it, or the namespace's owner`);
        }
        throw e;
    }
    const start = now();
    for (;;) {
        await sleep(o.pollMs ?? 250);
        const elapsed = now() - start;
        const s = await getSlimSecret(client, namespace, name).catch((e) => {
            if (isForbidden(e)) throw e;
            return undefined; // transient: keep waiting
        });
        if (s && s.annotations[ANNOTATION_SYNC_HANDLED] === value) return { object, handled: true, requestedAt: value, waitedMs: elapsed, ...syncOutcome(s) };
        if (elapsed >= o.timeoutMs) {
            const cur = s ?? before;
            const out = syncOutcome(cur);
            const hint = out.role === "derived" && out.state !== "in-sync"
                ? `; it is ${out.state}, which a sync cannot fix (the reconciler acknowledges a sync only when it writes): ${out.message}`
                : "; is the reconciler running and watching this namespace?";
            return { object, handled: false, requestedAt: value, waitedMs: elapsed, ...out, message: `not acknowledged within ${Math.round(o.timeoutMs / 1000)} s${hint}` };
        }
        o.onWait?.(elapsed);
    }
}

/** Exit code of `sync`: 0 acknowledged and in sync, 1 otherwise (timeout or not in sync afterwards). */
export function syncExitCode(r: SyncResult): number {
    return r.handled && r.state === "in-sync" ? 0 : 1;
}
