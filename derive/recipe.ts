import { DerivationError } from "./errors";
import { isDnsLabel, isDnsSubdomain } from "./names";
import { objectKey } from "./source";
import { ArgoCdOptions, DockerOptions, FORMATS, Format, KargoOptions, Recipe, SecretRef, TektonGitOptions } from "./types";
import { UrlProblem, checkRepoUrl, parseGitHost, parseRegistryLike } from "./urls";


type Problem = { key: string; problem: string; fix: string; code?: DerivationError["code"] };

function fail(object: string, p: Problem): never {
    throw new DerivationError({ object, key: p.key, code: p.code ?? "invalid-option", problem: p.problem, fix: p.fix });
}

function isRecord(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkRef(object: string, which: "source" | "target", v: unknown): SecretRef {
    if (!isRecord(v)) fail(object, { key: which, problem: `${which} is not an object`, fix: `set ${which}: { namespace, name }`, code: "invalid-recipe" });
    const { namespace, name } = v;
    if (!isDnsLabel(namespace)) {
        fail(object, { key: `${which}.namespace`, problem: "not a valid namespace name", fix: "use a DNS-1123 label (lower-case letters, digits, '-')", code: "invalid-recipe" });
    }
    if (!isDnsSubdomain(name)) {
        fail(object, { key: `${which}.name`, problem: "not a valid secret name", fix: "use a DNS-1123 subdomain (lower-case letters, digits, '-', '.')", code: "invalid-recipe" });
    }
    return { namespace, name };
}

function optString(object: string, o: Record<string, unknown>, key: string, required: boolean): string | undefined {
    const v = o[key];
    if (v === undefined) {
        if (required) fail(object, { key: `options.${key}`, problem: "the option is missing", fix: `set options.${key}` });
        return undefined;
    }
    if (typeof v !== "string" || v === "") fail(object, { key: `options.${key}`, problem: "the option must be a non-empty string", fix: `set options.${key} to a string` });
    return v;
}

function optBool(object: string, o: Record<string, unknown>, key: string): boolean | undefined {
    const v = o[key];
    if (v !== undefined && typeof v !== "boolean") fail(object, { key: `options.${key}`, problem: "the option must be a boolean", fix: `set options.${key} to true or false` });
    return v;
}

function optEnum<T extends string>(object: string, o: Record<string, unknown>, key: string, values: readonly T[], required: boolean): T | undefined {
    const v = o[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
        fail(object, { key: `options.${key}`, problem: "the option is missing or not one of the accepted values", fix: `set options.${key} to one of ${values.join(", ")}` });
    }
    return v as T;
}

function rejectUnknown(object: string, o: Record<string, unknown>, known: readonly string[]): void {
    for (const k of Object.keys(o)) {
        if (!known.includes(k)) fail(object, { key: `options.${k}`, problem: "unknown option", fix: `remove it; accepted options are ${known.length ? known.join(", ") : "none"}` });
    }
}

function urlFail(object: string, key: string, e: unknown, fix: string): never {
    if (e instanceof UrlProblem) fail(object, { key, problem: e.problem, fix, code: e.code });
    throw e;
}

function tektonOptions(object: string, o: Record<string, unknown>): TektonGitOptions {
    rejectUnknown(object, o, ["gitUrls"]);
    const urls = o.gitUrls;
    if (!Array.isArray(urls) || urls.length === 0) {
        fail(object, { key: "options.gitUrls", problem: "at least one git URL is required", fix: "set options.gitUrls, e.g. [\"https://github.com/org/repo\"]" });
    }
    const canonical: string[] = [];
    urls.forEach((u, i) => {
        let c: string;
        try {
            c = parseGitHost(u as string).canonicalUrl;
        } catch (e) {
            urlFail(object, `options.gitUrls[${i}]`, e, "use https://host/org/repo or git@host:org/repo.git");
        }
        // Tekton matches by host: two URLs on one host are one annotation; keep first-seen order.
        if (!canonical.includes(c)) canonical.push(c);
    });
    return { gitUrls: canonical };
}

function dockerOptions(object: string, o: Record<string, unknown>): DockerOptions {
    rejectUnknown(object, o, ["registry", "tektonAnnotation"]);
    const registry = optString(object, o, "registry", true) as string;
    try {
        parseRegistryLike(registry);
    } catch (e) {
        urlFail(object, "options.registry", e, "use host[:port] such as ghcr.io or registry.example.com:5000, without credentials");
    }
    const tektonAnnotation = optBool(object, o, "tektonAnnotation") ?? false;
    return { registry, tektonAnnotation };
}

function kargoOptions(object: string, o: Record<string, unknown>): KargoOptions {
    rejectUnknown(object, o, ["credType", "repoURL", "repoURLIsRegex"]);
    const credType = optEnum(object, o, "credType", ["git", "image", "helm"] as const, true)!;
    const repoURL = optString(object, o, "repoURL", true) as string;
    const repoURLIsRegex = optBool(object, o, "repoURLIsRegex") ?? false;
    if (repoURLIsRegex) {
        try {
            new RegExp(repoURL);
        } catch {
            fail(object, { key: "options.repoURL", problem: "not a valid regular expression", fix: "fix the pattern or set repoURLIsRegex: false" });
        }
        if (/\/\/[^/]*:[^/@]*@/.test(repoURL)) fail(object, { key: "options.repoURL", problem: "the pattern embeds credentials", fix: "remove them; credentials belong in the source secret", code: "credentials-in-url" });
    } else {
        const allowed = credType === "git" ? (["http", "ssh"] as const) : credType === "image" ? (["image"] as const) : (["http", "oci"] as const);
        try {
            checkRepoUrl(repoURL, allowed);
        } catch (e) {
            urlFail(object, "options.repoURL", e, "use a plain repository URL without credentials (credentials belong in the source secret)");
        }
    }
    return { credType, repoURL, repoURLIsRegex };
}

function argoOptions(object: string, o: Record<string, unknown>): ArgoCdOptions {
    rejectUnknown(object, o, ["secretType", "url", "type", "name", "project", "githubAppEnterpriseBaseUrl"]);
    const secretType = optEnum(object, o, "secretType", ["repository", "repo-creds"] as const, true)!;
    const url = optString(object, o, "url", true) as string;
    const type = optEnum(object, o, "type", ["git", "helm"] as const, false) ?? "git";
    try {
        checkRepoUrl(url, type === "git" ? ["http", "ssh"] : ["http", "oci"]);
    } catch (e) {
        urlFail(object, "options.url", e, "use a plain repository URL without credentials (credentials belong in the source secret)");
    }
    const out: ArgoCdOptions = { secretType, url, type };
    const name = optString(object, o, "name", false);
    const project = optString(object, o, "project", false);
    const ghe = optString(object, o, "githubAppEnterpriseBaseUrl", false);
    if (name !== undefined) out.name = name;
    if (project !== undefined) out.project = project;
    if (ghe !== undefined) {
        try {
            checkRepoUrl(ghe, ["http"]);
        } catch (e) {
            urlFail(object, "options.githubAppEnterpriseBaseUrl", e, "use the API base URL, e.g. https://ghe.example.com/api/v3");
        }
        out.githubAppEnterpriseBaseUrl = ghe;
    }
    return out;
}

/**
 * Validates an untyped recipe (Pulumi inputs, annotations) and returns it with normalized options: defaults
 * applied, tekton URLs reduced to their hosts. Deriving from the normalized recipe gives the same secret.
 */
export function validateRecipe(input: unknown): Recipe {
    if (!isRecord(input)) throw new DerivationError({ object: "<recipe>", code: "invalid-recipe", problem: "the recipe is not an object", fix: "pass { format, source, target, options }" });
    const target = checkRef(objectKey(isRecord(input.target) ? input.target : {}), "target", input.target);
    const object = objectKey(target);
    const source = checkRef(object, "source", input.source);
    if (source.namespace === target.namespace && source.name === target.name) {
        fail(object, { key: "target", problem: "the target is the source itself", fix: "choose another target name or namespace", code: "invalid-recipe" });
    }
    const format = input.format;
    if (typeof format !== "string" || !(FORMATS as readonly string[]).includes(format)) {
        fail(object, { key: "format", problem: "unknown format", fix: `use one of ${FORMATS.join(", ")}`, code: "invalid-recipe" });
    }
    const rawOptions = input.options ?? {};
    if (!isRecord(rawOptions)) fail(object, { key: "options", problem: "options must be an object", fix: "pass options as an object" });
    const f = format as Format;
    switch (f) {
        case "tekton-git":
            return { format: f, source, target, options: tektonOptions(object, rawOptions) };
        case "docker":
            return { format: f, source, target, options: dockerOptions(object, rawOptions) };
        case "kargo":
            return { format: f, source, target, options: kargoOptions(object, rawOptions) };
        case "argocd":
            return { format: f, source, target, options: argoOptions(object, rawOptions) };
        case "mirror":
            rejectUnknown(object, rawOptions, []);
            return { format: f, source, target, options: {} };
        default: {
            const never: never = f;
            throw new Error(`unreachable format ${String(never)}`);
        }
    }
}
