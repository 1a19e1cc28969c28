import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { BaseChoice, buildImages } from "./images";

/**
 * `npm run images:build -- [--base production|sandbox] [--platform linux/arm64] [--out-dir DIR] [--json FILE]`:
 * the one image build command, run by .github/workflows/release.yml and (through buildImages) by the tests.
 * Default base: production (the Dockerfiles' pinned Node LTS). Prints one line per image and the JSON result.
 */
const USAGE = "usage: npm run images:build -- [--base production|sandbox] [--platform linux/amd64|linux/arm64] [--out-dir DIR] [--json FILE]";

async function main(): Promise<number> {
    let values;
    try {
        ({ values } = parseArgs({
            options: { base: { type: "string", default: "production" }, platform: { type: "string" }, "out-dir": { type: "string" }, json: { type: "string" }, help: { type: "boolean" } },
            strict: true,
        }));
    } catch (e) {
        process.stderr.write(`images: ${(e as Error).message}\n${USAGE}\n`);
        return 2;
    }
    if (values.help) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    if (values.base !== "production" && values.base !== "sandbox") {
        process.stderr.write(`images: --base must be production or sandbox, not ${JSON.stringify(values.base)}\n${USAGE}\n`);
        return 2;
    }
    const t0 = Date.now();
    const built = await buildImages({ base: values.base as BaseChoice, platform: values.platform, outDir: values["out-dir"] ? path.resolve(values["out-dir"]) : undefined });
    for (const b of Object.values(built)) {
        process.stderr.write(`images: ${b.ref} ${b.platform} ${b.digest} ${(b.archiveBytes / 1e6).toFixed(1)} MB ${b.archive}${b.builtSeconds ? ` (built in ${b.builtSeconds} s)` : " (cached)"}\n`);
    }
    process.stderr.write(`images: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const json = JSON.stringify(built, null, 2);
    if (values.json) writeFileSync(values.json, `${json}\n`);
    process.stdout.write(`${json}\n`);
    return 0;
}

main().then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`images: ${(e as Error).message}\n`);
        process.exit(1);
    },
);
