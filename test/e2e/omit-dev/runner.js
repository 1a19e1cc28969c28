// Drives the stack of program.ts through the real engine from a copy of the project installed with
// `npm ci --omit=dev`: plain node and the copy's own production dependencies, NODE_ENV=production. Plain JavaScript
// on purpose (nothing here may need ts-node from the developer's checkout). Prints one JSON line.
//
//   node test/e2e/omit-dev/runner.js <up|preview|refresh|destroy|export|import>   (cwd: the copy; config in PS_OMIT_DEV_RUN)
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const auto = require("@pulumi/pulumi/automation");

const ROOT = path.resolve(__dirname, "../../..");

/**
 * What @pulumi/pulumi/cmd/run (the nodejs language host's program runner) does before it requires a TypeScript
 * program: the same library calls and options (run.js, non-ESM branch). No language-host binary is built here, so
 * the program runs inline in this process, compiled exactly as `pulumi up` would compile index.ts.
 */
function registerTypeScriptAsPulumiDoes() {
    const tsutils = require("@pulumi/pulumi/tsutils");
    const compilerOptions = tsutils.loadTypeScriptCompilerOptions(path.join(ROOT, "tsconfig.json"));
    const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
    const ts = require(typescriptRequire);
    const [major, minor] = ts.version.split(".").map(Number);
    const nodeNext = major > 4 || (major === 4 && minor >= 7);
    require(tsnodeRequire).register({
        compiler: typescriptRequire,
        transpileOnly: compilerOptions.noCheck,
        project: path.join(ROOT, "tsconfig.json"),
        skipProject: false,
        compilerOptions: { target: "ES2020", module: nodeNext ? "nodenext" : "commonjs", moduleResolution: nodeNext ? "nodenext" : "node", sourceMap: "true", ...compilerOptions },
    });
    return { typescript: `${ts.version} (${require.resolve(typescriptRequire)})`, tsNode: require.resolve(tsnodeRequire) };
}

async function main() {
    const op = process.argv[2];
    const run = JSON.parse(process.env.PS_OMIT_DEV_RUN);
    let tooling;
    const program = async () => {
        tooling = registerTypeScriptAsPulumiDoes();
        require(path.join(__dirname, "program.ts"));
        return {};
    };
    const pulumiCommand = await auto.PulumiCommand.get(run.cliRoot ? { root: run.cliRoot } : {});
    const stack = await auto.LocalWorkspace.createOrSelectStack(
        { stackName: run.stackName, projectName: "ps-omit-dev", program },
        { workDir: ROOT, pulumiHome: run.pulumiHome, pulumiCommand, envVars: run.envVars, projectSettings: { name: "ps-omit-dev", runtime: "nodejs" } },
    );
    const t0 = Date.now();
    let result;
    if (op === "up") result = (await stack.up()).summary;
    else if (op === "preview") result = { changeSummary: (await stack.preview()).changeSummary };
    else if (op === "refresh") result = (await stack.refresh()).summary;
    else if (op === "destroy") result = (await stack.destroy()).summary;
    else if (op === "export") result = await stack.exportStack();
    else if (op === "import") await stack.importStack(JSON.parse(fs.readFileSync(0, "utf8")));
    else throw new Error(`unknown operation ${op}`);
    process.stdout.write(`${JSON.stringify({ ok: true, seconds: (Date.now() - t0) / 1000, tooling, result })}\n`);
}

main().catch((e) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String((e && e.message) || e) })}\n`);
    process.exit(1);
});
