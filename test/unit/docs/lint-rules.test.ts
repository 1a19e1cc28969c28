import { strict as assert } from "node:assert";
import * as path from "node:path";
import { ESLint } from "eslint";

/**
 * The architecture's rules in eslint.config.mjs catch what they claim to (issue 23): a file placed in a folder, with
 * the import it must not have, is an error naming the rule; the allowed form of the same import is clean.
 */
const ROOT = path.resolve(__dirname, "../../..");

async function problems(filePath: string, text: string): Promise<string[]> {
    const eslint = new ESLint({ cwd: ROOT });
    const [r] = await eslint.lintText(text, { filePath: path.join(ROOT, filePath) });
    return r!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe("lint: import direction and typed boundaries (eslint.config.mjs)", function () {
    this.timeout(60_000);

    it("cli/ and stacks/ reach the reconciler only through reconciler/api", async () => {
        const deep = await problems("cli/probe.ts", 'import { ANNOTATION_STATUS } from "../reconciler/keys";\nexport const a = ANNOTATION_STATUS;\n');
        assert.ok(deep.some((p) => /^no-restricted-imports: .*reconciler\/api/.test(p)), deep.join("\n"));
        const barrel = await problems("stacks/config/probe.ts", 'import { Reconciler } from "../../reconciler";\nexport const r = Reconciler;\n');
        assert.ok(barrel.some((p) => p.startsWith("no-restricted-imports")), barrel.join("\n"));
        assert.deepEqual(await problems("cli/probe.ts", 'import { ANNOTATION_STATUS } from "../reconciler/api";\nexport const a = ANNOTATION_STATUS;\n'), []);
    });

    it("lower layers cannot import upper ones; the reconciler and the CLI load no Pulumi SDK; derive does no I/O", async () => {
        for (const [file, text] of [
            ["derive/probe.ts", 'import { x } from "../reconciler/keys";\nexport const y = x;\n'],
            ["reconciler/probe.ts", 'import { x } from "../stacks/policy";\nexport const y = x;\n'],
            ["reconciler/probe.ts", 'import * as pulumi from "@pulumi/pulumi";\nexport const y = pulumi;\n'],
            ["lib/kube/probe.ts", 'import { x } from "../../derive";\nexport const y = x;\n'],
            ["derive/probe.ts", 'import * as fs from "node:fs";\nexport const y = fs;\n'],
            ["providers/probe.ts", 'import { x } from "../cli/kube";\nexport const y = x;\n'],
        ]) {
            const p = await problems(file!, text!);
            assert.ok(p.some((m) => m.startsWith("no-restricted-imports")), `${file}: ${text}\n${p.join("\n")}`);
        }
        assert.deepEqual(await problems("reconciler/probe.ts", 'import { deriveSecret } from "../derive";\nimport { KubeClient } from "../lib/kube";\nexport const y = [deriveSecret, KubeClient];\n'), []);
    });

    it("reconciler/machinery/ imports no domain room and nothing but lib/", async () => {
        for (const text of ['import { x } from "../derived/writes";\nexport const y = x;\n', 'import { x } from "../model";\nexport const y = x;\n', 'import { x } from "../../derive";\nexport const y = x;\n']) {
            const p = await problems("reconciler/machinery/probe.ts", text);
            assert.ok(p.some((m) => m.startsWith("no-restricted-imports")), `${text}\n${p.join("\n")}`);
        }
        assert.deepEqual(await problems("reconciler/machinery/probe.ts", 'import { x } from "./clock";\nimport { Logger } from "../../lib/log";\nexport const y = [x, {} as Logger];\n'), []);
    });

    it("`any` is an error in product code and allowed in tests", async () => {
        const p = await problems("reconciler/probe.ts", "export function f(x: any): number {\n    return x.n;\n}\n");
        assert.ok(p.some((m) => m.startsWith("@typescript-eslint/no-explicit-any")), p.join("\n"));
        assert.deepEqual(await problems("test/unit/probe.test.ts", "export function f(x: any): number {\n    return x.n;\n}\n"), []);
    });
});
