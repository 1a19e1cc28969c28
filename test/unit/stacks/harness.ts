import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";

/**
 * Shared Pulumi mocks for the stacks tests: loads a Pulumi.<stack>.yaml, applies overrides, installs mocks + config
 * BEFORE the program is required, then requires index.ts fresh and waits until every resource is registered.
 */
export const ROOT = path.resolve(__dirname, "../../..");
const NS = "platform-secrets";

export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    state: Record<string, any>;
    /** What the RegisterResource request carried beyond inputs (the mocks API does not pass it on). */
    meta: RegisterMeta;
}

export interface RegisterMeta {
    urn?: string;
    /** URNs of the resources this one depends on (dependsOn and input dependencies). */
    dependencies: string[];
    retainOnDelete?: boolean;
}

export interface StackRun {
    resources: Registered[];
    /** index.ts exports, resolved. */
    exports: Record<string, unknown>;
    /** The program module (index.ts). */
    module: Record<string, unknown>;
}

/** Short keys → values as written in the stack file (objects kept structured). */
export function loadStackFile(stack: string): Record<string, unknown> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc.config)) {
        if (!k.startsWith(`${NS}:`)) throw new Error(`Pulumi.${stack}.yaml: key ${k} is outside the ${NS} namespace`);
        out[k.slice(NS.length + 1)] = v;
    }
    return out;
}

/** What Pulumi hands the program: every value a string, structured ones as JSON. */
export function toRawConfig(cfg: Record<string, unknown>): Record<string, string> {
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg)) if (v !== undefined) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
    return raw;
}

/**
 * A deterministic fake of RandomPassword: the result is a hash of every input (keepers included), so the same
 * inputs give the same value and a bumped rotation counter gives a new one, like the real provider's replace.
 */
export function fakePassword(name: string, inputs: Record<string, any>): string {
    const h = createHash("sha256").update(JSON.stringify({ name, inputs: sortKeys(inputs) })).digest("base64url");
    return h.repeat(4).slice(0, Number(inputs.length ?? 16));
}

function sortKeys(v: any): any {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
    return v;
}

const mocks = (resources: Registered[], metas: Map<string, RegisterMeta>): pulumi.runtime.Mocks => ({
    newResource(args) {
        let state: Record<string, any> = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") state = { ...state, result: fakePassword(args.name, args.inputs) };
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, state, meta: metas.get(`${args.type}::${args.name}`) ?? { dependencies: [] } });
        return { id: `${args.name}-id`, state };
    },
    call(args) {
        return args.inputs;
    },
});

function clearProgramCache(): void {
    for (const k of Object.keys(require.cache)) {
        const rel = path.relative(ROOT, k);
        if (rel === "index.ts" || rel.startsWith(`stacks${path.sep}`)) delete require.cache[k];
    }
}

async function settle(resources: Registered[]): Promise<void> {
    let last = -1;
    let stable = 0;
    while (stable < 5) {
        await new Promise((r) => setTimeout(r, 10));
        if (resources.length === last) stable++;
        else {
            stable = 0;
            last = resources.length;
        }
    }
}

export interface RunOptions {
    /** Short key → value; `undefined` removes the key from the stack file. */
    overrides?: Record<string, unknown>;
    /** Secret config values (short key → value), e.g. githubToken. */
    secrets?: Record<string, string>;
    stackName?: string;
}

