import { isDnsLabel, isDnsSubdomain, matchRequirements, requirementsOf } from "../../derive";
import { closedObject, closest, editDistance, formatPath, memoize, parseWith, unknownFieldFix, withFix, z } from "../../lib/schema";
import { ConfigError, configKey } from "./errors";
import type { LabelSelector, LabelSelectorRequirement, RefreshPolicy } from "./types";
import { REFRESH_POLICIES } from "./types";

/**
 * The stack config's field schemas (zod, the product's one schema library: lib/schema.ts) and readers over them.
 * Entry schemas (entries.ts) compose the schemas; code that reads one field at a time (git.ts, drift.ts, parse.ts)
 * uses the readers, which run the same schemas. Every problem is a ConfigError naming the full key path and the fix.
 */
export type Obj = Record<string, unknown>;
export { closest, editDistance };

const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const VAULT_PATH = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/** `path.field`, or just `field` at the top level. */
export function join(path: string, f: string): string {
    return path ? `${path}.${f}` : f;
}

export function fail(path: string, problem: string, fix: string): never {
    throw new ConfigError(configKey(path), problem, fix);
}

/** Parses `v` (found at config path `path`) with `schema`; a problem becomes a ConfigError at its own key. */
export function parseAt<S extends z.ZodType>(schema: S, v: unknown, path: string, at: readonly PropertyKey[] = []): z.output<S> {
    return parseWith(schema, v, (p) => fail(formatPath(p.path, path), p.problem, p.fix), at);
}

// ---- Field schemas. YAML writes "absent" as null too; both take the default.
const absentIsUndefined = (v: unknown) => (v === null ? undefined : v);

/** A value refined by `ok`, refused with a message that may quote it (names, never secret-bearing values). */
function refined<T>(base: z.ZodType<T>, ok: (v: T) => boolean, message: (v: T) => string) {
    return base.check((ctx) => {
        if (!ok(ctx.value)) ctx.issues.push({ code: "custom", message: message(ctx.value), input: ctx.value });
    });
}

export const stringSchema = z.string({ error: (iss) => (iss.input === undefined ? undefined : withFix("must be a string", "quote the value")) });

export const dnsLabelSchema = refined(stringSchema, (v) => isDnsLabel(v), (v) => withFix(`"${v}" is not a DNS-1123 label`, "use lower-case letters, digits and '-', at most 63 characters"));
export const dnsSubdomainSchema = refined(stringSchema, isDnsSubdomain, (v) => withFix(`"${v}" is not a DNS-1123 subdomain`, "use lower-case letters, digits, '-' and '.'"));
export const durationSchema = refined(stringSchema, (v) => DURATION.test(v), (v) => withFix(`"${v}" is not a Go duration`, 'write e.g. "1h", "30m" or "0s"'));
export const vaultPathSchema = refined(stringSchema, (v) => VAULT_PATH.test(v), (v) =>
    withFix(`"${v}" is not a Vault path relative to the KV mount`, 'write e.g. "dns/powerdns-api-key" (no leading "/", no mount, no "data/")'));
export const refreshPolicySchema = refined(stringSchema, (v) => (REFRESH_POLICIES as readonly string[]).includes(v), (v) =>
    withFix(`"${v}" is not a refresh policy`, `use one of ${REFRESH_POLICIES.join(", ")}`)).transform((v) => v as RefreshPolicy);

/** A string with a default when absent. */
export const optString = memoize((def: string) => z.preprocess(absentIsUndefined, stringSchema.default(def)));
const requiredString = z.preprocess(absentIsUndefined, stringSchema);

/** An integer (YAML may quote it) of at least `min`. */
export const intSchema = memoize((f: string, def: number, atLeast?: number) => {
    const min = atLeast ?? 0;
    const notInt = withFix("must be an integer", `set ${f} to a whole number`);
    return z.preprocess(
        (v) => (v === undefined || v === null ? def : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v),
        z.int({ error: notInt }).min(min, { error: withFix(`must be >= ${min}`, `set ${f} to ${min} or more`) }),
    );
});

/** true/false (YAML may quote it). */
export const boolSchema = memoize((f: string, def: boolean) =>
    z.preprocess(
        (v) => (v === undefined || v === null ? def : v === "true" ? true : v === "false" ? false : v),
        z.boolean({ error: withFix("must be true or false", `set ${f}: true or ${f}: false`) }),
    ),
);

export const listOf = <T extends z.ZodType>(item: T) => z.array(item, { error: withFix("must be a list", "write it as a YAML sequence") });
export const strListSchema = z.preprocess((v) => v ?? [], listOf(stringSchema));
export const objectSchema = z.record(z.string(), z.unknown(), { error: withFix("must be an object", "write it as a YAML mapping") });

