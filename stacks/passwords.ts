import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as vault from "@pulumi/vault";
import { PasswordPolicy, PasswordPolicyGuard, canonicalPolicy } from "../providers/password-policy-guard";

export interface StablePasswordArgs {
    /** KV v2 mount the value is written to, e.g. "secret". */
    mount: pulumi.Input<string>;
    /** Path inside the mount, e.g. "dns/powerdns-api-key". */
    path: pulumi.Input<string>;
    /** Key inside the Vault secret; default "password". */
    key?: pulumi.Input<string>;
    /** Number of characters. */
    length: pulumi.Input<number>;
    /** Character classes; default upper, lower and numeric on, special off. */
    special?: pulumi.Input<boolean>;
    upper?: pulumi.Input<boolean>;
    lower?: pulumi.Input<boolean>;
    numeric?: pulumi.Input<boolean>;
    /** Minimum characters per class; default 0. */
    minSpecial?: pulumi.Input<number>;
    minUpper?: pulumi.Input<number>;
    minLower?: pulumi.Input<number>;
    minNumeric?: pulumi.Input<number>;
    /** Special characters to draw from; default random's set. */
    overrideSpecial?: pulumi.Input<string>;
    /** Rotation counter: the value is regenerated exactly when this changes (it is the only keeper). */
    rotation: pulumi.Input<number>;
    /** Name in messages; default: the component name. */
    passwordName?: string;
    /** Where the counter is set, named by the policy guard's refusal; default "the rotation of StablePassword <name>". */
    rotationKey?: string;
    /**
     * More keys written in the SAME KV version as the password (a `strategy: alternate` hook's active login role
     * under "username"), so one version is one complete login; default none.
     */
    extraData?: pulumi.Input<Record<string, string>>;
    /** KV v2 custom_metadata naming the writing stack (stacks/ownership.ts); default none. */
    ownership?: Record<string, string>;
    /**
     * Why this stack may not write the path (stacks/ownership.ts), or undefined. Handed to the policy guard, whose
     * check fails the preview with it; RandomPassword and the Vault write depend on the guard, so nothing is written.
     */
    ownershipRefusal?: pulumi.Input<string | undefined>;
}

/** The keepers of a password: only the rotation counter, so refresh/up/ESO syncs never change the value. */
export function passwordKeepers(rotation: number): Record<string, string> {
    return { rotation: String(rotation) };
}

/**
 * Seed 004's fix: a password generated once by `random.RandomPassword` and stored in Vault KV v2. ESO only ever
 * reads it, so every sync yields the same value until the rotation counter is bumped.
 */
export class StablePassword extends pulumi.ComponentResource {
    /** The value (secret). */
    readonly result: pulumi.Output<string>;
    /** `<mount>/<path>` for reference; never the value. */
    readonly vaultPath: pulumi.Output<string>;
    readonly random: random.RandomPassword;
    /** Refuses a policy change without a counter bump (providers/password-policy-guard.ts). */
    readonly guard: PasswordPolicyGuard;
    readonly secret: vault.kv.SecretV2;

    constructor(name: string, args: StablePasswordArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform-secrets:passwords:StablePassword", name, {}, opts);
        if (typeof args.length === "number" && args.length < 1) {
            throw new pulumi.ResourceError(`StablePassword ${name}: length ${args.length} is not positive; set length to the policy minimum or more`, this);
        }
        if (typeof args.rotation === "number" && (!Number.isInteger(args.rotation) || args.rotation < 0)) {
            throw new pulumi.ResourceError(`StablePassword ${name}: rotation must be a whole number >= 0; bump it by one to rotate`, this);
        }
        // Defaults written out once, so the RandomPassword and the policy guard see the same settings.
        const settings = {
            length: args.length,
            special: args.special ?? false,
            upper: args.upper ?? true,
            lower: args.lower ?? true,
            numeric: args.numeric ?? true,
            minSpecial: args.minSpecial ?? 0,
            minUpper: args.minUpper ?? 0,
            minLower: args.minLower ?? 0,
            minNumeric: args.minNumeric ?? 0,
            ...(args.overrideSpecial !== undefined ? { overrideSpecial: args.overrideSpecial } : {}),
        };
        // The random provider replaces the value when ANY of these settings changes, i.e. it would rotate the
        // password without a counter bump. The guard (settings and counter only, never the value) fails preview
        // then, naming the counter; RandomPassword depends on it so the engine evaluates the guard first.
        this.guard = new PasswordPolicyGuard(`${name}-guard`, {
            password: args.passwordName ?? name,
            rotation: args.rotation,
            rotationKey: args.rotationKey ?? `the rotation of StablePassword ${name}`,
            policy: pulumi.output(settings).apply((p) => canonicalPolicy(p as PasswordPolicy)),
            ...(args.ownershipRefusal !== undefined ? { ownershipRefusal: args.ownershipRefusal } : {}),
        }, { parent: this });
        this.random = new random.RandomPassword(`${name}-random`, {
            ...settings,
            keepers: pulumi.output(args.rotation).apply(passwordKeepers),
        }, { parent: this, dependsOn: [this.guard] });
        this.result = pulumi.secret(this.random.result);
        const dataJson = pulumi.secret(pulumi.all([args.key ?? "password", this.random.result, args.extraData ?? {}]).apply(([k, v, extra]) => JSON.stringify({ ...extra, [k]: v })));
        this.secret = new vault.kv.SecretV2(`${name}-vault`, {
            mount: args.mount,
            name: args.path,
            ...(args.ownership ? { customMetadata: { data: { ...args.ownership } } } : {}),
            dataJson,
            // Old versions stay readable in Vault's history: a rotation can be rolled back by hand.
            deleteAllVersions: false,
        }, { parent: this, additionalSecretOutputs: ["dataJson", "data"] });
        this.vaultPath = pulumi.interpolate`${args.mount}/${args.path}`;
        this.registerOutputs({ vaultPath: this.vaultPath, result: this.result });
    }
}
