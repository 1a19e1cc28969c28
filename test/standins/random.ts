import { randomInt } from "node:crypto";
import type * as provider from "@pulumi/pulumi/provider";
import { containsUnknown, deepEqual, reveal, secret } from "./secrets";

/**
 * STAND-IN for the `random` provider (test support only; see README.md here): exactly `random:index/randomPassword:
 * RandomPassword`, the one type the program uses. Contract kept from the real provider where the program depends
 * on it: every input is force-new (any input change, keepers included, replaces the resource and so draws a new
 * value), `result` is a secret output, refresh (read) never changes the value, id "none". Not provided: bcryptHash,
 * import.
 */
export const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";
/** The real provider's default special characters. */
export const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** Inputs with the real provider's defaults (special, upper, lower, numeric default true; minimums 0). */
export const INPUT_DEFAULTS: Record<string, unknown> = {
    special: true,
    upper: true,
    lower: true,
    numeric: true,
    minSpecial: 0,
    minUpper: 0,
    minLower: 0,
    minNumeric: 0,
};
export const INPUT_KEYS = ["length", "keepers", "special", "upper", "lower", "numeric", "number", "minSpecial", "minUpper", "minLower", "minNumeric", "overrideSpecial"];

type Inputs = Record<string, unknown>;

/** The resource type of a URN: its third segment is `parentType$...$type`. */
export function typeOf(urn: string): string {
    return (urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

export function validate(inputs: Inputs): provider.CheckFailure[] {
    const f: provider.CheckFailure[] = [];
    const n = (k: string): number => Number(inputs[k] ?? 0);
    if (!Number.isInteger(inputs.length) || n("length") < 1) f.push({ property: "length", reason: "length must be a whole number >= 1" });
    const mins = n("minUpper") + n("minLower") + n("minNumeric") + n("minSpecial");
    if (n("length") < mins) f.push({ property: "length", reason: `length (${n("length")}) must be >= min_upper + min_lower + min_numeric + min_special (${mins})` });
    if (!["upper", "lower", "numeric", "special"].some((k) => inputs[k] === true)) f.push({ property: "special", reason: "at least one of upper, lower, numeric, special must be true" });
    return f;
}

/** The real provider's algorithm: the minimum of each class first, the rest from all enabled classes, shuffled. */
export function generate(inputs: Inputs): string {
    const special = typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : DEFAULT_SPECIAL;
    const classes: [boolean, string, number][] = [
        [inputs.upper === true, UPPER, Number(inputs.minUpper ?? 0)],
        [inputs.lower === true, LOWER, Number(inputs.minLower ?? 0)],
        [inputs.numeric === true, NUMERIC, Number(inputs.minNumeric ?? 0)],
        [inputs.special === true, special, Number(inputs.minSpecial ?? 0)],
    ];
    const chars: string[] = [];
    let all = "";
    for (const [on, set, min] of classes) {
        if (!on || set.length === 0) continue;
        all += set;
        for (let i = 0; i < min; i++) chars.push(set[randomInt(set.length)]!);
    }
    const length = Number(inputs.length);
    while (chars.length < length) chars.push(all[randomInt(all.length)]!);
    for (let i = chars.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j]!, chars[i]!];
    }
    return chars.join("");
}

export const randomProvider: provider.Provider = {
    version: "0.0.0", // replaced by serve.ts with the version the SDK asks for
    async check(urn, _olds, news: Inputs) {
        if (typeOf(urn) !== RANDOM_PASSWORD) return { failures: [{ property: "", reason: `stand-in random provider: unsupported type ${typeOf(urn)}` }] };
        const inputs: Inputs = { ...INPUT_DEFAULTS };
        for (const k of INPUT_KEYS) if (news[k] !== undefined) inputs[k] = news[k];
        // `number` is the deprecated alias of `numeric`, kept equal like the real provider does.
        if (news.numeric === undefined && news.number !== undefined) inputs.numeric = news.number;
        inputs.number = inputs.numeric;
        return { inputs, failures: containsUnknown(inputs) ? [] : validate(reveal(inputs) as Inputs) };
    },
    async diff(_id, _urn, olds: Inputs, news: Inputs) {
        const o = reveal(olds) as Inputs;
        const n = reveal(news) as Inputs;
        // Every attribute of random_password is ForceNew: any difference replaces.
        const replaces = INPUT_KEYS.filter((k) => containsUnknown(n[k]) || !deepEqual(o[k], n[k]));
        return { changes: replaces.length > 0, replaces };
    },
    async create(_urn, inputs: Inputs) {
        const plain = reveal(inputs) as Inputs;
        return { id: "none", outs: { ...inputs, result: secret(generate(plain)) } };
    },
    async read(id, _urn, props: Inputs) {
        // The value lives only in the state: a refresh returns it unchanged.
        const inputs = Object.fromEntries(INPUT_KEYS.filter((k) => props[k] !== undefined).map((k) => [k, props[k]]));
        return { id, props, inputs };
    },
    async update() {
        throw new Error("stand-in random provider: RandomPassword is never updated in place (every input is force-new)");
    },
    async delete() {
        /* nothing outside the state */
    },
};
