import * as YAML from "yaml";
import { ANNOTATION_FAN_OUT, deriveSecret, fanOutFromSource, FORMATS, isDerivationError, recipeFromSecret, SecretLike, validateRecipe, ANNOTATION_FORMAT, ANNOTATION_OPTIONS, ANNOTATION_SOURCE_NAME, ANNOTATION_SOURCE_NAMESPACE } from "../derive";

/**
 * `validate`: checks a source secret against a format WITHOUT writing anything, through the derivation core the
 * reconciler uses (validateRecipe + deriveSecret), so the messages are the reconciler's own. Pure; results name
 * keys and objects, never a value (DerivationError carries none by construction).
 */

export interface Check {
    format: string;
    options: unknown;
    target: { namespace: string; name: string };
}

export interface CheckResult {
    source: string;
    target: string;
    format: string;
    ok: boolean;
    /** The reconciler's message when not ok. */
    message?: string;
    /** What a derived secret would look like: its type and key NAMES. */
    produces?: { type: string; keys: string[] };
}

export class ValidateUsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ValidateUsageError";
    }
}

/** Runs one check against a source (with its data) — exactly the calls the reconciler makes. */
export function checkSource(source: SecretLike, c: Check): CheckResult {
    const src = `${source.metadata.namespace}/${source.metadata.name}`;
    const base = { source: src, target: `${c.target.namespace}/${c.target.name}`, format: c.format };
    try {
        const recipe = validateRecipe({ format: c.format, source: { namespace: source.metadata.namespace, name: source.metadata.name }, target: c.target, options: c.options ?? {} });
        const desired = deriveSecret(source, recipe);
        return { ...base, ok: true, produces: { type: desired.type, keys: Object.keys(desired.data).sort() } };
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        return { ...base, ok: false, message: e.message };
    }
}

/** The checks a secret implies by itself: its fan-out declaration (one per spec), or its recipe if derived. */
export function impliedChecks(secret: SecretLike): Check[] | CheckResult {
    const ns = secret.metadata.namespace ?? "default";
    const name = secret.metadata.name ?? "";
    if (secret.metadata.annotations?.[ANNOTATION_FAN_OUT] !== undefined) {
        try {
            return fanOutFromSource(secret).map((s) => ({ format: s.format, options: s.options ?? {}, target: { namespace: s.namespaces?.[0] ?? ns, name: s.targetName ?? name } }));
        } catch (e) {
            if (!isDerivationError(e)) throw e;
            return { source: `${ns}/${name}`, target: "-", format: "-", ok: false, message: e.message };
        }
    }
    return [];
}

/** A derived secret's own recipe, with the reconciler's message when it is unreadable. */
export function checkDerivedRecipe(secret: SecretLike): CheckResult & { sourceRef?: { namespace: string; name: string } } {
    const a = secret.metadata.annotations ?? {};
    const target = `${secret.metadata.namespace}/${secret.metadata.name}`;
    const base = { source: `${a[ANNOTATION_SOURCE_NAMESPACE] ?? "?"}/${a[ANNOTATION_SOURCE_NAME] ?? "?"}`, target, format: a[ANNOTATION_FORMAT] ?? "?" };
    let options: unknown;
    try {
        options = JSON.parse(a[ANNOTATION_OPTIONS] ?? "{}");
    } catch {
        return { ...base, ok: false, message: `${target} key "annotations.${ANNOTATION_OPTIONS}": not valid JSON. Fix: re-create it through the stack` };
    }
    try {
        const r = validateRecipe({ format: a[ANNOTATION_FORMAT], source: { namespace: a[ANNOTATION_SOURCE_NAMESPACE], name: a[ANNOTATION_SOURCE_NAME] }, target: { namespace: secret.metadata.namespace, name: secret.metadata.name }, options });
        if (!recipeFromSecret(secret)) return { ...base, ok: false, message: `${target}: not a derived secret of platform-secrets (labels missing)` };
        return { ...base, ok: true, sourceRef: r.source };
    } catch (e) {
        if (!isDerivationError(e)) throw e;
        return { ...base, ok: false, message: e.message };
    }
}

