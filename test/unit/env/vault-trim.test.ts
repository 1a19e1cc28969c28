import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { VAULT_GO_DISCOVER_VERSION, VAULT_VERSION, vaultSpec } from "../../env/binaries";
import { parseGoMod } from "../../env/gomod";
import {
    dropCloudAutoAuth,
    dropCloudKmsEnvConstants,
    dropJwtAuthFromRegistry,
    dropK8sAutoJoin,
    dropOidcLoginHandler,
    GO_DISCOVER_MODULE,
    goCodeOnly,
    goDiscoverForVault,
    goDiscoverWithoutProviders,
    registerFileStorageInMinimalCommands,
    registerKubernetesAuthInMinimalRegistry,
    removeLines,
    replaceFunctionBody,
    shamirSealWithoutAwsKmsOption,
    stubCloudKmsSeals,
    stubOktaMfa,
    usesPackage,
    VAULT_MODULE,
    vaultTrimmedForTests,
} from "../../env/patches";

// Excerpts, verbatim, of github.com/hashicorp/vault@v1.21.4 and go-discover (trimmed where marked "...").
const REGISTRY_MIN = `// Copyright IBM Corp. 2016, 2025
// SPDX-License-Identifier: BUSL-1.1

//go:build minimal

package builtinplugins

func extendAddonPlugins(_ *registry) {
	// No-op
}
`;

const COMMANDS_MIN = `// Copyright IBM Corp. 2016, 2025
// SPDX-License-Identifier: BUSL-1.1

//go:build minimal

package command

import (
	_ "github.com/hashicorp/vault/helper/builtinplugins"
)

func extendAddonHandlers(*vaultHandlers) {
	// No-op
}
`;

const REGISTRY = `package builtinplugins

import (
	"context"

	credJWT "github.com/hashicorp/vault-plugin-auth-jwt"
	logicalKv "github.com/hashicorp/vault-plugin-secrets-kv"
	credAppRole "github.com/hashicorp/vault/builtin/credential/approle"
)

func newMinimalRegistry() *registry {
	return &registry{
		credentialBackends: map[string]credentialBackend{
			"approle":  {Factory: credAppRole.Factory},
			"jwt":      {Factory: credJWT.Factory},
			"oidc":     {Factory: credJWT.Factory},
		},
		logicalBackends: map[string]logicalBackend{
			"kv":      {Factory: logicalKv.Factory},
		},
	}
}
`;

const COMMANDS = `import (
	credOIDC "github.com/hashicorp/vault-plugin-auth-jwt"
	credToken "github.com/hashicorp/vault/builtin/credential/token"
)

		loginHandlers: map[string]LoginHandler{
			"oidc":  &credOIDC.CLIHandler{},
			"token": &credToken.CLIHandler{},
		},
`;

const HELPERS = `import (
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/alicloud"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/approle"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/aws"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/azure"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/cf"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/gcp"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/kerberos"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/kubernetes"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/oci"
)

func GetAutoAuthMethodFromConfig(autoAuthMethodType string, authConfig *auth.AuthConfig, vaultAddress string) (auth.AuthMethod, error) {
	switch autoAuthMethodType {
	case "alicloud":
		return alicloud.NewAliCloudAuthMethod(authConfig)
	case "aws":
		return aws.NewAWSAuthMethod(authConfig)
	case "azure":
		return azure.NewAzureAuthMethod(authConfig)
	case "cf":
		return cf.NewCFAuthMethod(authConfig)
	case "gcp":
		return gcp.NewGCPAuthMethod(authConfig)
	case "kerberos":
		return kerberos.NewKerberosAuthMethod(authConfig)
	case "kubernetes":
		return kubernetes.NewKubernetesAuthMethod(authConfig)
	case "approle":
		return approle.NewApproleAuthMethod(authConfig)
	case "oci":
		return oci.NewOCIAuthMethod(authConfig, vaultAddress)
	case "pcf": // Deprecated.
		return cf.NewCFAuthMethod(authConfig)
	default:
		return nil, errors.New(fmt.Sprintf("unknown auth method %q", autoAuthMethodType))
	}
}
`;

