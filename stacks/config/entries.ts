import { isDnsLabel } from "../../derive";
import { parseLabelSelector } from "../../derive/fanout";
import { type FanOutGrant, HookSpec, parseHookList } from "../../reconciler/api";
import { closedObject, FIX_SEPARATOR, withFix, z } from "../../lib/schema";
import {
    asArray, asObject, boolSchema, dnsLabelSchema, dnsSubdomain, dnsSubdomainSchema, durationSchema, fail, intSchema, labelSelectorSchema, listOf,
    objectSchema, optString, parseAt, refreshPolicySchema, stringSchema, strListSchema, vaultPath, vaultPathSchema,
} from "./readers";
import type {
    CertManagerIssuerSpec, ClusterExternalSecretSpec, DockerRegistrySpec, EsoGeneratorSpec, ExternalSecretSpec,
    GitHubAppName, GitHubAppSpec, GitHubAppsMode, PasswordConsumer, PasswordSpec,
} from "./types";
import { GITHUB_APP_NAMES } from "./types";

/**
 * One structured-config entry each: a zod schema (field set, types, constant defaults, names, durations, paths;
 * lib/schema.ts), then what depends on other fields or on the stack (defaults like secretName = name, cross-field
 * rules). Every problem is a ConfigError naming the key and the fix.
 */
const DEFAULT_DOCKER_SELECTOR = [{ matchLabels: { "secrets/gh-docker-registry": "true" } }];
const MAPPING = withFix("must be an object", "write it as a YAML mapping");
const entry = <S extends z.core.$ZodLooseShape>(shape: S) => closedObject(shape, MAPPING);
const required = z.preprocess((v) => (v === null ? undefined : v), stringSchema);

const dataRefsSchema = listOf(entry({ secretKey: required, property: required })).min(1, { error: withFix("is empty", "list at least one {secretKey, property}") });

const selectorsSchema = (def?: unknown[]) =>
    z.preprocess((v) => v ?? def, listOf(labelSelectorSchema).min(1, { error: withFix("is empty", "give at least one selector with matchLabels or matchExpressions") }));

/**
 * Hooks are checked with the reconciler's own schema (the one that reads the policy ConfigMap), so a hook the
 * reconciler would reject fails preview. Defaults (the password's own Vault path, passwordKey) are applied later,
 * when the policy is built (stacks/policy.ts), because they depend on the password and the KV mount.
 */
function hooks(v: unknown, path: string): HookSpec[] {
    const list = asArray(v ?? [], path).map((h, idx) => asObject(h, `${path}[${idx}]`));
    try {
        return parseHookList(list, path);
    } catch (e) {
        const [problem, fix] = (e as Error).message.replace(`${path}: `, "").split(FIX_SEPARATOR);
        return fail(path, problem, fix ?? "write e.g. [{type: job-rerun, cronJob: bootstrap}]");
    }
}

const grantSchema = entry({
    sourceNamespace: dnsLabelSchema,
    namespaces: listOf(dnsLabelSchema).optional(),
    namespaceSelector: stringSchema
        .refine((sel) => {
            if (sel.trim() === "") return false;
            try {
                parseLabelSelector(sel);
                return true;
            } catch {
                return false;
            }
        }, { error: withFix("is not a non-empty label selector", 'write e.g. "team=a" or "env in (prod,staging)"') })
        .optional(),
});

/** One administrator fan-out grant (reconciler policy `fanOut`); namespace names and the selector are checked here. */
export function fanOutGrant(v: unknown, path: string): FanOutGrant {
    const { sourceNamespace, namespaces, namespaceSelector } = parseAt(grantSchema, v, path);
    // An empty selector would match every namespace: a grant must name whom it trusts.
    if (!namespaces?.length && namespaceSelector === undefined) {
        fail(`${path}.namespaces`, "the grant allows no namespace", "list target namespaces under namespaces, and/or set namespaceSelector");
    }
    return { sourceNamespace, ...(namespaces?.length ? { namespaces } : {}), ...(namespaceSelector !== undefined ? { namespaceSelector } : {}) };
}

const consumerSchema = entry({
    namespace: dnsLabelSchema,
    secretName: dnsSubdomainSchema.optional(),
    secretKey: stringSchema.optional(),
    refreshPolicy: z.preprocess((v) => v ?? undefined, refreshPolicySchema.default("Periodic")),
    refreshInterval: durationSchema.optional(),
    hooks: z.unknown().optional(),
});

function consumer(v: unknown, path: string, pw: { name: string; vaultKey: string }, defInterval: string): PasswordConsumer {
    const c = parseAt(consumerSchema, v, path);
    return {
        namespace: c.namespace,
        secretName: c.secretName ?? pw.name,
        secretKey: c.secretKey ?? pw.vaultKey,
        refreshPolicy: c.refreshPolicy,
        refreshInterval: c.refreshInterval ?? defInterval,
        hooks: hooks(c.hooks, `${path}.hooks`),
    };
}

