import { ReconcileContext } from "../context";
import type { SlimWorkload } from "../model";
import { ANNOTATION_RESTARTED_AT, ANNOTATION_SECRETS_HASH } from "../keys";
import { isKubeError } from "../../lib/kube";
import { hooksFor } from "../trust/policy";
import { getSecret } from "../derived/writes";
import { workloadApi, WorkloadKind, workloadKey } from "../machinery/queue-keys";
import { minIntervalWait, restartDecision, secretsHash } from "./workloads";

const KIND_NAME: Record<WorkloadKind, string> = { deployments: "Deployment", statefulsets: "StatefulSet", daemonsets: "DaemonSet", rollouts: "Rollout" };

/**
 * The restart write (pure). apps/v1 workloads: the secrets hash in the pod template, which makes the controller roll
 * new Pods. An Argo Rollout: `spec.restartAt` (what `kubectl argo rollouts restart` sets: Pods created before it are
 * replaced, honouring the Rollout's own maxUnavailable) and the hash on the object only; a template change would be
 * a new revision that runs the canary/blue-green steps and analysis again for a mere secret change.
 */
export function restartPatch(kind: WorkloadKind, resourceVersion: string | undefined, hash: string, now: number): Record<string, unknown> {
    const at = new Date(now).toISOString();
    const metadata = { resourceVersion, annotations: { [ANNOTATION_SECRETS_HASH]: hash, [ANNOTATION_RESTARTED_AT]: at } };
    // Argo Rollouts replaces Pods created before restartAt, both in whole seconds: rounded UP, so a Pod started in
    // the same second as the change (possibly with the old value) is replaced too (Argo waits out the < 1 s ahead).
    if (kind === "rollouts") return { metadata, spec: { restartAt: new Date(Math.ceil(now / 1000) * 1000).toISOString().replace(".000Z", "Z") } };
    return { metadata, spec: { template: { metadata: { annotations: { [ANNOTATION_SECRETS_HASH]: hash } } } } };
}

/** Whether the administrator-declared init-time hooks behind `secretKey` (its own, or its source's) are done. */
async function hooksSettled(ctx: ReconcileContext, secretKey: string): Promise<boolean> {
    const sourceKey = ctx.index.sourceOf(secretKey) ?? secretKey;
    const hooks = hooksFor(ctx.policy(), sourceKey);
    if (hooks.length === 0) return true;
    const [ns, name] = [sourceKey.slice(0, sourceKey.indexOf("/")), sourceKey.slice(sourceKey.indexOf("/") + 1)];
    const source = await getSecret(ctx, ns, name);
    if (!source) return true;
    return ctx.hooks.applied(source, hooks);
}

/**
 * Whether the cache alone shows nothing to do (start-up, resync: 1,000 opted-in workloads must not cost 1,000 GETs):
 * no debounce pending, no hooks involved, every consumed secret present, and the hash equals what the workload has.
 */
function settledInCache(ctx: ReconcileContext, kind: WorkloadKind, ns: string, name: string): boolean {
    const w = ctx.workloadMeta(kind, `${ns}/${name}`);
    if (!w || w.consumes.length === 0 || ctx.debouncer.remaining(workloadKey(kind, ns, name), ctx.clock.now()) > 0) return false;
    const contents: Record<string, string> = {};
    for (const n of w.consumes) {
        const meta = ctx.secrets.get(`${ns}/${n}`);
        if (meta?.restartIgnored) continue;
        const src = ctx.index.sourceOf(`${ns}/${n}`) ?? `${ns}/${n}`;
        if (!meta || meta.deleting || hooksFor(ctx.policy(), src).length > 0) return false;
        contents[n] = `${meta.type}:${meta.contentHash}`;
    }
    return restartDecision(secretsHash(contents, ctx.fingerprint, { kind, namespace: ns, name }), w.templateHash, w.baselineHash) === "none";
}

/**
 * Rolls a workload when the secrets it follows changed content: a pod-template annotation carrying their hash.
 * Debounced per workload; gated on init-time hooks (a DB password is altered before consumers restart).
 * Decided from the informer's slim copy (what it consumes, its template's and its own hash, its resourceVersion): no
 * GET. The PATCH carries that resourceVersion, so a workload changed since is a 409 and is decided again from the
 * newer copy.
 */
