import { PREFIX } from "../derive";

/** On a derived secret (or copied from its source): keep it when the source is deleted. */
export const ANNOTATION_RETAIN = `${PREFIX}retain-on-source-delete`;
/** Status of a derived secret: in-sync | stale | source-missing | refused | error. */
export const ANNOTATION_STATUS = `${PREFIX}status`;
/** Human-readable reason for the status; names objects and keys, never values. */
export const ANNOTATION_STATUS_MESSAGE = `${PREFIX}status-message`;
export const ANNOTATION_STATUS_TIME = `${PREFIX}status-time`;
/** Set (to any new value, e.g. a timestamp) on a derived or source secret to force a resync. */
export const ANNOTATION_SYNC_REQUESTED = `${PREFIX}sync-requested-at`;
/** The last sync-requested-at value the reconciler handled. */
export const ANNOTATION_SYNC_HANDLED = `${PREFIX}sync-handled-at`;
/**
 * On a source that declares a fan-out: JSON `{counts, targets, truncated}` — per target namespace/name its state
 * (in-sync | pending | refused | error) and why. Bounded (50 targets listed, not-in-sync first); no time, so an
 * unchanged state is never rewritten.
 */
export const ANNOTATION_FAN_OUT_STATUS = `${PREFIX}fan-out-status`;
/**
 * On a derived secret: keyed fingerprint of (the source's content, its own content) when the reconciler last found
 * it in sync. A restart or periodic resync whose cache shows the same pair skips that secret without a request.
 */
export const ANNOTATION_SYNCED = `${PREFIX}synced-fingerprint`;
/** On a derived secret created by a fan-out: "ns/name" of the source that declared it (only those are pruned). */
export const ANNOTATION_FAN_OUT_OWNER = `${PREFIX}fan-out-owner`;

/** On a Deployment/StatefulSet/DaemonSet: "auto" (every referenced secret) or a comma list of secret names. */
export const ANNOTATION_RESTART_ON = `${PREFIX}restart-on`;
/** On the pod template (and, as the baseline, on the workload): hash of the consumed secrets' type+data. */
export const ANNOTATION_SECRETS_HASH = `${PREFIX}secrets-hash`;
/** On a workload: the shortest time between two restarts ("30s", "5m", "1h"); changes in between are coalesced. */
export const ANNOTATION_RESTART_MIN_INTERVAL = `${PREFIX}restart-min-interval`;
/**
 * On a hook state Secret: sha256 of the source's type + data (model.ts contentHash) for which every hook is applied.
 * The state is readable only in the reconciler's namespace (it holds a password anyway): what `platform-secrets
 * rotation` compares with the live source to say "hooks applied for this content" without a keyed fingerprint.
 */
export const ANNOTATION_HOOKS_APPLIED_CONTENT = `${PREFIX}hooks-applied-content`;
/** On a workload: secret names its restarts do not follow (`a,b`). On a Secret: `"true"`, no workload restarts for it. */
export const ANNOTATION_RESTART_ON_IGNORE = `${PREFIX}restart-on-ignore`;
/** On a workload, written with each rollout: when the reconciler last restarted it (ISO 8601), for the minimum interval. */
export const ANNOTATION_RESTARTED_AT = `${PREFIX}restarted-at`;

/** Label of the reconciler-managed secret (in the reconciler's own namespace) that keeps a source's hook state. */
export const LABEL_HOOK_STATE = `${PREFIX}hook-state`;
/** On a hook-state secret: "ns/name" of the source it belongs to. */
export const ANNOTATION_HOOK_SOURCE = `${PREFIX}hook-source`;
/** On a re-run Job: hash of the source it was re-run for. */
export const ANNOTATION_HOOK_SOURCE_HASH = `${PREFIX}hook-source-hash`;

export type SyncStatus = "in-sync" | "stale" | "source-missing" | "refused" | "error";
export const SYNC_STATUSES: readonly SyncStatus[] = ["in-sync", "stale", "source-missing", "refused", "error"];

/** Why a request was refused (the `reason` label of platform_secrets_refusals_total). */
export type RefusalReason = "no-grant" | "fan-out-not-allowed" | "target-not-managed" | "hooks-annotation";

/** On a secret in a namespace this instance refuses: why (written once; the status stays the acting instance's). */
export const ANNOTATION_CLAIM_REFUSED = `${PREFIX}claim-refused`;

/** The field manager of every write the reconciler makes (managedFields: who changed a workload's pod template). */
export const FIELD_MANAGER = "platform-secrets-reconciler";
