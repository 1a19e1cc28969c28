/**
 * A STAND-IN for the `pulumi-language-nodejs` plugin (test support), for the drift harness: the Go module proxy
 * refuses the real Node.js language host here (test/env/README.md), and a Deployments run starts the CLI with its
 * language host, not an Automation API inline program. The CLI launches this as a plugin exactly as it would the
 * real one (port on the first stdout line, engine address as the last argument); it serves @pulumi/pulumi's own
 * LanguageRuntime server (the one inline programs use) FROM THE CHECKOUT's node_modules, and runs the project's
 * entry (RunRequest's program directory + entry point, else Pulumi.yaml's `main`) under ts-node registered as
 * @pulumi/pulumi/cmd/run does (type-checking unless PULUMI_NODEJS_TRANSPILE_ONLY=true). So the checkout's
 * install is what runs: a missing dependency fails the run as it would on a Deployments runner.
 */
export function languageHostScript(nodePath: string): string {
    return `#!${nodePath}
"use strict";
// STAND-IN pulumi-language-nodejs (platform-secrets test/e2e/drift-language-host.ts): NOT the published plugin.
const path = require("path");
const fs = require("fs");
const root = process.cwd();
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [root] }));
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] }));
const { LanguageServer } = require(path.join(pulumiDir, "automation", "server"));
const langrpc = require(path.join(pulumiDir, "proto", "language_grpc_pb"));
const engineAddr = process.argv.slice(2).filter((a) => !a.startsWith("-")).pop() || "";
let current;
let registered = false;

function entryOf(req) {
    const info = req.getInfo && req.getInfo();
    const dir = (info && info.getProgramDirectory()) || req.getPwd() || root;
    let entry = (info && info.getEntryPoint()) || req.getProgram() || "";
    if (!entry || entry === ".") {
        const m = /^main:\\s*(\\S+)\\s*$/m.exec(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
        entry = m ? m[1] : ".";
    }
    return { dir, entry: path.resolve(dir, entry) };
}

async function program() {
    const { dir, entry } = entryOf(current);
    process.chdir(dir);
    if (!registered && /\\.ts$/.test(entry)) {
        const tsnode = require(require.resolve("ts-node", { paths: [dir, pulumiDir] }));
        const tsconfig = path.join(dir, "tsconfig.json");
        tsnode.register({
            transpileOnly: process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "true",
            // No tsconfig.json: @pulumi/pulumi/cmd/run's defaults.
            ...(fs.existsSync(tsconfig) ? { project: tsconfig } : { skipProject: true, compilerOptions: { target: "es6", module: "commonjs", moduleResolution: "node", sourceMap: true } }),
        });
        registered = true;
    }
    return { ...require(entry) };
}

const ls = new LanguageServer(program);
const impl = {
    getRequiredPlugins: ls.getRequiredPlugins.bind(ls),
    getPluginInfo: ls.getPluginInfo.bind(ls),
    run(call, callback) {
        current = call.request;
        const args = call.request.getArgsList();
        // LanguageServer takes the engine address from args[0] (the inline convention); a plugin gets it on argv.
        if (args[0] !== engineAddr) call.request.setArgsList([engineAddr, ...args]);
        return ls.run(call, callback);
    },
};
const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
server.addService(langrpc.LanguageRuntimeService, impl);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
        console.error(err);
        process.exit(1);
    }
    process.stdout.write(port + "\\n");
});
`;
}
