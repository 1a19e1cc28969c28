import * as fs from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { CONFIG_NAMESPACE } from "./errors";
import { SCALAR_KEYS, STRUCTURED_KEYS } from "./schema";

/**
 * Pulumi.yaml, rendered from the schema table (pure). Run `npm run gen:pulumi-yaml` after editing schema.ts;
 * test/unit/stacks/config.test.ts fails while the file and this rendering differ.
 */
export const PROJECT_DESCRIPTION =
    "Stable passwords in Vault, External Secrets Operator declarations, GitHub App credentials, derived secrets and drift checks (one stack per environment).";

export function renderProjectYaml(): string {
    const header = [
        "# Project-level config schema. Every scalar/list-of-string setting is declared below with type, description and",
        "# default. Generated from stacks/config/schema.ts by `npm run gen:pulumi-yaml` (test/unit/stacks/config.test.ts",
        "# keeps them equal): edit schema.ts, not this file.",
        "#",
        "# Structured settings: Pulumi's project schema has no object type (pulumi/pulumi#11321: type is one of string,",
        "# integer, boolean, array; items nest only those), so these are set as YAML mappings/sequences in the stack files",
        "# and validated by stacks/config (run `pulumi preview` to check them):",
        ...STRUCTURED_KEYS.map((k) => `#   ${CONFIG_NAMESPACE}:${k.key} (${k.shape}, default ${JSON.stringify(k.default)}): ${k.description}`),
        "#",
        "# Optional secrets are not declared here: the CLI refuses `secret: true` with a plaintext default, and a declared",
        "# key without a default is required. Set them with `pulumi config set --secret`:",
        ...SCALAR_KEYS.filter((k) => k.secret).map((k) => `#   ${CONFIG_NAMESPACE}:${k.key} (secret ${k.type}, optional): ${k.description}`),
        "",
    ];
    const config: Record<string, unknown> = {};
    for (const k of SCALAR_KEYS.filter((x) => !x.secret)) {
        config[k.key] = { type: k.type, ...(k.items ? { items: { type: k.items } } : {}), description: k.description, default: k.default };
    }
    const doc = { name: CONFIG_NAMESPACE, runtime: { name: "nodejs", options: { typescript: true } }, description: PROJECT_DESCRIPTION, main: "index.ts", config };
    return `${header.join("\n")}\n${YAML.stringify(doc, { lineWidth: 0 })}`;
}

if (require.main === module) {
    const file = path.resolve(__dirname, "../../Pulumi.yaml");
    fs.writeFileSync(file, renderProjectYaml());
    process.stdout.write(`wrote ${file}\n`);
}
