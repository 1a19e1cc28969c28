/**
 * Writes providers/compiled/runtime.js: providers/runtime.ts and everything it imports from this repository
 * (providers/, derive/, lib/) as one CommonJS file, packages left as `require`s (all production dependencies).
 * The serialized stubs in state load it with a plain `require` (stub.ts), so refresh, preview and destroy need no
 * TypeScript tooling: it works after `npm ci --omit=dev` and with NODE_ENV=production.
 *
 *   npm run build:providers
 *
 * Committed, not built at install time: a build at `npm ci` would need esbuild or typescript, which
 * `--omit=dev` leaves out. test/unit/providers/compiled.test.ts fails when the committed file differs from what
 * this writes. Development tooling only: nothing at run time imports this file.
 */
import * as esbuild from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { RUNTIME_MODULE } from "./stub";

export const ROOT = path.resolve(__dirname, "..");
export const RUNTIME_SOURCE = "providers/runtime.ts";
export const REGENERATE = "npm run build:providers";

const BANNER = `// GENERATED from ${RUNTIME_SOURCE} by \`${REGENERATE}\` (providers/compile.ts): do not edit; commit it with the sources.`;

/** The compiled runtime, deterministic for given sources and esbuild version (paths relative to the root). */
export function compileRuntime(root = ROOT): string {
    const out = esbuild.buildSync({
        absWorkingDir: root,
        entryPoints: [RUNTIME_SOURCE],
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node20",
        packages: "external",
        banner: { js: BANNER },
        legalComments: "none",
        write: false,
        logLevel: "silent",
    });
    return out.outputFiles[0].text;
}

/** The committed file, or undefined when there is none. */
export function committedRuntime(root = ROOT): string | undefined {
    try {
        return readFileSync(path.join(root, RUNTIME_MODULE), "utf8");
    } catch {
        return undefined;
    }
}

if (require.main === module) {
    const file = path.join(ROOT, RUNTIME_MODULE);
    const text = compileRuntime();
    const changed = committedRuntime() !== text;
    if (changed) writeFileSync(file, text);
    process.stdout.write(`${RUNTIME_MODULE}: ${changed ? "written" : "up to date"} (${text.length} bytes)\n`);
}
