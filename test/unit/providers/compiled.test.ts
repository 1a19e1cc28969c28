import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { RUNTIME_MODULE } from "../../../providers";
import { REGENERATE, ROOT, committedRuntime, compileRuntime } from "../../../providers/compile";

/**
 * providers/compiled/runtime.js is what every stub in state runs (stub.ts). It is generated and committed, so it
 * must equal what the sources compile to now, and it must load with node and the production dependencies alone.
 */
describe("providers: the committed compiled runtime", () => {
    it("is what the sources compile to now", () => {
        const committed = committedRuntime();
        assert.ok(committed !== undefined, `${RUNTIME_MODULE} is missing. Fix: ${REGENERATE}, then commit ${RUNTIME_MODULE}`);
        // Not assert.equal: a diff of two 75 KB strings would bury the fix.
        if (committed !== compileRuntime()) {
            assert.fail(`${RUNTIME_MODULE} is stale: it differs from what providers/runtime.ts and its imports compile to now. Fix: ${REGENERATE}, then commit ${RUNTIME_MODULE}`);
        }
    });

    it("loads and answers with plain node, while esbuild, typescript and ts-node cannot be loaded", () => {
        // What `npm ci --omit=dev` leaves: those three are dev dependencies. Any attempt to load them fails here.
        const script = `
            const Module = require("node:module");
            const resolve = Module._resolveFilename;
            Module._resolveFilename = function (request, ...rest) {
                if (/^(esbuild|typescript|ts-node)(\\/|$)/.test(request)) throw new Error("dev dependency loaded: " + request);
                return resolve.call(this, request, ...rest);
            };
            const { PROVIDERS } = require(${JSON.stringify(path.join(ROOT, RUNTIME_MODULE))});
            const news = { format: "mirror", source: { namespace: "a", name: "s" }, target: { namespace: "b", name: "s" }, options: {} };
            PROVIDERS.derived.check({}, news).then(async (r) => {
                const d = await PROVIDERS.derived.diff("b/s", { ...news, __schema: 2 }, { ...news, target: { namespace: "b", name: "t" } });
                process.stdout.write(JSON.stringify({ kinds: Object.keys(PROVIDERS).sort(), failures: r.failures, replaces: d.replaces }));
            }, (e) => { process.stderr.write(String(e)); process.exit(1); });
        `;
        const out = execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8", env: { ...process.env, NODE_ENV: "production", NODE_OPTIONS: "" } });
        assert.deepEqual(JSON.parse(out), { kinds: ["derived", "guard", "mirror"], failures: [], replaces: ["target"] });
    });
});
