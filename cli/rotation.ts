import { ANNOTATION_SOURCE_HASH, deriveSecret, isDerivationError, Recipe, recordedSourceHash, SecretLike } from "../derive";
import { ANNOTATION_HOOKS_APPLIED_CONTENT, ANNOTATION_RESTARTED_AT, ANNOTATION_STATUS, ANNOTATION_STATUS_MESSAGE, WorkloadKind } from "../reconciler/api";
import { printable } from "./kube";
import { paint, Style } from "./render";

/**
 * `platform-secrets rotation` (issue 22 §3): one view of a rotation from Vault to the last Pod, as steps in the order
 * the value travels: Vault version N (N-1 still readable) → ESO synced it into the Secret → init-time hooks applied
 * → each derived secret rewritten → each consumer rolled and its new Pods ready. Decided from statuses and content
 * comparisons made here in memory; no value, hash or fingerprint is printed. Pure: the reads are rotation-collect.ts.
 */
export type StepKind = "vault" | "eso" | "hooks" | "derived" | "workload";
export type StepState = "done" | "pending" | "failed" | "unknown";

export interface RotationStep {
    kind: StepKind;
    /** What the step is about: a Vault path, an ExternalSecret, a Secret, a workload. */
    object: string;
    state: StepState;
    /** Why (names objects and the fix; never a value). */
    detail: string;
}

export interface RotationReport {
    subject: string;
    steps: RotationStep[];
    complete: boolean;
    /** The first step (in the order the value travels) that is not done. */
    firstMissing?: RotationStep;
}

const ORDER: Record<StepKind, number> = { vault: 0, eso: 1, hooks: 2, derived: 3, workload: 4 };

export function buildRotationReport(subject: string, steps: RotationStep[]): RotationReport {
    const sorted = [...steps].sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
    const firstMissing = sorted.find((s) => s.state !== "done");
    return { subject, steps: sorted, complete: firstMissing === undefined, ...(firstMissing ? { firstMissing } : {}) };
}

export function rotationExitCode(r: RotationReport): number {
    return r.complete ? 0 : 1;
}

/** Vault: version N exists and N-1 is still readable (the previous value a hook or a rollback needs). */
export function vaultStep(object: string, meta: { current: number; previousReadable: boolean } | undefined | { unavailable: string }): RotationStep {
    if (meta === undefined) return { kind: "vault", object, state: "failed", detail: "no such secret in Vault (check the ExternalSecret's remoteRef.key and --vault-mount)" };
    if ("unavailable" in meta) return { kind: "vault", object, state: "unknown", detail: meta.unavailable };
    if (meta.current <= 1) return { kind: "vault", object, state: "done", detail: `version ${meta.current} (the first: nothing rotated yet)` };
    return meta.previousReadable
        ? { kind: "vault", object, state: "done", detail: `version ${meta.current}, version ${meta.current - 1} still readable` }
        : { kind: "vault", object, state: "failed", detail: `version ${meta.current}, but version ${meta.current - 1} is deleted or destroyed: a postgres hook cannot log in with the previous password, nor can it be rolled back. Fix: vault kv undelete -versions=${meta.current - 1}` };
}

export interface EsoFacts {
    ready?: { status: string; message?: string };
    /** Whether every mapped key of the Secret equals Vault's current value (undefined: not comparable, e.g. a template). */
    matchesVault?: boolean;
    refreshedAfterVersion?: boolean;
}

/** ESO: the ExternalSecret is Ready and its Secret holds Vault's current version (compared here, never printed). */
export function esoStep(object: string, secret: string, f: EsoFacts): RotationStep {
    if (f.ready?.status === "False") return { kind: "eso", object, state: "failed", detail: `not Ready: ${printable(f.ready.message ?? "no message")}` };
    if (f.matchesVault === true) return { kind: "eso", object, state: "done", detail: `${secret} holds Vault's current version` };
    if (f.matchesVault === false) {
        return { kind: "eso", object, state: "pending", detail: `${secret} still holds an earlier version: ESO has not synced (is the controller running? an OnChange ExternalSecret re-syncs when its rotation annotation changes: run pulumi up)` };
    }
    if (f.refreshedAfterVersion === true) return { kind: "eso", object, state: "done", detail: `refreshed after Vault's current version was written (templated: compared by time)` };
    if (f.refreshedAfterVersion === false) return { kind: "eso", object, state: "pending", detail: "not refreshed since Vault's current version was written" };
    return { kind: "eso", object, state: "unknown", detail: "cannot compare without Vault access" };
}

/** Hooks: the hook state says every hook is applied for the source's current content. */
export function hooksStep(object: string, state: { annotations: Record<string, string> } | "forbidden" | "absent", content: string, declared: boolean | undefined): RotationStep | undefined {
    if (state === "forbidden") return { kind: "hooks", object, state: "unknown", detail: "the hook state in the reconciler's namespace is readable by administrators only" };
    if (state === "absent") return declared ? { kind: "hooks", object, state: "pending", detail: "hooks are declared for this source but have not run yet (is the reconciler running?)" } : undefined;
    const a = state.annotations;
    if (a["platform-secrets.io/hook-status"] === "error") return { kind: "hooks", object, state: "failed", detail: printable(a["platform-secrets.io/hook-message"] ?? "hook failed") };
    if (a[ANNOTATION_HOOKS_APPLIED_CONTENT] === content) return { kind: "hooks", object, state: "done", detail: "every init-time hook applied for the current content" };
    return { kind: "hooks", object, state: "pending", detail: "hooks not yet applied for the current content (is the reconciler running?)" };
}

