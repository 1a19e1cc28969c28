// Lint = the architecture's rules, checked by `npm test` (npm run lint) instead of by review (issue 23):
//  1. Import direction: each top-level folder may import only the folders listed in MAY_IMPORT. Other folders reach
//     the reconciler only through its published contract, reconciler/api/. Tests and benchmarks may import anything.
//  2. No `any` in product code: values from outside (apiserver, Vault, YAML, JSON) arrive as `unknown` and are
//     checked, or get a named type at the boundary. Tests and benchmarks may read answers loosely.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Top-level folders (and packages) each folder may import; the rest of the repository is forbidden to it. */
const MAY_IMPORT = {
    lib: [],
    derive: [],
    reconciler: ["lib", "derive"],
    tokengen: ["lib"],
    providers: ["lib", "derive"],
    alerts: [],
    cli: ["lib", "derive", "reconciler/api"],
    stacks: ["lib", "derive", "providers", "alerts", "reconciler/api"],
};
const FOLDERS = ["lib", "derive", "reconciler", "tokengen", "providers", "alerts", "cli", "stacks", "test", "bench"];
/** Packages only the Pulumi program (stacks/, providers/, index.ts) may load: the reconciler image and the CLI ship without them. */
const PULUMI_ONLY = ["lib", "derive", "reconciler", "tokengen", "cli", "alerts"];

function importRules(folder) {
    const allowed = MAY_IMPORT[folder];
    const patterns = [];
    for (const other of FOLDERS) {
        if (other === folder) continue;
        if (other === "reconciler" && allowed.includes("reconciler/api")) {
            patterns.push({
                regex: "^(\\.\\./)+reconciler(/(?!api(/index)?$).*)?$",
                message: `${folder}/ may use the reconciler only through its contract, reconciler/api (add what you need there, with a reason).`,
            });
            continue;
        }
        if (allowed.includes(other)) continue;
        patterns.push({ regex: `^(\\.\\./)+${other}(/.*)?$`, message: `${folder}/ may import only ${allowed.length ? allowed.join(", ") : "its own files"} (eslint.config.mjs MAY_IMPORT: the layering of the README's repo map).` });
    }
    if (PULUMI_ONLY.includes(folder)) patterns.push({ regex: "^@pulumi/", message: `${folder}/ runs without the Pulumi SDK (the reconciler image, the CLI): keep @pulumi/* in stacks/ and providers/.` });
    if (folder === "derive") patterns.push({ regex: "^(node:)?(fs|net|http|https|child_process|dgram|tls)(/.*)?$", message: "derive/ is the pure derivation core: no I/O." });
    return { "no-restricted-imports": ["error", { patterns }] };
}

export default tseslint.config(
    { ignores: ["node_modules/**", "dist/**", "**/*.js", "**/*.mjs", "**/*.d.ts"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        linterOptions: { reportUnusedDisableDirectives: "error" },
        rules: {
            "@typescript-eslint/no-explicit-any": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
            // Stripping control characters (terminal escapes a tenant could write) is what those regexes are for.
            "no-control-regex": "off",
            // Errors are rephrased on purpose: a driver's error may echo a value (principle 4), so it does not travel
            // on as `cause` into logs; the message names the object, the key and the fix instead.
            "preserve-caught-error": "off",
        },
    },
    // Tests and benchmarks read apiserver answers loosely and match column-aligned CLI output.
    { files: ["test/**/*.ts", "bench/**/*.ts"], rules: { "@typescript-eslint/no-explicit-any": "off", "no-regex-spaces": "off" } },
    ...Object.keys(MAY_IMPORT).map((folder) => ({ files: [`${folder}/**/*.ts`], rules: importRules(folder) })),
    // Inside the reconciler: the machinery knows no domain (reconciler/README.md "Rooms").
    {
        files: ["reconciler/machinery/**/*.ts"],
        rules: {
            "no-restricted-imports": [
                "error",
                {
                    patterns: [
                        ...importRules("reconciler")["no-restricted-imports"][1].patterns,
                        { regex: "^\\.\\./(?!\\.\\./)", message: "reconciler/machinery/ is controller machinery: it may not import the reconciler's domain (derived, restarts, hooks, trust, root files)." },
                        { regex: "^\\.\\./\\.\\./(?!lib(/|$))", message: "reconciler/machinery/ may import only lib/." },
                    ],
                },
            ],
        },
    },
    { files: ["index.ts"], rules: { "no-restricted-imports": ["error", { patterns: [{ regex: "^\\./(?!stacks(/|$))", message: "index.ts only calls stacks/." }] }] } },
);