const RAFT = `import (
	"github.com/hashicorp/go-discover"
	discoverk8s "github.com/hashicorp/go-discover/provider/k8s"
)

func newDiscover() (*discover.Discover, error) {
	providers := make(map[string]discover.Provider)
	for k, v := range discover.Providers {
		providers[k] = v
	}

	providers["k8s"] = &discoverk8s.Provider{}

	return discover.New(
		discover.WithProviders(providers),
	)
}
`;

const LOGIN_MFA = `package vault

import (
	"fmt"
	"net/url"
	"regexp"

	"github.com/okta/okta-sdk-golang/v5/okta"
)

func (c *Core) validateOkta(ctx context.Context, mConfig *mfa.Config, username string) error {
	oktaConfig := mConfig.GetOktaConfig()
	baseURL := oktaConfig.BaseURL
	if baseURL == "" {
		baseURL = "okta.com"
	}
	orgURL, err := url.Parse(fmt.Sprintf("https://%s.%s", oktaConfig.OrgName, baseURL))
	client := okta.NewAPIClient(cfg)
	txRx := regexp.MustCompile("^.*/transactions/(.*)$")
	type linksObj struct {
		Poll struct {
			Href string \`mapstructure:"href"\`
		} \`mapstructure:"poll"\`
	}
	return nil
}

func (c *Core) validatePingID(ctx context.Context, mConfig *mfa.Config, username string) error {
	_, err := url.Parse(fmt.Sprintf("https://%s,%s", oktaConfig.OrgName, oktaConfig.BaseURL))
	return err
}
`;

const ENV_VAR_UTIL = `import (
	"github.com/hashicorp/go-kms-wrapping/wrappers/alicloudkms/v2"
	"github.com/hashicorp/go-kms-wrapping/wrappers/awskms/v2"
	"github.com/hashicorp/go-kms-wrapping/wrappers/azurekeyvault/v2"
	"github.com/hashicorp/go-kms-wrapping/wrappers/gcpckms/v2"
	"github.com/hashicorp/go-kms-wrapping/wrappers/ocikms/v2"
	"github.com/hashicorp/go-kms-wrapping/wrappers/transit/v2"
)

var (
	AliCloudKMSEnvVars = map[string]string{
		"ALICLOUD_REGION":                        "region",
		alicloudkms.EnvVaultAliCloudKmsSealKeyId: "kms_key_id",
	}
	AWSKMSEnvVars = map[string]string{
		awskms.EnvVaultAwsKmsSealKeyId: "kms_key_id",
	}
	AzureEnvVars = map[string]string{
		azurekeyvault.EnvAzureKeyVaultWrapperKeyName:   "key_name",
	}
	GCPCKMSEnvVars = map[string]string{
		gcpckms.EnvGcpCkmsWrapperCredsPath:   "credentials",
		"GOOGLE_APPLICATION_CREDENTIALS":     "credentials",
	}
	OCIKMSEnvVars = map[string]string{
		ocikms.EnvOciKmsWrapperKeyId:                "key_id",
	}
	TransitEnvVars = map[string]string{
		transit.EnvVaultTransitSealKeyName:        "key_name",
	}
)
`;

const DISCOVER = `package discover

import (
	"fmt"
	"log"

	"github.com/hashicorp/go-discover/provider/aliyun"
	"github.com/hashicorp/go-discover/provider/aws"
	"github.com/hashicorp/go-discover/provider/os"
)

// Providers contains all available providers.
var Providers = map[string]Provider{
	"aliyun":       &aliyun.Provider{},
	"aws":          &aws.Provider{},
	"os":           &os.Provider{},
}

func (d *Discover) Names() []string {
	return nil
}
`;

function goModCache(): string | undefined {
    if (process.env.GOMODCACHE) return process.env.GOMODCACHE;
    try {
        return execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8", timeout: 10_000 }).trim() || undefined;
    } catch {
        const d = path.join(homedir(), "go", "pkg", "mod");
        return existsSync(d) ? d : undefined;
    }
}