/** A derived secret: its recorded source hash equals what the ONE derivation core gives for the live source. */
export function derivedStep(derived: SecretLike, recipe: Recipe | undefined, source: SecretLike): RotationStep {
    const object = `${derived.metadata.namespace}/${derived.metadata.name}`;
    const status = derived.metadata.annotations?.[ANNOTATION_STATUS];
    if (!recipe) return { kind: "derived", object, state: "failed", detail: "its recipe annotations are unreadable (see platform-secrets explain)" };
    let want: string | undefined;
    try {
        want = deriveSecret(source, recipe).metadata.annotations[ANNOTATION_SOURCE_HASH];
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        return { kind: "derived", object, state: "failed", detail: printable(e.message) };
    }
    if (status === "refused" || status === "error") return { kind: "derived", object, state: "failed", detail: `${status}: ${printable(derived.metadata.annotations?.[ANNOTATION_STATUS_MESSAGE] ?? "")}` };
    if (recordedSourceHash(derived) === want) return { kind: "derived", object, state: "done", detail: "rewritten from the current source" };
    return { kind: "derived", object, state: "pending", detail: `still derived from an earlier source version${status === "stale" ? `: ${printable(derived.metadata.annotations?.[ANNOTATION_STATUS_MESSAGE] ?? "")}` : " (is the reconciler running?)"}` };
}

interface ManagedField {
    time?: string;
    fieldsV1?: Record<string, unknown>;
}

/** When a Secret's data was last written: the newest managedFields entry that owns data (epoch ms). */
export function contentChangedAt(managedFields: readonly ManagedField[] | undefined): number | undefined {
    let at: number | undefined;
    for (const m of managedFields ?? []) {
        if (!m.fieldsV1 || !("f:data" in m.fieldsV1)) continue;
        const t = Date.parse(m.time ?? "");
        if (Number.isFinite(t)) at = Math.max(at ?? t, t);
    }
    return at;
}

export interface RawWorkloadStatus {
    metadata?: { namespace?: string; name?: string; generation?: number; creationTimestamp?: string; annotations?: Record<string, string> };
    spec?: { replicas?: number };
    status?: {
        observedGeneration?: number;
        replicas?: number;
        updatedReplicas?: number;
        readyReplicas?: number;
        availableReplicas?: number;
        desiredNumberScheduled?: number;
        updatedNumberScheduled?: number;
        numberReady?: number;
        restartedAt?: string;
    };
}

/** `kubectl rollout status` semantics (pure): the controller saw the latest spec and every replica is updated and ready. */
export function rolloutComplete(kind: WorkloadKind, w: RawWorkloadStatus): { done: boolean; detail: string } {
    const s = w.status ?? {};
    if ((s.observedGeneration ?? 0) < (w.metadata?.generation ?? 0)) return { done: false, detail: "the controller has not seen the restart yet" };
    if (kind === "daemonsets") {
        const want = s.desiredNumberScheduled ?? 0;
        const ok = (s.updatedNumberScheduled ?? 0) >= want && (s.numberReady ?? 0) >= want;
        return { done: ok, detail: `${s.numberReady ?? 0}/${want} new Pods ready` };
    }
    const want = w.spec?.replicas ?? 1;
    const ok = (s.updatedReplicas ?? 0) >= want && (s.readyReplicas ?? 0) >= want && (s.replicas ?? 0) <= want;
    return { done: ok, detail: `${Math.min(s.updatedReplicas ?? 0, s.readyReplicas ?? 0)}/${want} new Pods ready` };
}

/** A consumer: rolled after its secret's content last changed (or created after it), and the new Pods ready. */
export function workloadStep(kind: WorkloadKind, w: RawWorkloadStatus, secret: string, changedAt: number | undefined): RotationStep {
    const object = `${kind}/${w.metadata?.namespace}/${w.metadata?.name}`;
    const started = Math.max(Date.parse(w.metadata?.annotations?.[ANNOTATION_RESTARTED_AT] ?? "") || 0, Date.parse(w.metadata?.creationTimestamp ?? "") || 0);
    // Times in whole seconds on both sides (creationTimestamp, managedFields): a second of slack.
    if (changedAt !== undefined && started < changedAt - 1000) return { kind: "workload", object, state: "pending", detail: `not rolled since ${secret} changed (is the reconciler running? is restarts paused?)` };
    const r = rolloutComplete(kind, w);
    return { kind: "workload", object, state: r.done ? "done" : "pending", detail: r.done ? `rolled for ${secret}; ${r.detail}` : `rolled for ${secret}; waiting: ${r.detail}` };
}

const MARK: Record<StepState, [string, "green" | "yellow" | "red"]> = { done: ["✓", "green"], pending: ["…", "yellow"], failed: ["✗", "red"], unknown: ["?", "yellow"] };

export function renderRotation(r: RotationReport, style: Style): string {
    const lines = [`rotation of ${r.subject}`];
    const w = Math.max(...r.steps.map((s) => s.object.length), 6);
    for (const s of r.steps) {
        const [m, c] = MARK[s.state];
        lines.push(`  ${paint(m, c, style)} ${s.kind.padEnd(8)} ${s.object.padEnd(w)}  ${paint(s.state, c, style)}: ${s.detail}`);
    }
    lines.push(r.complete ? paint("every step has the new version", "green", style) : `not complete: first missing step: ${r.firstMissing!.kind} ${r.firstMissing!.object}: ${r.firstMissing!.detail}`);
    return `${lines.join("\n")}\n`;
}
