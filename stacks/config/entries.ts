import { isDnsLabel } from "../../derive";
import { parseLabelSelector } from "../../derive/fanout";
import { type FanOutGrant, HookSpec, parseHookList } from "../../reconciler/api";
import {
    Obj, asArray, asObject, bool, dnsLabel, dnsSubdomain, duration, fail, int, labelSelector, onlyFields, optStr, refreshPolicy, str, strList,
    vaultPath,
} from "./readers";
import type {
    CertManagerIssuerSpec, ClusterExternalSecretSpec, DockerRegistrySpec, EsoGeneratorSpec, ExternalSecretSpec,
    GitHubAppName, GitHubAppSpec, GitHubAppsMode, PasswordConsumer, PasswordSpec, SecretDataRef,
} from "./types";
import { GITHUB_APP_NAMES } from "./types";

/** Parsers of one structured-config entry each: defaults applied, every problem a ConfigError naming the key. */
const DEFAULT_DOCKER_SELECTOR = [{ matchLabels: { "secrets/gh-docker-registry": "true" } }];

function dataRefs(o: Obj, path: string): SecretDataRef[] {
    const list = asArray(o.data, `${path}.data`);
    if (list.length === 0) fail(`${path}.data`, "is empty", "list at least one {secretKey, property}");
    return list.map((d, idx) => {
        const p = `${path}.data[${idx}]`;
        const dobj = asObject(d, p);
        onlyFields(dobj, p, ["secretKey", "property"]);
        return { secretKey: str(dobj, "secretKey", p), property: str(dobj, "property", p) };
    });
}

function selectors(o: Obj, f: string, path: string, def?: unknown[]): ReturnType<typeof labelSelector>[] {
    const list = asArray(o[f] ?? def, `${path}.${f}`);
    if (list.length === 0) fail(`${path}.${f}`, "is empty", "give at least one selector with matchLabels or matchExpressions");
    return list.map((x, idx) => labelSelector(x, `${path}.${f}[${idx}]`));
}

/**
 * Hooks are checked with the reconciler's own parser (the one that reads the policy ConfigMap), so a hook the
 * reconciler would reject fails preview. Defaults (the password's own Vault path, passwordKey) are applied later,
 * when the policy is built (stacks/policy.ts), because they depend on the password and the KV mount.
 */
function hooks(v: unknown, path: string): HookSpec[] {
    const list = asArray(v ?? [], path).map((h, idx) => asObject(h, `${path}[${idx}]`));
    try {
        return parseHookList(list, path);
    } catch (e) {
        const [problem, fix] = (e as Error).message.replace(`${path}: `, "").split("; fix: ");
        return fail(path, problem, fix ?? "write e.g. [{type: job-rerun, cronJob: bootstrap}]");
    }
}

/** One administrator fan-out grant (reconciler policy `fanOut`); namespace names and the selector are checked here. */
export function fanOutGrant(v: unknown, path: string): FanOutGrant {
    const o = asObject(v, path);
    onlyFields(o, path, ["sourceNamespace", "namespaces", "namespaceSelector"]);
    const sourceNamespace = dnsLabel(str(o, "sourceNamespace", path), `${path}.sourceNamespace`);
    const namespaces = o.namespaces === undefined ? undefined : strList(o, "namespaces", path).map((n, idx) => dnsLabel(n, `${path}.namespaces[${idx}]`));
    const namespaceSelector = optStr(o, "namespaceSelector", path);
    if (namespaceSelector !== undefined) {
        let ok = namespaceSelector.trim() !== "";
        try {
            if (ok) parseLabelSelector(namespaceSelector);
        } catch {
            ok = false;
        }
        // An empty selector would match every namespace: a grant must name whom it trusts.
        if (!ok) fail(`${path}.namespaceSelector`, "is not a non-empty label selector", 'write e.g. "team=a" or "env in (prod,staging)"');
    }
    if (!namespaces?.length && namespaceSelector === undefined) {
        fail(`${path}.namespaces`, "the grant allows no namespace", "list target namespaces under namespaces, and/or set namespaceSelector");
    }
    return { sourceNamespace, ...(namespaces?.length ? { namespaces } : {}), ...(namespaceSelector !== undefined ? { namespaceSelector } : {}) };
}

function consumer(v: unknown, path: string, pw: { name: string; vaultKey: string }, defInterval: string): PasswordConsumer {
    const o = asObject(v, path);
    onlyFields(o, path, ["namespace", "secretName", "secretKey", "refreshPolicy", "refreshInterval", "hooks"]);
    return {
        namespace: dnsLabel(str(o, "namespace", path), `${path}.namespace`),
        secretName: dnsSubdomain(str(o, "secretName", path, pw.name), `${path}.secretName`),
        secretKey: str(o, "secretKey", path, pw.vaultKey),
        refreshPolicy: refreshPolicy(o, "refreshPolicy", path, "Periodic"),
        refreshInterval: duration(str(o, "refreshInterval", path, defInterval), `${path}.refreshInterval`),
        hooks: hooks(o.hooks, `${path}.hooks`),
    };
}

