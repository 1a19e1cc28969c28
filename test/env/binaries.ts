import { homedir } from "node:os";
import * as path from "node:path";
import { kubernetesStagingVersion, LocalReplaceResolver, requiredVersionResolver } from "./gomod";
import { goDiscoverForVault, PatchedModule, vaultSdkForRelease, vaultTrimmedForTests } from "./patches";
import { esoSpec } from "./eso-binary";

/**
 * The server binaries the test environment runs, pinned. Each is built once from its Go module with the
 * wrapper-module technique (see build.ts) and cached by name+version.
 *
 * Vault-API server: the issue asks for OpenBao, but this machine's Go module proxy answers 403 for every version
 * and commit of github.com/openbao/openbao (verified), so HashiCorp Vault is built instead (same HTTP API; the
 * code under test only speaks that API). Its go.mod replaces ./api, ./sdk and ./api/auth/* with local
 * directories; those are pointed at the published modules at the versions vault's own go.mod requires, except the
 * sdk, whose release-branch state was never published: it is sdk v0.21.0 with two API patches (patches.ts).
 */
export interface BinarySpec {
    /** Cache directory prefix, e.g. "kubernetes" → kubernetes-v1.34.4/. */
    name: string;
    module: string;
    version: string;
    /** Main packages and the binary file each becomes. All are built by ONE `go build` to share compile work. */
    outputs: { pkg: string; bin: string }[];
    ldflags: string[];
    tags: string[];
    resolveLocal: LocalReplaceResolver;
    /** Dependencies replaced by a patched local copy (see patches.ts for why Vault needs one). */
    patchedModules?: CopiedModule[];
}

/**
 * A module copied into the wrapper and replaced by that copy: patched (patches.ts) and/or with files generated into
 * it (`generate(copyDir)`, e.g. the gitignored `//go:embed` files of the Kubernetes provider, pulumi-binaries.ts).
 */
export interface CopiedModule extends PatchedModule {
    generate?: (dir: string) => Promise<void>;
}

export const KUBERNETES_VERSION = "v1.34.4";
export const ETCD_VERSION = "v3.6.8";
export const VAULT_VERSION = "v1.21.4";
/** The go-discover version Vault v1.21.4's go.mod requires (patched: patches.ts goDiscoverForVault). */
export const VAULT_GO_DISCOVER_VERSION = "v1.1.1-0.20250922102917-55e5010ad859";

function kubernetesLdflags(version: string): string[] {
    const m = /^v(\d+)\.(\d+)\.\d+$/.exec(version);
    if (!m) throw new Error(`Kubernetes version "${version}" is not of the form vX.Y.Z`);
    const [, major, minor] = m;
    // Without these, /version reports v0.0.0 and clients (and the controller-manager's discovery) read 0.0.
    const flags: string[] = [];
    for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
        flags.push(`-X ${pkg}.gitVersion=${version}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`);
        flags.push(`-X ${pkg}.gitTreeState=clean`);
    }
    return flags;
}

export function kubernetesSpec(version = KUBERNETES_VERSION): BinarySpec {
    const staging = kubernetesStagingVersion(version);
    return {
        name: "kubernetes",
        module: "k8s.io/kubernetes",
        version,
        outputs: [
            { pkg: "k8s.io/kubernetes/cmd/kube-apiserver", bin: "kube-apiserver" },
            { pkg: "k8s.io/kubernetes/cmd/kube-controller-manager", bin: "kube-controller-manager" },
        ],
        ldflags: ["-s", "-w", ...kubernetesLdflags(version)],
        tags: [],
        // Every staging module (k8s.io/api, k8s.io/client-go, ...) is required as v0.0.0 and replaced locally.
        resolveLocal: requiredVersionResolver((m) => (m.startsWith("k8s.io/") ? staging : undefined)),
    };
}

/**
 * The node side of the same module: kubelet and kube-scheduler. A separate spec (own cache dir) so adding it does not
 * invalidate the cached apiserver build; it shares GOCACHE, so only the packages the apiserver does not use compile.
 * Built only when an environment asks for a node (`startTestEnv({ node: true })`).
 */
export function kubernetesNodeSpec(version = KUBERNETES_VERSION): BinarySpec {
    const control = kubernetesSpec(version);
    return {
        ...control,
        name: "kubernetes-node",
        outputs: [
            { pkg: "k8s.io/kubernetes/cmd/kubelet", bin: "kubelet" },
            { pkg: "k8s.io/kubernetes/cmd/kube-scheduler", bin: "kube-scheduler" },
        ],
    };
}

export function etcdSpec(version = ETCD_VERSION): BinarySpec {
    return {
        // The `etcd` main package is go.etcd.io/etcd/server/v3 (server/main.go); the root module only ties the
        // repository's modules together.
        name: "etcd",
        module: "go.etcd.io/etcd/server/v3",
        version,
        outputs: [{ pkg: "go.etcd.io/etcd/server/v3", bin: "etcd" }],
        ldflags: ["-s", "-w"],
        tags: [],
        // ../api etc. → the sibling modules at the versions server/v3 requires; ./FORBIDDEN_DEPENDENCY is dropped.
        resolveLocal: requiredVersionResolver(),
    };
}

/**
 * Vault, trimmed to what the tests and the sandbox use (patches.ts, "Vault trimmed"): Vault's own `minimal` build tag
 * plus patches that put the Kubernetes auth method (and file storage) back and leave out the JWT/OIDC plugin, the
 * cloud auto-auth methods of agent/proxy, raft cloud auto-join (go-discover, also patched), Okta MFA and the cloud KMS
 * seals. Kept: `server -dev`, KV v2 at secret/, token, kubernetes, userpass, approle and cert auth, policies, sys/*,
 * file audit, and the CLI (`vault kv put`, `vault login`). Why: the full build compiled cloud SDKs for ~36 min cold
 * on 2 cores. The name differs from the full build's ("vault") so a full binary cached in <cache>/vault-v1.21.4 is
 * never taken for the trimmed one (and vice versa).
 */
export function vaultSpec(version = VAULT_VERSION): BinarySpec {
    return {
        name: "vault-trimmed",
        module: "github.com/hashicorp/vault",
        version,
        outputs: [{ pkg: "github.com/hashicorp/vault", bin: "vault" }],
        ldflags: ["-s", "-w"],
        // no `ui` tag: the web UI is not embedded; `minimal`: see above
        tags: ["minimal"],
        resolveLocal: requiredVersionResolver(),
        patchedModules: [vaultSdkForRelease("v0.21.0"), vaultTrimmedForTests(version), goDiscoverForVault(VAULT_GO_DISCOVER_VERSION)],
    };
}

export function allSpecs(): BinarySpec[] {
    return [etcdSpec(), kubernetesSpec(), vaultSpec(), esoSpec(), kubernetesNodeSpec()];
}

/** `${XDG_CACHE_HOME:-~/.cache}/platform-secrets/bin`. */
export function binCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
    const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(homedir(), ".cache");
    return path.join(base, "platform-secrets", "bin");
}

export function specDir(spec: BinarySpec, root = binCacheRoot()): string {
    return path.join(root, `${spec.name}-${spec.version}`);
}

export function binPath(spec: BinarySpec, bin: string, root = binCacheRoot()): string {
    if (!spec.outputs.some((o) => o.bin === bin)) {
        throw new Error(`binary "${bin}" is not built by ${spec.module}@${spec.version}; outputs: ${spec.outputs.map((o) => o.bin).join(", ")}`);
    }
    return path.join(specDir(spec, root), bin);
}
