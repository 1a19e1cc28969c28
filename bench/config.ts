/**
 * The cost of reading the product's documents (issue 23: one schema library, zod through lib/schema.ts):
 *
 *   npm run bench:config [-- --runs=500]   (= npx ts-node --transpile-only bench/config.ts)
 *
 * Rows: `parseStackConfig` of each committed stack file (what every `pulumi preview/up` pays once), and
 * `parsePolicy` of a policy ConfigMap of 50 fan-out grants and 200 hook bindings (what the reconciler pays once
 * per change of that ConfigMap). Neither is on the reconcile path. Each is warmed up, then timed over --runs calls;
 * the figure is the mean per call. Needs no server.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { parsePolicy } from "../reconciler/trust/policy";
import { parseStackConfig } from "../stacks/config";
import { intFlag, log, table } from "./lib";

const ROOT = path.join(__dirname, "..");
const NS = "platform-secrets";

/** What Pulumi hands the program for `Pulumi.<stack>.yaml`: short keys, every value a string (objects as JSON). */
function rawConfig(stack: string): Record<string, string> {
    const doc = YAML.parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    const raw: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.config)) {
        if (k.startsWith(`${NS}:`) && v !== undefined) raw[k.slice(NS.length + 1)] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return raw;
}

/** A policy document of `grants` fan-out grants and `bindings` hook bindings (two hooks each). */
export function policyText(grants: number, bindings: number): string {
    return JSON.stringify({
        fanOut: Array.from({ length: grants }, (_, i) => ({ sourceNamespace: `ns-${i}`, namespaces: ["a", "b"], namespaceSelector: "team=a" })),
        hooks: Array.from({ length: bindings }, (_, i) => ({
            source: { namespace: "db", name: `s-${i}` },
            hooks: [{ type: "postgres", host: "h", user: "u", vault: { path: "p" } }, { type: "job-rerun", cronJob: "boot" }],
        })),
    });
}

function perCall(runs: number, f: () => unknown): number {
    for (let i = 0; i < Math.min(50, runs); i++) f();
    const t = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) f();
    return Number(process.hrtime.bigint() - t) / 1e6 / runs;
}

function main(): void {
    const runs = intFlag("runs", 500);
    const rows: string[][] = [];
    for (const stack of ["local", "dev", "staging", "prod"]) {
        const raw = rawConfig(stack);
        rows.push([`parseStackConfig(Pulumi.${stack}.yaml)`, perCall(runs, () => parseStackConfig(raw)).toFixed(3)]);
    }
    const pol = policyText(50, 200);
    rows.push(["parsePolicy(50 grants, 200 bindings)", perCall(Math.max(1, Math.floor(runs / 2)), () => parsePolicy(pol, "bench/policy")).toFixed(3)]);
    log(`${runs} runs each (node ${process.version})`);
    console.log(table(["document", "ms per call"], rows));
}

if (require.main === module) main();
