import { isDerived, recipeFromSecret } from "../derive";
import { ReconcileContext } from "./context";
import { hooksApplied } from "./hooks";
import { parseHooks } from "./hookspec";
import { ANNOTATION_RESTART_ON, ANNOTATION_SECRETS_HASH } from "./keys";
import { isKubeError } from "./kube";
import { getSecret } from "./reconcile-secrets";
import { consumedSecrets, contentHash, parseRestartOn, restartDecision, secretsHash, WorkloadKind, workloadKey } from "./workloads";

const KIND_NAME: Record<WorkloadKind, string> = { deployments: "Deployment", statefulsets: "StatefulSet", daemonsets: "DaemonSet" };

/** Whether the init-time hooks behind `secret` (its own, or its source's) are done for the current content. */
async function hooksSettled(ctx: ReconcileContext, secret: any): Promise<boolean> {
    let source = secret;
    if (isDerived(secret)) {
        const r = recipeFromSecret(secret);
        if (!r) return true;
        source = await getSecret(ctx, r.source.namespace, r.source.name);
        if (!source) return true;
    }
    let hooks;
    try {
        hooks = parseHooks(source.metadata.annotations, `${source.metadata.namespace}/${source.metadata.name}`);
    } catch {
        return true;
    }
    if (hooks.length === 0) return true;
    const state = await ctx.hooks.getState(source.metadata.namespace, source.metadata.name);
    return hooksApplied(source, hooks, state);
}

/**
 * Rolls a workload when the secrets it follows changed content: a pod-template annotation carrying their hash.
 * Debounced per workload; gated on init-time hooks (a DB password is altered before consumers restart).
 */
export async function reconcileWorkload(ctx: ReconcileContext, kind: WorkloadKind, ns: string, name: string): Promise<void> {
    const key = workloadKey(kind, ns, name);
    const path = `/apis/apps/v1/namespaces/${ns}/${kind}/${name}`;
    let wl: any;
    try {
        wl = await ctx.client.request("GET", path, { object: `${ns}/${name}` });
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
    const contents: Record<string, string> = {};
    for (const n of names) {
        const s = await getSecret(ctx, ns, n);
        if (s && !(await hooksSettled(ctx, s))) {
            ctx.logger.info({ object: key, secret: `${ns}/${n}` }, "restart deferred until the init-time hook succeeds");
            return;
        }
        contents[n] = contentHash(s);
    }
    const hash = secretsHash(contents);
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
            ctx.recorder.audit("restart", key, `consumed secrets changed (${names.join(",")})`, { secretsHash: hash });
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