const PASSWORD_FIELDS = ["name", "length", "special", "upper", "lower", "numeric", "minSpecial", "minUpper", "minLower", "minNumeric", "overrideSpecial", "vaultPath", "vaultKey", "rotation", "consumers"];

export function password(v: unknown, path: string, defInterval: string): PasswordSpec {
    const o = asObject(v, path);
    onlyFields(o, path, PASSWORD_FIELDS);
    const name = dnsSubdomain(str(o, "name", path), `${path}.name`);
    const vaultKey = str(o, "vaultKey", path, "password");
    const p: PasswordSpec = {
        name,
        length: int(o, "length", path, 32, 1),
        special: bool(o, "special", path, false),
        upper: bool(o, "upper", path, true),
        lower: bool(o, "lower", path, true),
        numeric: bool(o, "numeric", path, true),
        minSpecial: int(o, "minSpecial", path, 0),
        minUpper: int(o, "minUpper", path, 0),
        minLower: int(o, "minLower", path, 0),
        minNumeric: int(o, "minNumeric", path, 0),
        overrideSpecial: optStr(o, "overrideSpecial", path),
        vaultPath: vaultPath(str(o, "vaultPath", path, name), `${path}.vaultPath`),
        vaultKey,
        rotation: int(o, "rotation", path, 0),
        consumers: asArray(o.consumers ?? [], `${path}.consumers`).map((c, idx) => consumer(c, `${path}.consumers[${idx}]`, { name, vaultKey }, defInterval)),
    };
    if (!p.special && !p.upper && !p.lower && !p.numeric) fail(`${path}.lower`, "every character class is disabled", "enable at least one of special, upper, lower, numeric");
    const mins = p.minSpecial + p.minUpper + p.minLower + p.minNumeric;
    if (mins > p.length) fail(`${path}.length`, `the min* counts add up to ${mins}, more than length ${p.length}`, "raise length or lower the min* counts");
    return p;
}

export function externalSecret(v: unknown, path: string, defInterval: string): ExternalSecretSpec {
    const o = asObject(v, path);
    onlyFields(o, path, ["name", "namespace", "vaultPath", "data", "refreshPolicy", "refreshInterval", "secretType"]);
    return {
        name: dnsSubdomain(str(o, "name", path), `${path}.name`),
        namespace: dnsLabel(str(o, "namespace", path), `${path}.namespace`),
        vaultPath: vaultPath(str(o, "vaultPath", path), `${path}.vaultPath`),
        data: dataRefs(o, path),
        refreshPolicy: refreshPolicy(o, "refreshPolicy", path, "Periodic"),
        refreshInterval: duration(str(o, "refreshInterval", path, defInterval), `${path}.refreshInterval`),
        secretType: str(o, "secretType", path, "Opaque"),
    };
}

export function clusterExternalSecret(v: unknown, path: string, defInterval: string): ClusterExternalSecretSpec {
    const o = asObject(v, path);
    onlyFields(o, path, ["name", "namespaceSelectors", "vaultPath", "secretName", "data", "refreshPolicy", "refreshInterval", "secretType"]);
    const name = dnsSubdomain(str(o, "name", path), `${path}.name`);
    return {
        name,
        namespaceSelectors: selectors(o, "namespaceSelectors", path),
        vaultPath: vaultPath(str(o, "vaultPath", path), `${path}.vaultPath`),
        secretName: dnsSubdomain(str(o, "secretName", path, name), `${path}.secretName`),
        data: dataRefs(o, path),
        refreshPolicy: refreshPolicy(o, "refreshPolicy", path, "Periodic"),
        refreshInterval: duration(str(o, "refreshInterval", path, defInterval), `${path}.refreshInterval`),
        secretType: str(o, "secretType", path, "Opaque"),
    };
}

export function dockerRegistry(v: unknown, path: string, defInterval: string): DockerRegistrySpec {
    const o = asObject(v, path);
    onlyFields(o, path, ["name", "server", "vaultPath", "usernameProperty", "passwordProperty", "secretName", "namespaceSelectors", "refreshInterval", "kargo"]);
    const name = dnsSubdomain(str(o, "name", path), `${path}.name`);
    const r: DockerRegistrySpec = {
        name,
        server: str(o, "server", path),
        vaultPath: vaultPath(str(o, "vaultPath", path), `${path}.vaultPath`),
        usernameProperty: str(o, "usernameProperty", path, "username"),
        passwordProperty: str(o, "passwordProperty", path, "password"),
        secretName: dnsSubdomain(str(o, "secretName", path, name), `${path}.secretName`),
        namespaceSelectors: selectors(o, "namespaceSelectors", path, DEFAULT_DOCKER_SELECTOR),
        refreshInterval: duration(str(o, "refreshInterval", path, defInterval), `${path}.refreshInterval`),
    };
    if (!/^[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._/-]+)?$/.test(r.server)) fail(`${path}.server`, `"${r.server}" is not a registry host`, 'write the host as in image names, e.g. "ghcr.io"');
    if (o.kargo !== undefined) {
        const kp = `${path}.kargo`;
        const k = asObject(o.kargo, kp);
        onlyFields(k, kp, ["name", "secretName", "namespaceSelectors", "repoURL", "repoURLIsRegex"]);
        const kname = dnsSubdomain(str(k, "name", kp, `kargo-${name}`), `${kp}.name`);
        r.kargo = {
            name: kname,
            secretName: dnsSubdomain(str(k, "secretName", kp, kname), `${kp}.secretName`),
            namespaceSelectors: selectors(k, "namespaceSelectors", kp),
            // Default: every image under the registry, as a regular expression Kargo matches against image names.
            repoURL: str(k, "repoURL", kp, `^${r.server.replace(/[.]/g, "\\.")}/`),
            repoURLIsRegex: bool(k, "repoURLIsRegex", kp, k.repoURL === undefined),
        };
    }
    return r;
}