export async function reconcileWorkload(ctx: ReconcileContext, kind: WorkloadKind, ns: string, name: string): Promise<void> {
    const key = workloadKey(kind, ns, name);
    if (settledInCache(ctx, kind, ns, name)) return;
    const path = `${workloadApi(kind)}/namespaces/${ns}/${kind}/${name}`;
    const wl = ctx.workloadMeta(kind, `${ns}/${name}`);
    if (!wl) {
        // Gone (or not listed yet: its add event queues it again).
        ctx.debouncer.clear(key);
        return;
    }
    if (wl.invalid) {
        ctx.logger.warn({ object: key, err: wl.invalid }, "invalid restart annotation (restart-on or restart-min-interval): the workload is not restarted until it is fixed");
        return;
    }
    // A Secret marked restart-on-ignore: "true" rolls nothing (its owner said so), whoever consumes it.
    const names = wl.consumes.filter((n) => !ctx.secrets.get(`${ns}/${n}`)?.restartIgnored);
    if (names.length === 0) return;
    const wait = ctx.debouncer.remaining(key, ctx.clock.now());
    if (wait > 0) {
        ctx.queue.addAfter(key, wait);
        return;
    }
    const contents = await consumedContents(ctx, key, ns, names);
    if (!contents) return;
    const hash = secretsHash(contents, ctx.fingerprint, { kind, namespace: ns, name });
    const decision = restartDecision(hash, wl.templateHash, wl.baselineHash);
    ctx.debouncer.clear(key);
    switch (decision) {
        case "none":
            return;
        case "record-baseline":
            await patchWorkload(ctx, path, key, { metadata: { resourceVersion: wl.metadata.resourceVersion, annotations: { [ANNOTATION_SECRETS_HASH]: hash } } });
            return;
        case "restart":
            return restart(ctx, { kind, ns, name, key, path, wl, hash, names });
        default: {
            const never: never = decision;
            throw new Error(`unknown decision ${String(never)}`);
        }
    }
}

/**
 * `type:contentHash` of each consumed secret, from the informer cache (no GET per secret); undefined defers the
 * decision: a consumed secret is absent (deleted, or not created yet: rolling then would only crash-loop pods on a
 * missing secret), or its init-time hook has not succeeded yet.
 */
async function consumedContents(ctx: ReconcileContext, key: string, ns: string, names: string[]): Promise<Record<string, string> | undefined> {
    const contents: Record<string, string> = {};
    for (const n of names) {
        const meta = ctx.secrets.get(`${ns}/${n}`);
        if (!meta || meta.deleting) {
            ctx.logger.debug({ object: key, secret: `${ns}/${n}` }, "restart decision deferred: a consumed secret is absent");
            ctx.debouncer.clear(key);
            return undefined;
        }
        if (!(await hooksSettled(ctx, `${ns}/${n}`))) {
            ctx.logger.info({ object: key, secret: `${ns}/${n}` }, "restart deferred until the init-time hook succeeds");
            return undefined;
        }
        contents[n] = `${meta.type}:${meta.contentHash}`;
    }
    return contents;
}

/** The rolling restart itself, unless the administrator paused restarts or the workload's minimum interval has not passed. */
async function restart(ctx: ReconcileContext, w: { kind: WorkloadKind; ns: string; name: string; key: string; path: string; wl: SlimWorkload; hash: string; names: string[] }): Promise<void> {
    const { kind, key, wl, hash, names } = w;
    // The administrator's incident pause: nothing rolls; lifting it queues every workload again (controller.ts).
    const paused = ctx.policy().pauseRestarts;
    if (paused) {
        ctx.logger.info({ object: key, reason: paused.reason }, "restart held back: restarts are paused cluster-wide by the administrator policy");
        ctx.metrics.restartsPaused.inc({ kind });
        return;
    }
    // A minimum interval coalesces: the key comes back when it has passed and rolls with the content current
    // then (the last value wins), however many changes came in between.
    const wait = minIntervalWait(wl.minIntervalMs, wl.restartedAt, ctx.clock.now());
    if (wait > 0) {
        ctx.logger.debug({ object: key, waitMs: wait }, "restart deferred by restart-min-interval");
        ctx.queue.addAfter(key, wait);
        return;
    }
    if (!(await patchWorkload(ctx, w.path, key, restartPatch(kind, wl.metadata.resourceVersion, hash, ctx.clock.now())))) return;
    ctx.metrics.restarts.inc({ kind });
    ctx.recorder.audit("restart", key, `consumed secrets changed (${names.join(",")})`, { fingerprint: hash });
    ctx.recorder.event(
        { apiVersion: kind === "rollouts" ? "argoproj.io/v1alpha1" : "apps/v1", kind: KIND_NAME[kind], namespace: w.ns, name: w.name, uid: wl.metadata.uid },
        "Normal",
        "SecretsChanged",
        `rolling restart: secrets ${names.join(",")} changed`,
    );
}

/** One merge patch of a workload; false when it is gone (404: nothing to roll). A 409 throws: the key is retried. */
async function patchWorkload(ctx: ReconcileContext, path: string, key: string, body: Record<string, unknown>): Promise<boolean> {
    try {
        await ctx.client.request("PATCH", path, { body, contentType: "application/merge-patch+json", object: key });
        return true;
    } catch (e) {
        if (!isKubeError(e, 404)) throw e;
        ctx.debouncer.clear(key);
        return false;
    }
}
