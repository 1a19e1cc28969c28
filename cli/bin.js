#!/usr/bin/env node
"use strict";
// `platform-secrets` executable: the compiled CLI when dist/ has it (npm run build:dist), else the TypeScript
// sources through ts-node (transpile only), as the repo's other scripts run.
const fs = require("node:fs");
const path = require("node:path");
const compiled = path.join(__dirname, "..", "dist", "cli", "main.js");
let mod;
if (fs.existsSync(compiled)) mod = require(compiled);
else {
    require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
    mod = require("./main.ts");
}
mod.main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`error: ${e && e.message ? e.message : String(e)}\n`);
        process.exit(3);
    },
);