export function githubApp(v: unknown, path: string, prefix: string, mode: GitHubAppsMode, hasToken: boolean): GitHubAppSpec {
    const o = asObject(v, path);
    onlyFields(o, path, ["name", "vaultPath", "secretName", "serviceAccount", "syncInstallationId", "appId", "installationId", "repositories"]);
    // Free-form (a team's own app), but it names Kubernetes objects (github-app-<name>): a DNS-1123 label.
    const name = str(o, "name", path);
    if (!isDnsLabel(name, 52)) {
        fail(`${path}.name`, `"${name}" is not a DNS-1123 label of at most 52 characters (it names the Secret and ServiceAccount github-app-<name>)`, `use lower-case letters, digits and '-', e.g. ${GITHUB_APP_NAMES.join(", ")} (the seeds' apps)`);
    }
    const id = (f: string) => {
        const x = o[f] === undefined ? undefined : typeof o[f] === "number" ? String(o[f]) : str(o, f, path);
        if (x !== undefined && !/^\d+$/.test(x)) fail(`${path}.${f}`, "must be a numeric GitHub id", `copy ${f} from the app's settings page`);
        return x;
    };
    const app: GitHubAppSpec = {
        name: name as GitHubAppName,
        vaultPath: vaultPath(str(o, "vaultPath", path, `${prefix}/${name}`), `${path}.vaultPath`),
        secretName: dnsSubdomain(str(o, "secretName", path, `github-app-${name}`), `${path}.secretName`),
        serviceAccount: dnsSubdomain(str(o, "serviceAccount", path, `github-app-${name}`), `${path}.serviceAccount`),
        syncInstallationId: bool(o, "syncInstallationId", path, false),
        appId: id("appId"),
        installationId: id("installationId"),
        repositories: strList(o, "repositories", path),
    };
    if (mode === "generator" && (!app.appId || !app.installationId)) {
        fail(`${path}.${app.appId ? "installationId" : "appId"}`, "is required when githubAppsMode is generator (GithubAccessToken takes literal ids)", "set appId and installationId, or use githubAppsMode: externalSecret");
    }
    if (hasToken && app.repositories.length > 0 && !app.installationId) {
        fail(`${path}.installationId`, "is required to declare the installation's repositories", "set installationId, or remove repositories");
    }
    return app;
}

export function esoGenerator(v: unknown, path: string): EsoGeneratorSpec {
    const o = asObject(v, path);
    onlyFields(o, path, ["name", "namespace", "kind", "spec", "target"]);
    const tp = `${path}.target`;
    const t = asObject(o.target, tp);
    onlyFields(t, tp, ["secretName", "refreshPolicy", "refreshInterval"]);
    return {
        name: dnsSubdomain(str(o, "name", path), `${path}.name`),
        namespace: dnsLabel(str(o, "namespace", path), `${path}.namespace`),
        kind: str(o, "kind", path),
        spec: asObject(o.spec ?? {}, `${path}.spec`),
        target: {
            secretName: dnsSubdomain(str(t, "secretName", tp), `${tp}.secretName`),
            refreshPolicy: t.refreshPolicy === undefined ? undefined : refreshPolicy(t, "refreshPolicy", tp, "Periodic"),
            refreshInterval: t.refreshInterval === undefined ? undefined : duration(str(t, "refreshInterval", tp), `${tp}.refreshInterval`),
        },
    };
}

export function issuer(v: unknown, path: string): CertManagerIssuerSpec {
    const o = asObject(v, path);
    onlyFields(o, path, ["name", "kind", "namespace", "spec"]);
    const kind = str(o, "kind", path, "ClusterIssuer");
    if (kind !== "ClusterIssuer" && kind !== "Issuer") fail(`${path}.kind`, `"${kind}" is not a cert-manager issuer kind`, "use ClusterIssuer or Issuer");
    const ns = optStr(o, "namespace", path);
    if (kind === "Issuer" && !ns) fail(`${path}.namespace`, "is required for an Issuer", "set namespace, or use kind: ClusterIssuer");
    if (kind === "ClusterIssuer" && ns) fail(`${path}.namespace`, "must not be set on a ClusterIssuer (cluster-scoped)", "remove namespace, or use kind: Issuer");
    return { name: dnsSubdomain(str(o, "name", path), `${path}.name`), kind, namespace: ns && dnsLabel(ns, `${path}.namespace`), spec: asObject(o.spec, `${path}.spec`) };
}