/** The module cache's directory for module@version ("!"-escaped upper case), if it is there. */
function cachedModuleDir(module: string, version: string): string | undefined {
    const root = goModCache();
    if (!root) return undefined;
    const dir = path.join(root, `${module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}@${version}`);
    return existsSync(dir) ? dir : undefined;
}

describe("env/patches (vault trimmed for the tests)", () => {
    it("registers kubernetes auth in the minimal registry", () => {
        const out = registerKubernetesAuthInMinimalRegistry(REGISTRY_MIN);
        assert.match(out, /\nimport credKube "github.com\/hashicorp\/vault-plugin-auth-kubernetes"\n/);
        assert.match(out, /func extendAddonPlugins\(r \*registry\) \{\n.*\n\tr\.credentialBackends\["kubernetes"\] = credentialBackend\{Factory: credKube\.Factory\}\n\}/);
        assert.throws(() => registerKubernetesAuthInMinimalRegistry(REGISTRY_MIN.replace("//go:build minimal", "//go:build !minimal")), /minimal build/);
        assert.throws(() => registerKubernetesAuthInMinimalRegistry(REGISTRY_MIN.replace("// No-op", "// nothing")), /anchor [\s\S]* not found/);
    });

    it("registers file storage in the minimal commands", () => {
        const out = registerFileStorageInMinimalCommands(COMMANDS_MIN);
        assert.match(out, /\tphysFile "github.com\/hashicorp\/vault\/sdk\/physical\/file"\n\)/);
        assert.match(out, /handlers\.physicalBackends\["file"\] = physFile\.NewFileBackend\n/);
        assert.throws(() => registerFileStorageInMinimalCommands(COMMANDS_MIN.replace("(*vaultHandlers)", "(h *vaultHandlers)")), /anchor [\s\S]* not found/);
    });

    it("drops jwt/oidc from the registry and the oidc CLI handler, nothing else", () => {
        const reg = dropJwtAuthFromRegistry(REGISTRY);
        assert.doesNotMatch(reg, /credJWT|"jwt"|"oidc"/);
        assert.match(reg, /"approle":  \{Factory: credAppRole\.Factory\},\n\t\t\},/);
        assert.match(reg, /"kv":      \{Factory: logicalKv\.Factory\}/);
        assert.throws(() => dropJwtAuthFromRegistry(REGISTRY.replace('\t\t\t"oidc":     {Factory: credJWT.Factory},\n', "")), /oidc.*exactly once, found 0/);
        // A new use of the removed import is caught, not left for the compiler.
        assert.throws(() => dropJwtAuthFromRegistry(REGISTRY.replace('"kv":      {Factory: logicalKv.Factory}', '"kv": {Factory: credJWT.Other}')), /credJWT is still used/);
        const cmd = dropOidcLoginHandler(COMMANDS);
        assert.doesNotMatch(cmd, /credOIDC/);
        assert.match(cmd, /"token": &credToken\.CLIHandler\{\}/);
    });

    it("drops the cloud auto-auth methods, keeps approle and kubernetes", () => {
        const out = dropCloudAutoAuth(HELPERS);
        for (const gone of ["alicloud", "aws", "azure", "cf", "gcp", "kerberos", "oci", "pcf"]) assert.doesNotMatch(out, new RegExp(`case "${gone}"|auth/${gone}"`));
        assert.match(out, /case "kubernetes":\n\t\treturn kubernetes\.NewKubernetesAuthMethod\(authConfig\)\n\tcase "approle":/);
        assert.match(out, /auth\/approle"\n\t"github.com\/hashicorp\/vault\/command\/agentproxyshared\/auth\/kubernetes"\n\)/);
        assert.throws(() => dropCloudAutoAuth(HELPERS.replace('\tcase "pcf": // Deprecated.\n\t\treturn cf.NewCFAuthMethod(authConfig)\n', "")), /case "pcf".*found 0/);
    });

    it("drops the k8s raft auto-join provider", () => {
        const out = dropK8sAutoJoin(RAFT);
        assert.doesNotMatch(out, /discoverk8s/);
        assert.match(out, /providers\[k\] = v\n\t\}\n\n\n\treturn discover\.New/);
    });

    it("stubs Okta MFA and drops the imports only it used", () => {
        const out = stubOktaMfa(LOGIN_MFA);
        assert.doesNotMatch(out, /okta-sdk-golang|"regexp"/);
        assert.match(out, /\t"net\/url"\n/, "url is still used by validatePingID");
        assert.match(out, /validateOkta\(ctx context.Context, mConfig \*mfa.Config, username string\) error \{\n.*\n\treturn fmt\.Errorf\("Okta MFA is not available/);
        assert.match(out, /func \(c \*Core\) validatePingID/);
        assert.throws(() => stubOktaMfa(LOGIN_MFA.replace("return nil\n}", "go func() {}()\n\treturn nil\n}")), /func literal/);
        assert.throws(() => stubOktaMfa(LOGIN_MFA.replace("validateOkta(", "validateOkta2(")), /not found exactly once/);
        // okta used outside validateOkta: the import stays, and the patch says so.
        assert.throws(() => stubOktaMfa(LOGIN_MFA.replace("return err\n}", "_ = okta.X\n\treturn err\n}")), /okta import is still there/);
    });

    it("stubs the cloud KMS seals and their env-var constants", () => {
        const ret = "(kms *KMS, opts ...wrapping.Option) (wrapping.Wrapper, map[string]string, error) {";
        const body = (pkg: string) => `\n\twrapper := ${pkg}.NewWrapper()\n\treturn wrapper, nil, nil\n}\n\n`;
        const kms =
            `package configutil\n\nimport (\n\t"fmt"\n\n\t"github.com/hashicorp/go-kms-wrapping/wrappers/alicloudkms/v2"\n\t"github.com/hashicorp/go-kms-wrapping/wrappers/awskms/v2"\n` +
            `\t"github.com/hashicorp/go-kms-wrapping/wrappers/azurekeyvault/v2"\n\t"github.com/hashicorp/go-kms-wrapping/wrappers/gcpckms/v2"\n` +
            `\t"github.com/hashicorp/go-kms-wrapping/wrappers/ocikms/v2"\n\t"github.com/hashicorp/go-kms-wrapping/wrappers/transit/v2"\n)\n\n` +
            `func GetAliCloudKMSFunc${ret}${body("alicloudkms")}var GetAWSKMSFunc = func${ret}${body("awskms")}` +
            `func GetAzureKeyVaultKMSFunc${ret}${body("azurekeyvault")}func GetGCPCKMSKMSFunc${ret}${body("gcpckms")}` +
            `func GetOCIKMSKMSFunc${ret}${body("ocikms")}var GetTransitKMSFunc = func${ret}${body("transit")}`;
        const out = stubCloudKmsSeals(kms);
        assert.doesNotMatch(out, /alicloudkms|awskms|azurekeyvault|gcpckms|ocikms/);
        assert.equal(out.match(/is not available in this Vault build/g)?.length, 5);
        assert.match(out, /wrappers\/transit\/v2"\n\)/);
        assert.match(out, /wrapper := transit\.NewWrapper\(\)/);
        const env = dropCloudKmsEnvConstants(ENV_VAR_UTIL);
        assert.doesNotMatch(env, /alicloudkms|awskms|azurekeyvault|gcpckms|ocikms/);
        assert.match(env, /"ALICLOUD_REGION": +"region",\n\t\}/);
        assert.match(env, /"GOOGLE_APPLICATION_CREDENTIALS": +"credentials",/);
        assert.match(env, /transit\.EnvVaultTransitSealKeyName/);
        const core = `import (\n\t"github.com/hashicorp/go-kms-wrapping/wrappers/awskms/v2"\n)\n\t\twrapper.SetConfig(context.Background(), awskms.WithLogger(c.logger.Named("shamir")))\n`;
        assert.ok(!usesPackage(shamirSealWithoutAwsKmsOption(core), "awskms"));
        assert.match(shamirSealWithoutAwsKmsOption(core), /^import \(\n\)\n\t\twrapper\.SetConfig\(context\.Background\(\)\) \/\//);
        assert.throws(() => shamirSealWithoutAwsKmsOption(core + "\tawskms.X()\n"), /awskms is still used/);
    });

    it("empties go-discover's provider map", () => {
        const out = goDiscoverWithoutProviders(DISCOVER);
        assert.doesNotMatch(out, /provider\//);
        assert.match(out, /\nvar Providers = map\[string\]Provider\{\}\n/);
        assert.match(out, /\t"log"\n\n\)/);
        assert.throws(() => goDiscoverWithoutProviders(DISCOVER.replace('\t"os":           &os.Provider{},\n', '\t"os": newOS(),\n')), /not found in its expected form/);
        assert.throws(() => goDiscoverWithoutProviders("package discover\n"), /no provider imports/);
    });

    it("helpers: whole lines only, code-only package uses, function bodies", () => {
        assert.throws(() => removeLines("a\nxb\n", ["b"], "t"), /not a whole line/);
        assert.throws(() => removeLines("b\nb\n", ["b"], "t"), /exactly once, found 2/);
        assert.doesNotMatch(goCodeOnly('x := "okta.com" // okta.X\ny := `okta.Y` + \'o\''), /okta|'o'/);
        assert.ok(!usesPackage('baseURL = "okta.com"', "okta"));
        assert.ok(!usesPackage("c.okta.X()", "okta"), "a field, not a package");
        assert.ok(usesPackage("okta.NewAPIClient(cfg)", "okta"));
        const src = 'package p\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc f() string {\n\treturn strings.ToUpper("a")\n}\n\nfunc g() string {\n\treturn strings.TrimSpace(" ")\n}\n';
        assert.match(replaceFunctionBody(src, "func f() string {", '\n\treturn "b"', "t"), /\t"strings"\n/, "strings is still used by g");
        const noG = src.replace(/\nfunc g[\s\S]*$/, "");
        assert.doesNotMatch(replaceFunctionBody(noG, "func f() string {", '\n\treturn "b"', "t"), /"strings"/);
    });

    it("vaultSpec: a new cache name, the minimal tag, sdk + vault + go-discover patched", () => {
        const s = vaultSpec();
        assert.equal(s.name, "vault-trimmed");
        assert.notEqual(s.name, "vault", "must not reuse the full build's cache directory");
        assert.ok(s.tags.includes("minimal"));
        assert.ok(!s.tags.includes("ui"));
        assert.deepEqual(
            s.patchedModules?.map((p) => p.module),
            ["github.com/hashicorp/vault/sdk", VAULT_MODULE, GO_DISCOVER_MODULE],
        );
        assert.equal(s.patchedModules?.find((p) => p.module === VAULT_MODULE)?.version, VAULT_VERSION);
        const dirs = s.patchedModules!.map((p) => p.dir);
        assert.equal(new Set(dirs).size, dirs.length);
    });

    describe("against the real sources (when they are in the Go module cache)", () => {
        it(`applies every vault patch to github.com/hashicorp/vault@${VAULT_VERSION}`, function () {
            const dir = cachedModuleDir(VAULT_MODULE, VAULT_VERSION);
            if (!dir) this.skip();
            for (const p of vaultTrimmedForTests(VAULT_VERSION).patches) {
                const text = readFileSync(path.join(dir!, p.file), "utf8");
                const out = p.apply(text);
                assert.notEqual(out, text, p.file);
            }
        });

        it("pins the go-discover version vault's go.mod requires, and patches it", function () {
            const dir = cachedModuleDir(VAULT_MODULE, VAULT_VERSION);
            if (!dir) this.skip();
            const req = parseGoMod(readFileSync(path.join(dir!, "go.mod"), "utf8")).requires.find((r) => r.path === GO_DISCOVER_MODULE);
            assert.equal(req?.version, VAULT_GO_DISCOVER_VERSION);
            const gd = cachedModuleDir(GO_DISCOVER_MODULE, VAULT_GO_DISCOVER_VERSION);
            if (!gd) this.skip();
            const out = goDiscoverForVault(VAULT_GO_DISCOVER_VERSION).patches[0]!.apply(readFileSync(path.join(gd!, "discover.go"), "utf8"));
            assert.match(out, /var Providers = map\[string\]Provider\{\}/);
        });
    });
});
