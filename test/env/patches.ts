/**
 * Source patches for a dependency module that the wrapper build copies next to its go.mod and replaces locally.
 *
 * Why: Vault v1.21.4 is built in its repository against ./sdk on the release/1.21.x branch, which was never
 * tagged. The published sdk modules this machine's proxy serves do not match it (v0.20.0 and v0.21.0 lack a
 * backported RestorePolicy signature; v0.21.0 and later have a newer ActivationFunc signature), and the proxy
 * refuses pseudo-version queries for the release commit (403). So the wrapper uses sdk v0.21.0 — the version
 * Vault's go.mod requires — with the two API differences the release branch has, reconstructed below. Each patch
 * throws when its anchor is missing, so a version bump fails loudly instead of building something else.
 */
export interface SourcePatch {
    /** Path inside the module. */
    file: string;
    description: string;
    apply(text: string): string;
}

export interface PatchedModule {
    module: string;
    version: string;
    /** Directory under the wrapper module the patched copy goes to. */
    dir: string;
    patches: SourcePatch[];
}

function mustReplace(text: string, from: string | RegExp, to: string, what: string): string {
    const out = text.replace(from, to);
    if (out === text) throw new Error(`source patch "${what}": anchor ${String(from)} not found`);
    return out;
}

/** framework.Backend.ActivationFunc as Vault 1.21.x calls it: func(ctx, req) error. */
export function activationFuncTwoArgs(text: string): string {
    return mustReplace(
        text,
        "ActivationFunc func(context.Context, *logical.Request, string) error",
        "ActivationFunc func(context.Context, *logical.Request) error",
        "ActivationFunc two args",
    );
}

