import * as pulumi from "@pulumi/pulumi";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { fields } from "./checks";
import { versioned } from "./schema";
import { providerStub } from "./stub";

/**
 * Why this exists: `random.RandomPassword` marks every input force-new, so a changed `length` or character-class
 * setting replaces it, i.e. silently ROTATES the password, although the stack promises "the value changes only when
 * the rotation counter changes". This guard holds the password's generation policy (settings only, never the value)
 * and the counter; the RandomPassword depends on it, so the engine checks the guard first and preview fails naming
 * the counter to bump when the policy moved while the counter did not.
 */

/** The RandomPassword settings that decide how a value is generated (all force-new in the random provider). */
export interface PasswordPolicy {
    length: number;
    special: boolean;
    upper: boolean;
    lower: boolean;
    numeric: boolean;
    minSpecial: number;
    minUpper: number;
    minLower: number;
    minNumeric: number;
    /** Unset = random's default set. */
    overrideSpecial?: string;
}

/** Field order of the canonical form (and of the message), fixed so equal policies give equal text. */
export const PASSWORD_POLICY_FIELDS = ["length", "special", "upper", "lower", "numeric", "minSpecial", "minUpper", "minLower", "minNumeric", "overrideSpecial"] as const;

export interface PasswordPolicyGuardInputs {
    /** Name shown in messages, e.g. "app-db-password". */
    password: string;
    /** The rotation counter the RandomPassword is keyed by. */
    rotation: number;
    /** Where the user bumps the counter, e.g. "platform-secrets:passwords[0].rotation". Not compared: reordering config is no change. */
    rotationKey: string;
    /** canonicalPolicy() of the settings. */
    policy: string;
    /** Set only when the stack may not write the password's Vault path (stacks/ownership.ts): check fails with it. */
    ownershipRefusal?: string;
}

export type PasswordPolicyGuardOutputs = PasswordPolicyGuardInputs;

/** Canonical JSON of a policy (pure): fixed field order, overrideSpecial null when unset. */
export function canonicalPolicy(p: PasswordPolicy): string {
    const out: Record<string, unknown> = {};
    for (const f of PASSWORD_POLICY_FIELDS) out[f] = p[f] ?? null;
    return JSON.stringify(out);
}

/** `field changed from a to b` for every field that differs (pure); an unparsable old policy counts as one change. */
export function policyChanges(oldPolicy: string, newPolicy: string): string[] {
    if (oldPolicy === newPolicy) return [];
    let a: Record<string, unknown>;
    let b: Record<string, unknown>;
    try {
        a = JSON.parse(oldPolicy) as Record<string, unknown>;
        b = JSON.parse(newPolicy) as Record<string, unknown>;
    } catch {
        return ["the password policy changed"];
    }
    const show = (v: unknown) => (v === null || v === undefined ? "unset" : JSON.stringify(v));
    const keys = [...new Set([...PASSWORD_POLICY_FIELDS, ...Object.keys(a), ...Object.keys(b)])];
    return keys.filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)).map((k) => `${k} changed from ${show(a[k])} to ${show(b[k])}`);
}

/** The engine's placeholder for a value not known at preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * The refusal (pure): a policy change without a counter change, as a message naming the password, what changed and
 * the counter to bump; undefined when the change is allowed (nothing recorded yet, the counter moved, or no policy
 * change). Values unknown at preview are never refused.
 */
export function policyRefusal(olds: Partial<PasswordPolicyGuardInputs> | undefined, news: PasswordPolicyGuardInputs): string | undefined {
    if (olds?.policy === undefined || olds.rotation === undefined) return undefined;
    if ([news.policy, news.rotation, olds.policy].some((v) => v === UNKNOWN)) return undefined;
    if (olds.rotation !== news.rotation) return undefined;
    const changes = policyChanges(olds.policy, news.policy);
    if (changes.length === 0) return undefined;
    const next = Number(news.rotation) + 1;
    return (
        `password ${news.password}: ${changes.join(", ")}; these settings take effect only by rotating the password ` +
        `(the random provider replaces the value on any of them, which would rotate it silently); ` +
        `fix: bump ${news.rotationKey} from ${news.rotation} to ${next} (pulumi config set --path '${news.rotationKey}' ${next}), or revert the change`
    );
}

/** Input shape problems, as check failures naming the property (pure). */
export function checkGuardInputs(input: object): dynamic.CheckFailure[] {
    const news = fields(input);
    const failures: dynamic.CheckFailure[] = [];
    if (typeof news.password !== "string" || news.password === "") failures.push({ property: "password", reason: "must be the password's name; fix: pass a non-empty name" });
    if (news.rotation !== UNKNOWN && !(typeof news.rotation === "number" && Number.isInteger(news.rotation) && news.rotation >= 0)) {
        failures.push({ property: "rotation", reason: "must be a whole number >= 0; fix: pass the password's rotation counter" });
    }
    if (typeof news.rotationKey !== "string" || news.rotationKey === "") failures.push({ property: "rotationKey", reason: "must name where the counter is set; fix: pass e.g. platform-secrets:passwords[0].rotation" });
    if (news.policy !== UNKNOWN) {
        let ok = typeof news.policy === "string";
        try {
            ok = ok && typeof JSON.parse(news.policy as string) === "object";
        } catch {
            ok = false;
        }
        if (!ok) failures.push({ property: "policy", reason: "must be canonicalPolicy() of the settings; fix: build it with canonicalPolicy" });
    }
    return failures;
}