const passwordSchema = entry({
    name: dnsSubdomainSchema,
    length: intSchema("length", 32, 1),
    special: boolSchema("special", false),
    upper: boolSchema("upper", true),
    lower: boolSchema("lower", true),
    numeric: boolSchema("numeric", true),
    minSpecial: intSchema("minSpecial", 0),
    minUpper: intSchema("minUpper", 0),
    minLower: intSchema("minLower", 0),
    minNumeric: intSchema("minNumeric", 0),
    overrideSpecial: stringSchema.optional(),
    vaultPath: vaultPathSchema.optional(),
    vaultKey: optString("password"),
    rotation: intSchema("rotation", 0),
    consumers: z.preprocess((v) => v ?? [], listOf(z.unknown())),
});

export function password(v: unknown, path: string, defInterval: string): PasswordSpec {
    const { consumers, ...o } = parseAt(passwordSchema, v, path);
    const p: PasswordSpec = {
        ...o,
        overrideSpecial: o.overrideSpecial,
        vaultPath: o.vaultPath ?? o.name,
        consumers: consumers.map((c, idx) => consumer(c, `${path}.consumers[${idx}]`, o, defInterval)),
    };
    if (!p.special && !p.upper && !p.lower && !p.numeric) fail(`${path}.lower`, "every character class is disabled", "enable at least one of special, upper, lower, numeric");
    const mins = p.minSpecial + p.minUpper + p.minLower + p.minNumeric;
    if (mins > p.length) fail(`${path}.length`, `the min* counts add up to ${mins}, more than length ${p.length}`, "raise length or lower the min* counts");
    if (o.vaultPath === undefined) vaultPath(p.vaultPath, `${path}.vaultPath`);
    return p;
}

const externalSecretSchema = entry({
    name: dnsSubdomainSchema,
    namespace: dnsLabelSchema,
    vaultPath: vaultPathSchema,
    data: dataRefsSchema,
    refreshPolicy: z.preprocess((v) => v ?? undefined, refreshPolicySchema.default("Periodic")),
    refreshInterval: durationSchema.optional(),
    secretType: optString("Opaque"),
});

export function externalSecret(v: unknown, path: string, defInterval: string): ExternalSecretSpec {
    const o = parseAt(externalSecretSchema, v, path);
    return { ...o, refreshInterval: o.refreshInterval ?? defInterval };
}

const clusterExternalSecretSchema = entry({
    name: dnsSubdomainSchema,
    namespaceSelectors: selectorsSchema(),
    vaultPath: vaultPathSchema,
    secretName: dnsSubdomainSchema.optional(),
    data: dataRefsSchema,
    refreshPolicy: z.preprocess((v) => v ?? undefined, refreshPolicySchema.default("Periodic")),
    refreshInterval: durationSchema.optional(),
    secretType: optString("Opaque"),
});

export function clusterExternalSecret(v: unknown, path: string, defInterval: string): ClusterExternalSecretSpec {
    const o = parseAt(clusterExternalSecretSchema, v, path);
    return {
        name: o.name,
        namespaceSelectors: o.namespaceSelectors,
        vaultPath: o.vaultPath,
        secretName: o.secretName ?? o.name,
        data: o.data,
        refreshPolicy: o.refreshPolicy,
        refreshInterval: o.refreshInterval ?? defInterval,
        secretType: o.secretType,
    };
}

const REGISTRY_HOST = /^[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._/-]+)?$/;

const dockerRegistrySchema = entry({
    name: dnsSubdomainSchema,
    server: required.check((ctx) => {
        if (!REGISTRY_HOST.test(ctx.value)) ctx.issues.push({ code: "custom", message: withFix(`"${ctx.value}" is not a registry host`, 'write the host as in image names, e.g. "ghcr.io"'), input: ctx.value });
    }),
    vaultPath: vaultPathSchema,
    usernameProperty: optString("username"),
    passwordProperty: optString("password"),
    secretName: dnsSubdomainSchema.optional(),
    namespaceSelectors: selectorsSchema(DEFAULT_DOCKER_SELECTOR),
    refreshInterval: durationSchema.optional(),
    kargo: entry({
        name: dnsSubdomainSchema.optional(),
        secretName: dnsSubdomainSchema.optional(),
        namespaceSelectors: selectorsSchema(),
        repoURL: stringSchema.optional(),
        repoURLIsRegex: z.unknown().optional(),
    }).optional(),
});

export function dockerRegistry(v: unknown, path: string, defInterval: string): DockerRegistrySpec {
    const o = parseAt(dockerRegistrySchema, v, path);
    const r: DockerRegistrySpec = {
        name: o.name,
        server: o.server,
        vaultPath: o.vaultPath,
        usernameProperty: o.usernameProperty,
        passwordProperty: o.passwordProperty,
        secretName: o.secretName ?? o.name,
        namespaceSelectors: o.namespaceSelectors,
        refreshInterval: o.refreshInterval ?? defInterval,
    };
    if (o.kargo !== undefined) {
        const k = o.kargo;
        const kname = k.name ?? dnsSubdomain(`kargo-${o.name}`, `${path}.kargo.name`);
        r.kargo = {
            name: kname,
            secretName: k.secretName ?? kname,
            namespaceSelectors: k.namespaceSelectors,
            // Default: every image under the registry, as a regular expression Kargo matches against image names.
            repoURL: k.repoURL ?? `^${r.server.replace(/[.]/g, "\\.")}/`,
            repoURLIsRegex: parseAt(boolSchema("repoURLIsRegex", k.repoURL === undefined), k.repoURLIsRegex, `${path}.kargo.repoURLIsRegex`),
        };
    }
    return r;
}