/** keysutil.LockManager.RestorePolicy returning the restored key name, as Vault 1.21.x's transit expects. */
export function restorePolicyReturnsName(text: string): string {
    const sig = "func (lm *LockManager) RestorePolicy(ctx context.Context, storage logical.Storage, name, backup string, force bool) error {";
    const start = text.indexOf(sig);
    if (start < 0) throw new Error('source patch "RestorePolicy returns name": signature not found');
    const end = text.indexOf("\n}\n", start);
    if (end < 0) throw new Error('source patch "RestorePolicy returns name": end of function not found');
    const body = text.slice(start + sig.length, end);
    if (/func\s*\(/.test(body)) throw new Error('source patch "RestorePolicy returns name": body has a closure; returns cannot be rewritten mechanically');
    const newBody = body.replace(/\breturn nil\b/g, "return name, nil").replace(/\breturn (?!name, nil)/g, 'return "", ');
    const newSig = sig.replace(") error {", ") (string, error) {");
    return text.slice(0, start) + newSig + newBody + text.slice(end);
}

/** The Vault sdk as of the v1.21.4 release branch (see the header comment). */
export function vaultSdkForRelease(version: string): PatchedModule {
    return {
        module: "github.com/hashicorp/vault/sdk",
        version,
        dir: "patched/vault-sdk",
        patches: [
            { file: "framework/backend.go", description: "ActivationFunc(ctx, req)", apply: activationFuncTwoArgs },
            { file: "helper/keysutil/lock_manager.go", description: "RestorePolicy returns the key name", apply: restorePolicyReturnsName },
        ],
    };
}

/*
 * Vault trimmed to what this project uses (binaries.ts vaultSpec builds it with `-tags minimal`).
 *
 * Why: a cold build of the full Vault binary took ~36 min on 2 cores (the largest part of the CI budget), almost all
 * of it compiling cloud SDKs the tests never touch (the Azure auth plugin alone drags in the 116 MB msgraph SDK).
 * Vault itself offers a `minimal` build tag (its Makefile's BUILD_MINIMAL: helper/builtinplugins/registry_min.go and
 * command/commands_min.go instead of the *_full.go files), which drops every add-on plugin, physical backend and
 * CLI login handler except the core ones. On top of that tag, these patches:
 *   - register the Kubernetes auth method again (reconciler/hooks/vault.ts logs in at auth/<mount>/login; the
 *     integration tests enable it and have it call TokenReview on the local apiserver) and the file storage backend;
 *   - drop the JWT/OIDC auth plugin (Google Workspace admin API) from the registry and the `oidc` CLI login handler;
 *   - drop the cloud auto-auth methods of `vault agent`/`vault proxy` (AWS, Azure, GCP, AliCloud, OCI, CF, Kerberos);
 *   - drop raft cloud auto-join: go-discover without its providers (a patch of that module) and without Vault's
 *     k8s provider (the only user of the client-go clientset);
 *   - stub Okta login MFA (the Okta SDK) and the cloud KMS seals (AWS, Azure, GCP, AliCloud, OCI KMS): they return
 *     an error saying they are not in this build.
 * Source compiled: 2,589 packages / 326 MB of Go before, 1,256 / 63 MB after; binary 365 MB → 69 MB.
 * Kept: `server -dev` (inmem storage; raft and file storage too), KV v2 (mounted at secret/ by dev mode), token,
 * kubernetes, userpass, approle and cert auth, pki, ssh, transit, database (framework only), policies, sys/mounts,
 * sys/auth, leases, file / socket / syslog audit, shamir / transit seals, and the CLI (`vault kv put/get`,
 * `vault login` with token, userpass or cert, `vault write`, `vault auth enable`).
 * Each patch throws when its anchor text is missing, so a Vault bump fails loudly instead of building something else.
 */

/** `lines` must each occur exactly once in `text` (a whole line, with its indentation); all are removed. */
export function removeLines(text: string, lines: string[], what: string): string {
    let out = text;
    for (const line of lines) {
        const full = `${line}\n`;
        const count = out.split(full).length - 1;
        if (count !== 1) throw new Error(`source patch "${what}": expected the line ${JSON.stringify(line)} exactly once, found ${count}`);
        const at = out.indexOf(full);
        if (at > 0 && out[at - 1] !== "\n") throw new Error(`source patch "${what}": ${JSON.stringify(line)} is not a whole line`);
        out = out.replace(full, "");
    }
    return out;
}

/** Go source with comments and string/rune literals blanked: what is left are identifiers and operators. */
export function goCodeOnly(text: string): string {
    return text.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"|`[^`]*`|'(?:[^'\\\n]|\\.)*'/g, " ");
}

/** True when the Go code (not comments or strings) uses `ident.`, i.e. a package with that name. */
export function usesPackage(text: string, ident: string): boolean {
    return new RegExp(`(?<![\\w.])${ident}\\.`).test(goCodeOnly(text));
}

/** Fails when `text` still uses a package whose import a patch removed. */
function assertUnused(text: string, idents: string[], what: string): void {
    for (const id of idents) {
        if (usesPackage(text, id)) throw new Error(`source patch "${what}": ${id} is still used after the patch`);
    }
}

export const VAULT_MODULE = "github.com/hashicorp/vault";
const KUBE_AUTH_MODULE = "github.com/hashicorp/vault-plugin-auth-kubernetes";

/**
 * helper/builtinplugins/registry_min.go (`minimal` tag): its extendAddonPlugins is a no-op; register the Kubernetes
 * auth method there, under the same name and with the same factory as registry_full.go does.
 */
export function registerKubernetesAuthInMinimalRegistry(text: string): string {
    const what = "minimal registry + kubernetes auth";
    if (!/^\/\/go:build minimal$/m.test(text)) throw new Error(`source patch "${what}": no "//go:build minimal" line; did Vault drop its minimal build?`);
    let out = mustReplace(text, "\npackage builtinplugins\n", `\npackage builtinplugins\n\nimport credKube "${KUBE_AUTH_MODULE}"\n`, what);
    out = mustReplace(
        out,
        "func extendAddonPlugins(_ *registry) {\n\t// No-op\n}",
        'func extendAddonPlugins(r *registry) {\n\t// platform-secrets: the Kubernetes auth method (see test/env/patches.ts).\n\tr.credentialBackends["kubernetes"] = credentialBackend{Factory: credKube.Factory}\n}',
        what,
    );
    return out;
}

/** command/commands_min.go (`minimal` tag): its extendAddonHandlers is a no-op; add the file storage backend. */
export function registerFileStorageInMinimalCommands(text: string): string {
    const what = "minimal commands + file storage";
    if (!/^\/\/go:build minimal$/m.test(text)) throw new Error(`source patch "${what}": no "//go:build minimal" line; did Vault drop its minimal build?`);
    let out = mustReplace(
        text,
        '\t_ "github.com/hashicorp/vault/helper/builtinplugins"\n',
        '\t_ "github.com/hashicorp/vault/helper/builtinplugins"\n\tphysFile "github.com/hashicorp/vault/sdk/physical/file"\n',
        what,
    );
    out = mustReplace(
        out,
        "func extendAddonHandlers(*vaultHandlers) {\n\t// No-op\n}",
        [
            "func extendAddonHandlers(handlers *vaultHandlers) {",
            "\t// platform-secrets: file storage (see test/env/patches.ts).",
            '\thandlers.physicalBackends["file"] = physFile.NewFileBackend',
            '\thandlers.physicalBackends["file_transactional"] = physFile.NewTransactionalFileBackend',
            "}",
        ].join("\n"),
        what,
    );
    return out;
}

/** helper/builtinplugins/registry.go: the always-built registry without the JWT/OIDC auth plugin. */
export function dropJwtAuthFromRegistry(text: string): string {
    const what = "registry without jwt/oidc";
    const out = removeLines(
        text,
        ['\tcredJWT "github.com/hashicorp/vault-plugin-auth-jwt"', '\t\t\t"jwt":      {Factory: credJWT.Factory},', '\t\t\t"oidc":     {Factory: credJWT.Factory},'],
        what,
    );
    assertUnused(out, ["credJWT"], what);
    return out;
}

/** command/commands.go: the minimal CLI handlers without `vault login -method=oidc` (the JWT plugin). */
export function dropOidcLoginHandler(text: string): string {
    const what = "CLI without the oidc login handler";
    const out = removeLines(text, ['\tcredOIDC "github.com/hashicorp/vault-plugin-auth-jwt"', '\t\t\t"oidc":  &credOIDC.CLIHandler{},'], what);
    assertUnused(out, ["credOIDC"], what);
    return out;
}

/** The agent/proxy auto-auth methods removed, and the `case` names each one answers. */
export const DROPPED_AUTO_AUTH: Record<string, string[]> = {
    alicloud: ["alicloud"],
    aws: ["aws"],
    azure: ["azure"],
    cf: ["cf", "pcf"],
    gcp: ["gcp"],
    kerberos: ["kerberos"],
    oci: ["oci"],
};

/**
 * command/agentproxyshared/helpers.go: GetAutoAuthMethodFromConfig without the cloud auto-auth methods (each imports
 * its cloud's SDK). approle, cert, jwt, kubernetes, ldap and token_file stay.
 */
export function dropCloudAutoAuth(text: string): string {
    const what = "agent/proxy without cloud auto-auth";
    let out = text;
    for (const [pkg, cases] of Object.entries(DROPPED_AUTO_AUTH)) {
        out = removeLines(out, [`\t"github.com/hashicorp/vault/command/agentproxyshared/auth/${pkg}"`], what);
        for (const c of cases) {
            const re = new RegExp(`\\tcase "${c}":[^\\n]*\\n\\t\\treturn ${pkg}\\.New[A-Za-z]*AuthMethod\\([^\\n]*\\n`);
            const n = out.match(new RegExp(re.source, "g"))?.length ?? 0;
            if (n !== 1) throw new Error(`source patch "${what}": expected one \`case "${c}": return ${pkg}.New…AuthMethod(…)\`, found ${n}`);
            out = out.replace(re, "");
        }
    }
    assertUnused(out, Object.keys(DROPPED_AUTO_AUTH), what);
    return out;
}

/**
 * vault/raft.go: newDiscover() without go-discover's `k8s` provider (raft auto-join by pod label), the only importer
 * of the whole client-go clientset (k8s.io/client-go/kubernetes + applyconfigurations: ~15% of the compile work).
 * The Kubernetes auth method needs only k8s.io/api types and is unaffected.
 */
export function dropK8sAutoJoin(text: string): string {
    const what = "raft auto-join without the k8s provider";
    const out = removeLines(text, ['\tdiscoverk8s "github.com/hashicorp/go-discover/provider/k8s"', '\tproviders["k8s"] = &discoverk8s.Provider{}'], what);
    assertUnused(out, ["discoverk8s"], what);
    return out;
}

/** The identifier a Go import line binds: its alias, else the last path element that is not a /vN suffix. */
function importIdent(line: string): string | undefined {
    const m = /^\t(?:([A-Za-z_][A-Za-z0-9_]*) )?"([^"]+)"$/.exec(line);
    if (!m) return undefined;
    if (m[1]) return m[1];
    const parts = m[2]!.split("/");
    const last = parts[parts.length - 1]!;
    return /^v\d+$/.test(last) && parts.length > 1 ? parts[parts.length - 2] : last;
}