export const labelMapSchema = z.preprocess(
    (v) => v ?? {},
    z.record(
        z.string().regex(LABEL_KEY, { error: withFix("is not a valid label key", "use [prefix/]name with letters, digits, '-', '_', '.'") }),
        z.string({ error: withFix("is not a valid label value", 'quote it (e.g. "true"); letters, digits, "-", "_", ".", at most 63 characters') })
            .max(63, { error: withFix("is not a valid label value", 'quote it (e.g. "true"); letters, digits, "-", "_", ".", at most 63 characters') })
            .regex(LABEL_VALUE, { error: withFix("is not a valid label value", 'quote it (e.g. "true"); letters, digits, "-", "_", ".", at most 63 characters') }),
        { error: withFix("must be an object", "write it as a YAML mapping") },
    ),
);

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

const requirementSchema = closedObject(
    {
        key: stringSchema.regex(LABEL_KEY, { error: withFix("is not a valid label key", "use [prefix/]name") }),
        operator: refined(stringSchema, (v) => (OPERATORS as readonly string[]).includes(v), (v) => withFix(`"${v}" is not a selector operator`, `use one of ${OPERATORS.join(", ")}`)),
        values: strListSchema,
    },
    withFix("must be an object", "write it as a YAML mapping"),
).check((ctx) => {
    const { operator, values } = ctx.value;
    const needsValues = operator === "In" || operator === "NotIn";
    if (needsValues && values.length === 0) ctx.issues.push({ code: "custom", path: ["values"], message: withFix(`must be non-empty for ${operator}`, "list at least one value"), input: values });
    if (!needsValues && values.length > 0) ctx.issues.push({ code: "custom", path: ["values"], message: withFix(`must be empty for ${operator}`, "remove values"), input: values });
});

/** A namespace selector; an empty one is refused (it would fan a secret out cluster-wide). */
export const labelSelectorSchema = closedObject(
    { matchLabels: labelMapSchema.optional(), matchExpressions: listOf(requirementSchema).optional() },
    withFix("must be an object", "write it as a YAML mapping"),
)
    .refine((s) => Object.keys(s.matchLabels ?? {}).length > 0 || (s.matchExpressions?.length ?? 0) > 0, {
        error: withFix("selects every namespace", "give matchLabels or matchExpressions (an empty selector would fan a secret out cluster-wide)"),
    })
    .transform((s): LabelSelector => {
        const sel: LabelSelector = {};
        if (s.matchLabels !== undefined) sel.matchLabels = s.matchLabels;
        if (s.matchExpressions !== undefined) {
            sel.matchExpressions = s.matchExpressions.map((e): LabelSelectorRequirement => {
                const req: LabelSelectorRequirement = { key: e.key, operator: e.operator as LabelSelectorRequirement["operator"] };
                if (e.operator === "In" || e.operator === "NotIn") req.values = e.values;
                return req;
            });
        }
        return sel;
    });

// ---- Readers: one field of an object, through the schemas above.

/** Field `f` of `o` (at config path `path`) through `schema`; a problem is reported at `path.f`. */
function read<S extends z.ZodType>(o: Obj, f: string, path: string, schema: S): z.output<S> {
    return parseAt(schema, o[f], path, [f]);
}

/** Rejects fields the schema does not know, so a typo fails preview instead of silently taking the default. */
export function onlyFields(o: Obj, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${path}.${k}`, "unknown field", unknownFieldFix(k, allowed));
}

export function asObject(v: unknown, path: string): Obj {
    return parseAt(objectSchema, v, path);
}

const unknownList = listOf(z.unknown());

export function asArray(v: unknown, path: string): unknown[] {
    return parseAt(unknownList, v, path);
}

export function str(o: Obj, f: string, path: string, def?: string): string {
    return read(o, f, path, def === undefined ? requiredString : optString(def));
}

export function optStr(o: Obj, f: string, path: string): string | undefined {
    return o[f] === undefined || o[f] === null ? undefined : str(o, f, path);
}

export function int(o: Obj, f: string, path: string, def: number, min = 0): number {
    return read(o, f, path, intSchema(f, def, min));
}

export function bool(o: Obj, f: string, path: string, def: boolean): boolean {
    return read(o, f, path, boolSchema(f, def));
}

export function strList(o: Obj, f: string, path: string): string[] {
    return read(o, f, path, strListSchema);
}

export function dnsLabel(v: string, path: string): string {
    return parseAt(dnsLabelSchema, v, path);
}

export function dnsSubdomain(v: string, path: string): string {
    return parseAt(dnsSubdomainSchema, v, path);
}

export function duration(v: string, path: string): string {
    return parseAt(durationSchema, v, path);
}

export function vaultPath(v: string, path: string): string {
    return parseAt(vaultPathSchema, v, path);
}

const optRefreshPolicy = memoize((def: RefreshPolicy) => z.preprocess(absentIsUndefined, refreshPolicySchema.default(def)));

export function refreshPolicy(o: Obj, f: string, path: string, def: RefreshPolicy): RefreshPolicy {
    return read(o, f, path, optRefreshPolicy(def));
}

export function labelMap(v: unknown, path: string): Record<string, string> {
    return parseAt(labelMapSchema, v, path);
}

export function labelSelector(v: unknown, path: string): LabelSelector {
    return parseAt(labelSelectorSchema, v, path);
}

/** Does a namespace with these labels match the selector (Kubernetes semantics: everything ANDed)? derive's one matcher. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
    return matchRequirements(labels, requirementsOf(sel));
}
