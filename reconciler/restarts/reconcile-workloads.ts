import { ReconcileContext } from "../context";
import { ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH } from "../keys";
import { isKubeError } from "../../lib/kube";
import { Workload } from "../model";
import { hooksFor } from "../trust/policy";
import { getSecret } from "../derived/writes";
import { WorkloadKind, workloadKey } from "../machinery/queue-keys";
import { consumedSecrets, parseRestartOn, restartDecision, secretsHash } from "./workloads";

const KIND_NAME: Record<WorkloadKind, string> = { deployments: "Deployment", statefulsets: "StatefulSet", daemonsets: "DaemonSet" };

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
        const src = ctx.index.sourceOf(`${ns}/${n}`) ?? `${ns}/${n}`;
        if (!meta || meta.deleting || hooksFor(ctx.policy(), src).length > 0) return false;
        contents[n] = `${meta.type}:${meta.contentHash}`;
    }
    return restartDecision(secretsHash(contents, ctx.fingerprint, { kind, namespace: ns, name }), w.templateHash, w.baselineHash) === "none";
}

/**
 * Rolls a workload when the secrets it follows changed content: a pod-template annotation carrying their hash.
 * Debounced per workload; gated on init-time hooks (a DB password is altered before consumers restart).
 */
export async function reconcileWorkload(ctx: ReconcileContext, kind: WorkloadKind, ns: string, name: string): Promise<void> {
    const key = workloadKey(kind, ns, name);
    if (settledInCache(ctx, kind, ns, name)) return;
    const path = `/apis/apps/v1/namespaces/${ns}/${kind}/${name}`;
    let wl: Workload;
    try {
        wl = await ctx.client.request<Workload>("GET", path, { object: `${ns}/${name}` });
    } catch (e) {
        if (isKubeError(e, 404)) {
            ctx.debouncer.clear(key);
            return;
        }
        throw e;
    }
    let names: string[];
    try {
        names = consumedSecrets(parseRestartOn(wl.metadata.annotations?.[ANNOTATION_RESTART_ON], `${ns}/${name}`), wl.spec?.template?.spec);
    } catch (e) {
        ctx.logger.warn({ object: key, err: (e as Error).message }, "invalid restart-on annotation");
        return;
    }
    if (names.length === 0) return;
    const wait = ctx.debouncer.remaining(key, ctx.clock.now());
    if (wait > 0) {
        ctx.queue.addAfter(key, wait);
        return;
    }
    // Content hashes come from the informer cache (no GET per secret). A consumed secret that is absent (deleted,
    // or not created yet) defers the decision: rolling then would only crash-loop pods on a missing secret.
    const contents: Record<string, string> = {};
    for (const n of names) {
        const meta = ctx.secrets.get(`${ns}/${n}`);
        if (!meta || meta.deleting) {
            ctx.logger.debug({ object: key, secret: `${ns}/${n}` }, "restart decision deferred: a consumed secret is absent");
            ctx.debouncer.clear(key);
            return;
        }
        if (!(await hooksSettled(ctx, `${ns}/${n}`))) {
            ctx.logger.info({ object: key, secret: `${ns}/${n}` }, "restart deferred until the init-time hook succeeds");
            return;
        }
        contents[n] = `${meta.type}:${meta.contentHash}`;
    }
    const hash = secretsHash(contents, ctx.fingerprint, { kind, namespace: ns, name });
    const decision = restartDecision(hash, wl.spec?.template?.metadata?.annotations?.[ANNOTATION_SECRETS_HASH], wl.metadata.annotations?.[ANNOTATION_SECRETS_HASH]);
    ctx.debouncer.clear(key);
    switch (decision) {
        case "none":
            return;
        case "record-baseline":
            await ctx.client.request("PATCH", path, {
                body: { metadata: { resourceVersion: wl.metadata.resourceVersion, annotations: { [ANNOTATION_SECRETS_HASH]: hash } } },
                contentType: "application/merge-patch+json",
                object: key,
            });
            return;
        case "restart": {
            await ctx.client.request("PATCH", path, {
                body: {
                    metadata: { resourceVersion: wl.metadata.resourceVersion, annotations: { [ANNOTATION_SECRETS_HASH]: hash } },
                    spec: { template: { metadata: { annotations: { [ANNOTATION_SECRETS_HASH]: hash } } } },
                },
                contentType: "application/merge-patch+json",
                object: key,
            });
            ctx.metrics.restarts.inc({ kind });
            ctx.recorder.audit("restart", key, `consumed secrets changed (${names.join(",")})`, { fingerprint: hash });
            ctx.recorder.event(
                { apiVersion: "apps/v1", kind: KIND_NAME[kind], namespace: ns, name, uid: wl.metadata.uid },
                "Normal",
                "SecretsChanged",
                `rolling restart: secrets ${names.join(",")} changed`,
            );
            return;
        }
        default: {
            const never: never = decision;
            throw new Error(`unknown decision ${String(never)}`);
        }
    }
}