/**
 * Replaces the body of the top-level function declared by `signature` (which must occur once, and whose body must
 * hold no func literal) with `newBody`, then drops the imports only the old body used (Go rejects unused imports).
 */
export function replaceFunctionBody(text: string, signature: string, newBody: string, what: string): string {
    const start = text.indexOf(signature);
    if (start < 0 || text.indexOf(signature, start + 1) >= 0) throw new Error(`source patch "${what}": signature ${JSON.stringify(signature)} not found exactly once`);
    const end = text.indexOf("\n}\n", start);
    if (end < 0) throw new Error(`source patch "${what}": end of function not found`);
    const body = text.slice(start + signature.length, end);
    if (/func\s*\(/.test(body)) throw new Error(`source patch "${what}": body has a func literal; refusing to cut it mechanically`);
    let out = text.slice(0, start) + signature + newBody + text.slice(end);
    const block = /\nimport \(\n([\s\S]*?)\n\)\n/.exec(out);
    if (!block) throw new Error(`source patch "${what}": no import block`);
    for (const line of block[1]!.split("\n")) {
        const id = importIdent(line);
        if (!id) continue;
        if (usesPackage(body, id) && !usesPackage(out, id)) out = removeLines(out, [line], what);
    }
    return out;
}

/**
 * vault/login_mfa.go: Okta push MFA (validateOkta) answers an error instead of calling Okta. The okta SDK is one
 * package of 11.7 MB, ~7% of the compile work left after the `minimal` tag; nothing here uses login MFA.
 */
export function stubOktaMfa(text: string): string {
    const what = "login MFA without Okta";
    const out = replaceFunctionBody(
        text,
        "func (c *Core) validateOkta(ctx context.Context, mConfig *mfa.Config, username string) error {",
        '\n\t// platform-secrets: the Okta SDK is not compiled in (see test/env/patches.ts).\n\treturn fmt.Errorf("Okta MFA is not available in this Vault build (trimmed for the platform-secrets tests)")',
        what,
    );
    if (/"github\.com\/okta\//.test(out)) throw new Error(`source patch "${what}": the okta import is still there (used outside validateOkta?)`);
    return out;
}

/** Cloud KMS seal wrappers (go-kms-wrapping/wrappers/<pkg>/v2) not compiled in; aead, shamir and transit stay. */
export const DROPPED_KMS_WRAPPERS = ["alicloudkms", "awskms", "azurekeyvault", "gcpckms", "ocikms"];

/** internalshared/configutil/kms.go: the seal constructors of DROPPED_KMS_WRAPPERS answer an error. */
export function stubCloudKmsSeals(text: string): string {
    const what = "seals without cloud KMS";
    const ret = "(kms *KMS, opts ...wrapping.Option) (wrapping.Wrapper, map[string]string, error) {";
    let out = text;
    for (const sig of [
        `func GetAliCloudKMSFunc${ret}`,
        `var GetAWSKMSFunc = func${ret}`,
        `func GetAzureKeyVaultKMSFunc${ret}`,
        `func GetGCPCKMSKMSFunc${ret}`,
        `func GetOCIKMSKMSFunc${ret}`,
    ]) {
        out = replaceFunctionBody(
            out,
            sig,
            '\n\t// platform-secrets: cloud KMS SDKs are not compiled in (see test/env/patches.ts).\n\treturn nil, nil, fmt.Errorf("seal type %q is not available in this Vault build (trimmed for the platform-secrets tests)", kms.Type)',
            what,
        );
    }
    assertUnused(out, DROPPED_KMS_WRAPPERS, what);
    return out;
}

/**
 * internalshared/configutil/env_var_util.go: the env-var → seal config maps without the entries keyed by constants of
 * DROPPED_KMS_WRAPPERS (those seals are not available; the literal-keyed entries stay).
 */
export function dropCloudKmsEnvConstants(text: string): string {
    const what = "seal env vars without cloud KMS constants";
    let out = text;
    for (const pkg of DROPPED_KMS_WRAPPERS) {
        out = removeLines(out, [`\t"github.com/hashicorp/go-kms-wrapping/wrappers/${pkg}/v2"`], what);
        const re = new RegExp(`^\\t\\t${pkg}\\.[A-Za-z0-9_]+: +"[a-z_]+",\\n`, "gm");
        const n = out.match(re)?.length ?? 0;
        if (n === 0) throw new Error(`source patch "${what}": no \`${pkg}.<Const>: "<key>",\` entries found`);
        out = out.replace(re, "");
    }
    assertUnused(out, DROPPED_KMS_WRAPPERS, what);
    return out;
}

/**
 * vault/core.go: the default Shamir seal is configured with `awskms.WithLogger(...)`, an option of another package
 * that the aead wrapper's option parser skips (go-kms-wrapping v2 aead getOpts ignores foreign option types), so
 * passing no option is the same behaviour without importing the AWS KMS wrapper.
 */
export function shamirSealWithoutAwsKmsOption(text: string): string {
    const what = "shamir seal without the awskms option";
    let out = mustReplace(
        text,
        '\t\twrapper.SetConfig(context.Background(), awskms.WithLogger(c.logger.Named("shamir")))\n',
        "\t\twrapper.SetConfig(context.Background()) // platform-secrets: was awskms.WithLogger(...), ignored by this wrapper\n",
        what,
    );
    out = removeLines(out, ['\t"github.com/hashicorp/go-kms-wrapping/wrappers/awskms/v2"'], what);
    assertUnused(out, ["awskms"], what);
    return out;
}

/** Vault copied into the wrapper with the patches above; build it with the `minimal` tag. */
export function vaultTrimmedForTests(version: string): PatchedModule {
    return {
        module: VAULT_MODULE,
        version,
        dir: "patched/vault",
        patches: [
            { file: "helper/builtinplugins/registry_min.go", description: "register kubernetes auth", apply: registerKubernetesAuthInMinimalRegistry },
            { file: "helper/builtinplugins/registry.go", description: "drop jwt/oidc auth", apply: dropJwtAuthFromRegistry },
            { file: "command/commands_min.go", description: "register file storage", apply: registerFileStorageInMinimalCommands },
            { file: "command/commands.go", description: "drop the oidc CLI login handler", apply: dropOidcLoginHandler },
            { file: "command/agentproxyshared/helpers.go", description: "drop cloud auto-auth methods", apply: dropCloudAutoAuth },
            { file: "vault/raft.go", description: "drop the k8s raft auto-join provider", apply: dropK8sAutoJoin },
            { file: "vault/login_mfa.go", description: "stub Okta MFA", apply: stubOktaMfa },
            { file: "internalshared/configutil/kms.go", description: "stub cloud KMS seals", apply: stubCloudKmsSeals },
            { file: "internalshared/configutil/env_var_util.go", description: "drop cloud KMS env constants", apply: dropCloudKmsEnvConstants },
            { file: "vault/core.go", description: "shamir seal without the awskms option", apply: shamirSealWithoutAwsKmsOption },
        ],
    };
}

export const GO_DISCOVER_MODULE = "github.com/hashicorp/go-discover";

/**
 * go-discover's discover.go: `Providers` (the default provider set, which imports every cloud SDK: AWS EC2,
 * vSphere, SoftLayer, Azure, GCE, AliCloud, Tencent, ...) empty. Vault (vault/raft.go) uses a copy of that map for
 * raft `retry_join { auto_join = "provider=..." }`, which therefore knows no provider in this build (an explicit
 * `leader_api_addr` still works); the tests run `server -dev` with inmem storage and never auto-join.
 */
export function goDiscoverWithoutProviders(text: string): string {
    const what = "go-discover without cloud providers";
    const imports = [...text.matchAll(/^\t"github\.com\/hashicorp\/go-discover\/provider\/([a-z0-9]+)"\n/gm)];
    if (imports.length === 0) throw new Error(`source patch "${what}": no provider imports found`);
    let out = text;
    for (const m of imports) out = out.replace(m[0], "");
    const mapRe = /^var Providers = map\[string\]Provider\{\n(?:\t"[a-z0-9]+": +&[a-z0-9]+\.Provider\{\},\n)+\}\n/m;
    if (!mapRe.test(out)) throw new Error(`source patch "${what}": the \`var Providers = map[string]Provider{…}\` literal was not found in its expected form`);
    out = out.replace(mapRe, "// platform-secrets: no built-in providers (see test/env/patches.ts).\nvar Providers = map[string]Provider{}\n");
    assertUnused(
        out,
        imports.map((m) => m[1]!),
        what,
    );
    return out;
}

/** go-discover at the version Vault requires, without cloud providers. */
export function goDiscoverForVault(version: string): PatchedModule {
    return {
        module: GO_DISCOVER_MODULE,
        version,
        dir: "patched/go-discover",
        patches: [{ file: "discover.go", description: "no built-in cloud providers", apply: goDiscoverWithoutProviders }],
    };
}