const githubIdSchema = (f: string) =>
    z
        .preprocess((v) => (typeof v === "number" ? String(v) : v ?? undefined), stringSchema.regex(/^\d+$/, { error: withFix("must be a numeric GitHub id", `copy ${f} from the app's settings page`) }))
        .optional();

const githubAppSchema = entry({
    // Free-form (a team's own app), but it names Kubernetes objects (github-app-<name>): a DNS-1123 label.
    name: required.check((ctx) => {
        if (!isDnsLabel(ctx.value, 52)) {
            ctx.issues.push({
                code: "custom",
                input: ctx.value,
                message: withFix(`"${ctx.value}" is not a DNS-1123 label of at most 52 characters (it names the Secret and ServiceAccount github-app-<name>)`, `use lower-case letters, digits and '-', e.g. ${GITHUB_APP_NAMES.join(", ")} (the seeds' apps)`),
            });
        }
    }),
    vaultPath: vaultPathSchema.optional(),
    secretName: dnsSubdomainSchema.optional(),
    serviceAccount: dnsSubdomainSchema.optional(),
    syncInstallationId: boolSchema("syncInstallationId", false),
    appId: githubIdSchema("appId"),
    installationId: githubIdSchema("installationId"),
    repositories: strListSchema,
});

export function githubApp(v: unknown, path: string, prefix: string, mode: GitHubAppsMode, hasToken: boolean): GitHubAppSpec {
    const o = parseAt(githubAppSchema, v, path);
    const app: GitHubAppSpec = {
        name: o.name as GitHubAppName,
        vaultPath: o.vaultPath ?? vaultPath(`${prefix}/${o.name}`, `${path}.vaultPath`),
        secretName: o.secretName ?? `github-app-${o.name}`,
        serviceAccount: o.serviceAccount ?? `github-app-${o.name}`,
        syncInstallationId: o.syncInstallationId,
        appId: o.appId,
        installationId: o.installationId,
        repositories: o.repositories,
    };
    if (mode === "generator" && (!app.appId || !app.installationId)) {
        fail(`${path}.${app.appId ? "installationId" : "appId"}`, "is required when githubAppsMode is generator (GithubAccessToken takes literal ids)", "set appId and installationId, or use githubAppsMode: externalSecret");
    }
    if (hasToken && app.repositories.length > 0 && !app.installationId) {
        fail(`${path}.installationId`, "is required to declare the installation's repositories", "set installationId, or remove repositories");
    }
    return app;
}

const esoGeneratorSchema = entry({
    name: dnsSubdomainSchema,
    namespace: dnsLabelSchema,
    kind: required,
    spec: z.preprocess((v) => v ?? {}, objectSchema),
    target: entry({
        secretName: dnsSubdomainSchema,
        refreshPolicy: refreshPolicySchema.optional(),
        refreshInterval: durationSchema.optional(),
    }),
});

export function esoGenerator(v: unknown, path: string): EsoGeneratorSpec {
    const o = parseAt(esoGeneratorSchema, v, path);
    return { ...o, spec: o.spec as Record<string, unknown>, target: { secretName: o.target.secretName, refreshPolicy: o.target.refreshPolicy, refreshInterval: o.target.refreshInterval } };
}

const ISSUER_KINDS = ["ClusterIssuer", "Issuer"];

const issuerSchema = entry({
    name: dnsSubdomainSchema,
    kind: optString("ClusterIssuer").check((ctx) => {
        if (!ISSUER_KINDS.includes(ctx.value)) ctx.issues.push({ code: "custom", input: ctx.value, message: withFix(`"${ctx.value}" is not a cert-manager issuer kind`, "use ClusterIssuer or Issuer") });
    }),
    namespace: dnsLabelSchema.optional(),
    spec: objectSchema,
}).check((ctx) => {
    const { kind, namespace } = ctx.value;
    if (kind === "Issuer" && !namespace) ctx.issues.push({ code: "custom", path: ["namespace"], input: namespace, message: withFix("is required for an Issuer", "set namespace, or use kind: ClusterIssuer") });
    if (kind === "ClusterIssuer" && namespace) ctx.issues.push({ code: "custom", path: ["namespace"], input: namespace, message: withFix("must not be set on a ClusterIssuer (cluster-scoped)", "remove namespace, or use kind: Issuer") });
});

export function issuer(v: unknown, path: string): CertManagerIssuerSpec {
    const o = parseAt(issuerSchema, v, path);
    return { name: o.name, kind: o.kind as CertManagerIssuerSpec["kind"], namespace: o.namespace, spec: o.spec };
}
