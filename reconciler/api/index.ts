/**
 * The reconciler's published contract: the only reconciler code that `stacks/` and `cli/` may import (enforced by
 * eslint, eslint.config.mjs). What is here is what other parts of the product write for the reconciler to read, or
 * read from what it writes:
 * - the annotation and label keys, and the status model it writes on derived secrets and sources (keys.ts);
 * - the administrator policy and hook schemas and their one parser (policy.ts, hookspec.ts), which the stack renders
 *   into the policy ConfigMap and the CLI reads back;
 * - the RBAC rules the reconciler needs (rbac.ts) and the claim an instance puts on its namespace (claims.ts);
 * - the workload model: which kinds are restarted and which Secrets a pod spec consumes (workloads.ts).
 * Anything else under reconciler/ is implementation and may change without notice.
 */
export {
    ANNOTATION_CLAIM_REFUSED,
    ANNOTATION_FAN_OUT_OWNER,
    ANNOTATION_FAN_OUT_STATUS,
    ANNOTATION_HOOK_SOURCE,
    ANNOTATION_HOOK_SOURCE_HASH,
    ANNOTATION_HOOKS_APPLIED_CONTENT,
    ANNOTATION_RESTART_MIN_INTERVAL,
    ANNOTATION_RESTART_ON_IGNORE,
    ANNOTATION_RESTART_ON,
    ANNOTATION_RESTARTED_AT,
    ANNOTATION_RETAIN,
    ANNOTATION_SECRETS_HASH,
    ANNOTATION_STATUS,
    ANNOTATION_STATUS_MESSAGE,
    ANNOTATION_STATUS_TIME,
    ANNOTATION_SYNC_HANDLED,
    ANNOTATION_SYNC_REQUESTED,
    ANNOTATION_SYNCED,
    FIELD_MANAGER,
    LABEL_HOOK_STATE,
    SYNC_STATUSES,
} from "../keys";
export type { RefusalReason, SyncStatus } from "../keys";
export { parseHookList } from "../hooks/hookspec";
export type { HookSpec } from "../hooks/hookspec";
export { EMPTY_POLICY, hooksFor, parsePolicy, POLICY_CONFIGMAP_NAME, POLICY_KEY, renderPolicy } from "../trust/policy";
export type { FanOutGrant, HookBinding, ReconcilerPolicy } from "../trust/policy";
export { reconcilerRbacRules } from "../trust/rbac";
export { claimMetadata } from "../trust/claims";
export { consumedSecrets, parseRestartIgnore, parseRestartOn } from "../restarts/workloads";
export { contentHash } from "../model";
export { hookStateName } from "../hooks/hooks";
export type { PodSpec } from "../restarts/workloads";
export { ALL_WORKLOAD_KINDS, WORKLOAD_KINDS, workloadApi } from "../machinery/queue-keys";
export type { WorkloadKind } from "../machinery/queue-keys";
export { VaultKv } from "../hooks/vault";
export type { VaultConfig } from "../hooks/vault";