async function install(stack: string | Record<string, unknown>, opts: RunOptions, resources: Registered[]): Promise<void> {
    // A config object gets what every stack must set; no Vault here, so the ownership check (stacks/ownership.ts,
    // tested on its own and against the real Vault) is off unless a test turns it on.
    const base = typeof stack === "string" ? loadStackFile(stack) : { environment: "test", vaultAddress: "https://vault.example:8200", reconcilerImage: "registry.example/platform-secrets/reconciler:1", ...stack };
    if (base.vaultOwnershipCheck === undefined) base.vaultOwnershipCheck = false;
    for (const [k, v] of Object.entries(opts.overrides ?? {})) {
        if (v === undefined) delete base[k];
        else base[k] = v;
    }
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(toRawConfig(base))) all[`${NS}:${k}`] = v;
    for (const [k, v] of Object.entries(opts.secrets ?? {})) all[`${NS}:${k}`] = v;
    const metas = new Map<string, RegisterMeta>();
    await pulumi.runtime.setMocks(mocks(resources, metas), NS, opts.stackName ?? (typeof stack === "string" ? stack : "test"), false);
    // The mock monitor hands newResource only type, name and inputs: record dependencies and retainOnDelete from
    // the request itself, and the URN from the response.
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
        const meta: RegisterMeta = { dependencies: req.getDependenciesList(), ...(req.hasRetainondelete?.() ? { retainOnDelete: req.getRetainondelete() } : {}) };
        metas.set(`${req.getType()}::${req.getName()}`, meta);
        return register(req, (err: unknown, resp: any) => {
            if (resp) meta.urn = resp.getUrn();
            callback(err, resp);
        });
    };
    pulumi.runtime.setAllConfig(all, Object.keys(opts.secrets ?? {}).map((k) => `${NS}:${k}`));
    clearProgramCache();
}

export interface BuildRun {
    resources: Registered[];
    /** The fresh stacks module the platform was built with. */
    stacks: typeof import("../../../stacks");
    platform: import("../../../stacks").Platform;
}

/** Like runStack, but calls loadStackConfig + buildPlatform from a fresh stacks module and returns the components. */
export async function runBuild(stack: string | Record<string, unknown>, opts: RunOptions = {}): Promise<BuildRun> {
    const resources: Registered[] = [];
    await install(stack, opts, resources);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const stacks = require(path.join(ROOT, "stacks")) as typeof import("../../../stacks");
    const platform = stacks.buildPlatform(stacks.loadStackConfig());
    await settle(resources);
    return { resources, stacks, platform };
}

/** Runs index.ts against the mocks with the given stack file (or a config object). Throws what the program throws. */
export async function runStack(stack: string | Record<string, unknown>, opts: RunOptions = {}): Promise<StackRun> {
    const resources: Registered[] = [];
    await install(stack, opts, resources);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(ROOT, "index.ts")) as Record<string, unknown>;
    await settle(resources);
    const resolved: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(mod)) resolved[k] = await outputValue(v);
    await settle(resources);
    return { resources, exports: resolved, module: mod };
}

/** Resolves an Output (or plain value) in the mocks runtime. */
export function outputValue<T>(v: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(v).apply((x) => resolve(x as T)));
}

/** Is this Output marked secret? */
export async function isSecret(o: pulumi.Output<unknown>): Promise<boolean> {
    return (await (o as any).isSecret) as boolean;
}

/** `type::name` of every registered resource, sorted (what "the expected resources and no others" compares). */
export function inventory(run: StackRun): string[] {
    return run.resources.map((r) => `${r.type}::${r.name}`).sort();
}

export function ofType(run: StackRun, type: string): Registered[] {
    return run.resources.filter((r) => r.type === type);
}

export const T = {
    randomPassword: "random:index/randomPassword:RandomPassword",
    passwordGuard: "pulumi-nodejs:dynamic/platform-secrets:PasswordPolicyGuard",
    secretV2: "vault:kv/secretV2:SecretV2",
    externalSecret: "kubernetes:external-secrets.io/v1:ExternalSecret",
    clusterExternalSecret: "kubernetes:external-secrets.io/v1:ClusterExternalSecret",
    clusterSecretStore: "kubernetes:external-secrets.io/v1:ClusterSecretStore",
    githubAccessToken: "kubernetes:generators.external-secrets.io/v1alpha1:GithubAccessToken",
    passwordGenerator: "kubernetes:generators.external-secrets.io/v1alpha1:Password",
    role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
    roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    serviceAccount: "kubernetes:core/v1:ServiceAccount",
    appInstallationRepositories: "github:index/appInstallationRepositories:AppInstallationRepositories",
    deploymentSettings: "pulumiservice:index:DeploymentSettings",
    driftSchedule: "pulumiservice:index:DriftSchedule",
} as const;
