/**
 * Entry of a stand-in provider plugin (install.ts writes the `pulumi-resource-<pkg>` wrapper that runs this):
 * `serve.ts <random|vault> <version> [engine address, ...]`. Served by @pulumi/pulumi's own provider host
 * (`provider.main`), which prints the port for the engine. The notice goes to stderr on every start.
 */
import * as path from "node:path";
import type * as providerTypes from "@pulumi/pulumi/provider";
import { randomProvider } from "./random";
import { standInNotice } from "./secrets";
import { connection, vaultProvider } from "./vault";

const PROVIDERS: Record<string, { provider: providerTypes.Provider; what: string }> = {
    random: { provider: randomProvider, what: "RandomPassword only, generated locally" },
    vault: { provider: vaultProvider, what: "kv.SecretV2 only, against the real Vault server at VAULT_ADDR / vault:address" },
};

/**
 * The host answers Configure without handing the config to the provider; the real vault provider takes its
 * address and token from there. So the Configure handler is wrapped to read them first (args, or the legacy
 * `vault:config:*` variables), then the host's own handler answers.
 */
function captureConfigure(): void {
    const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const grpc = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] }));
    const addService = grpc.Server.prototype.addService;
    grpc.Server.prototype.addService = function (service: unknown, impl: Record<string, (...a: unknown[]) => unknown>) {
        const configure = impl.configure;
        if (configure) {
            impl.configure = function (this: unknown, call: any, callback: unknown) {
                const args = call.request.getArgs?.()?.toJavaScript?.() ?? {};
                const vars = call.request.getVariablesMap?.();
                const pick = (k: string): string | undefined => {
                    const v = args[k];
                    const plain = typeof v === "object" && v !== null && "value" in v ? v.value : v;
                    return typeof plain === "string" && plain ? plain : vars?.get?.(`vault:config:${k}`) || undefined;
                };
                connection.address = pick("address");
                connection.token = pick("token");
                return configure.call(this, call, callback);
            };
        }
        return addService.call(this, service, impl);
    };
}

export async function serve(argv: string[]): Promise<void> {
    const [pkg, version, ...rest] = argv;
    const entry = pkg ? PROVIDERS[pkg] : undefined;
    if (!entry || !version) {
        process.stderr.write("usage: serve.ts <random|vault> <version> [engine address]\n");
        process.exit(2);
    }
    process.stderr.write(standInNotice(pkg!, version!, entry.what) + "\n");
    entry.provider.version = version;
    captureConfigure();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const host = require("@pulumi/pulumi/provider") as typeof providerTypes;
    await host.main(entry.provider, rest);
}

if (require.main === module) {
    void serve(process.argv.slice(2));
}