function outputsOf(i: PasswordPolicyGuardInputs): PasswordPolicyGuardOutputs {
    return { password: i.password, rotation: i.rotation, rotationKey: i.rotationKey, policy: i.policy };
}

// Errors are plain `new Error(message)`: the closure serializer turns Error subclasses into functions whose
// super() sets no message (providers/README.md, "Serialization").
async function check(olds: Partial<PasswordPolicyGuardInputs>, news: PasswordPolicyGuardInputs): Promise<dynamic.CheckResult<PasswordPolicyGuardInputs>> {
    const failures = checkGuardInputs(news);
    if (failures.length === 0) {
        // Reported here too (check runs before diff), so preview prints the reason once, without a stack trace.
        const refusal = policyRefusal(olds, news);
        // No property: the engine would print the whole policy value before the reason, which says it better.
        if (refusal !== undefined) failures.push({ property: "", reason: refusal });
    }
    // Another stack owns the Vault path: the preview fails here, and nothing depending on the guard runs.
    if (typeof news.ownershipRefusal === "string" && news.ownershipRefusal !== "") failures.push({ property: "", reason: news.ownershipRefusal });
    return { inputs: news, failures };
}

async function diff(_id: string, olds: PasswordPolicyGuardOutputs, news: PasswordPolicyGuardInputs): Promise<dynamic.DiffResult> {
    const refusal = policyRefusal(olds, news);
    if (refusal !== undefined) throw new Error(refusal);
    // Only what decides the value counts; a new rotationKey (config entries reordered) is not a change.
    return { changes: olds.rotation !== news.rotation || olds.policy !== news.policy, replaces: [], deleteBeforeReplace: false };
}

async function create(inputs: PasswordPolicyGuardInputs): Promise<dynamic.CreateResult<PasswordPolicyGuardOutputs>> {
    return { id: `password-policy/${inputs.password}`, outs: outputsOf(inputs) };
}

/** Nothing lives outside the state: refresh keeps what was recorded. */
async function read(id: string, props?: PasswordPolicyGuardOutputs): Promise<dynamic.ReadResult<PasswordPolicyGuardOutputs>> {
    if (props === undefined) throw new Error(`reading ${id}: no recorded policy. Fix: import is not supported; create the resource instead`);
    return { id, props: outputsOf(props) };
}

async function update(_id: string, _olds: PasswordPolicyGuardOutputs, news: PasswordPolicyGuardInputs): Promise<dynamic.UpdateResult<PasswordPolicyGuardOutputs>> {
    return { outs: outputsOf(news) };
}

async function remove(): Promise<void> {
    // Nothing to delete: the guard is bookkeeping in the state only.
}

/** The PasswordPolicyGuard provider, recording and enforcing the provider schema (schema.ts). Loaded by the stub (stub.ts). */
export const passwordPolicyGuardProvider: dynamic.ResourceProvider<PasswordPolicyGuardInputs, PasswordPolicyGuardOutputs> = versioned("PasswordPolicyGuard", { check, diff, create, read, update, delete: remove });

export interface PasswordPolicyGuardArgs {
    password: pulumi.Input<string>;
    rotation: pulumi.Input<number>;
    rotationKey: pulumi.Input<string>;
    /** canonicalPolicy() of the settings (never the value). */
    policy: pulumi.Input<string>;
    /** Why the password's Vault path may not be written (another stack owns it); check fails with it. Default none. */
    ownershipRefusal?: pulumi.Input<string | undefined>;
}

/**
 * Fails preview when a password's generation policy changes while its rotation counter does not. Make the
 * RandomPassword `dependsOn` it. When the counter moves too, the guard records the new policy (an update).
 */
export class PasswordPolicyGuard extends pulumi.dynamic.Resource {
    declare readonly password: pulumi.Output<string>;
    declare readonly rotation: pulumi.Output<number>;
    declare readonly rotationKey: pulumi.Output<string>;
    declare readonly policy: pulumi.Output<string>;

    constructor(name: string, args: PasswordPolicyGuardArgs, opts?: pulumi.CustomResourceOptions) {
        super(providerStub("guard"), name, { password: args.password, rotation: args.rotation, rotationKey: args.rotationKey, policy: args.policy, ...(args.ownershipRefusal !== undefined ? { ownershipRefusal: args.ownershipRefusal } : {}) }, opts, "platform-secrets", "PasswordPolicyGuard");
    }
}