/** `--options` text → object; a usage error naming the flag when it is not a JSON object. */
export function parseOptions(text: string | undefined): Record<string, unknown> {
    if (text === undefined || text.trim() === "") return {};
    let v: unknown;
    try {
        v = JSON.parse(text);
    } catch {
        throw new ValidateUsageError(`--options is not valid JSON; write it like '{"gitUrls":["https://github.com"]}'`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ValidateUsageError("--options must be a JSON object");
    return v as Record<string, unknown>;
}

export function checkFormat(format: string): void {
    if (!(FORMATS as readonly string[]).includes(format)) throw new ValidateUsageError(`--format must be one of ${FORMATS.join(", ")} (got "${format}")`);
}

/**
 * Secrets in a manifest file (YAML or JSON, multi-document), normalized the way the apiserver stores them:
 * `stringData` entries are base64-encoded into `data` and win over `data`. A missing namespace takes `defaultNs`.
 */
/** A manifest document as parsed (every field checked before use). */
type ManifestSecret = Record<string, unknown> & { kind?: unknown; items?: unknown; metadata?: unknown; data?: unknown; stringData?: unknown; type?: unknown };

export function secretsFromManifest(text: string, defaultNs: string): SecretLike[] {
    let docs: unknown[];
    try {
        docs = YAML.parseAllDocuments(text).map((d) => {
            if (d.errors.length) throw new ValidateUsageError(`the file is not valid YAML: ${d.errors[0].message.split("\n")[0]}`);
            return d.toJS();
        });
    } catch (e) {
        if (e instanceof ValidateUsageError) throw e;
        throw new ValidateUsageError(`the file is not valid YAML: ${String((e as Error).message).split("\n")[0]}`);
    }
    const isObject = (v: unknown): v is ManifestSecret => typeof v === "object" && v !== null && !Array.isArray(v);
    const items = docs.flatMap((d) => (isObject(d) && d.kind === "List" && Array.isArray(d.items) ? (d.items as unknown[]) : [d])).filter(isObject);
    const secrets = items.filter((d) => (d.kind ?? "Secret") === "Secret");
    if (secrets.length === 0) throw new ValidateUsageError("the file holds no Secret");
    return secrets.map((d) => {
        const m = isObject(d.metadata) ? d.metadata : {};
        if (typeof m.name !== "string" || !m.name) throw new ValidateUsageError("a Secret in the file has no metadata.name");
        const strings = (v: unknown, what: string): Record<string, string> => {
            if (v === undefined || v === null) return {};
            if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) throw new ValidateUsageError(`Secret ${m.name}: ${what} must map names to strings`);
            return v as Record<string, string>;
        };
        const data: Record<string, string> = { ...strings(d.data, "data") };
        for (const [k, v] of Object.entries(isObject(d.stringData) ? d.stringData : {})) data[k] = Buffer.from(String(v)).toString("base64");
        return {
            metadata: { namespace: typeof m.namespace === "string" ? m.namespace : defaultNs, name: m.name, labels: strings(m.labels, "metadata.labels"), annotations: strings(m.annotations, "metadata.annotations") },
            type: typeof d.type === "string" ? d.type : "Opaque",
            data,
        };
    });
}

/** Text rendering of results (pure): key names only. */
export function renderChecks(results: CheckResult[], mark: (ok: boolean) => string): string {
    const out: string[] = [];
    for (const r of results) {
        if (r.ok) out.push(`${mark(true)} ${r.source} → ${r.target} (${r.format}): valid${r.produces ? `; would write a ${r.produces.type} secret with keys ${r.produces.keys.join(", ") || "(none)"}` : ""}`);
        else out.push(`${mark(false)} ${r.source} → ${r.target} (${r.format}): ${r.message}`);
    }
    return out.join("\n") + "\n";
}
