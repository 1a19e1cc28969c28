import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { SCALAR_KEYS } from "../../../stacks/config/schema";
import { DEFAULT_RECONCILER_IMAGE, DEFAULT_TOKEN_GENERATOR_IMAGE, IMAGE_NAMES } from "../../../stacks/images";
import { contextInputs, DOCKERFILES } from "../../env/images";

/**
 * The release workflow cannot run here; what can be checked is that it is valid YAML, builds both platforms with
 * THE command the integration test runs (buildImages through `npm run images:build`), and that what it publishes
 * is the stack's default.
 */
const root = path.resolve(__dirname, "..", "..", "..");
const read = (p: string): string => readFileSync(path.join(root, p), "utf8");

interface Step {
    run?: string;
    uses?: string;
}
interface Job {
    steps: Step[];
    strategy?: { matrix: { include: { platform: string }[] } };
}

describe("release workflow and image defaults", () => {
    const wf = parse(read(".github/workflows/release.yml")) as { on: Record<string, unknown>; jobs: Record<string, Job> };
    const pkg = JSON.parse(read("package.json")) as { version: string; scripts: Record<string, string> };

    it("builds with the same command the tests use, for amd64 and arm64", () => {
        assert.equal(pkg.scripts["images:build"], "ts-node --transpile-only test/env/images-cli.ts");
        const cli = read("test/env/images-cli.ts");
        assert.match(cli, /from "\.\/images"/);
        assert.match(cli, /buildImages\(/, "the CLI calls buildImages, as test/integration/images does");
        assert.match(read("test/integration/images/images.test.ts"), /buildImages\(\{ base: "sandbox" \}\)/);
        const build = wf.jobs.build!;
        const runs = build.steps.map((s) => s.run ?? "").filter((r) => r.includes("images:build"));
        assert.equal(runs.length, 1, "one build step");
        assert.match(runs[0]!, /npm run images:build -- --base production --platform \$\{\{ matrix\.platform \}\}/);
        assert.deepEqual(build.strategy!.matrix.include.map((m) => m.platform).sort(), ["linux/amd64", "linux/arm64"]);
        const allRuns = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? "")).join("\n");
        assert.doesNotMatch(allRuns, /\b(docker|buildah) (build|bud)\b/, "no second way of building the images");
    });

    it("runs on version tags, checks the tag against package.json and records digests", () => {
        assert.deepEqual((wf.on.push as { tags: string[] }).tags, ["v*"]);
        const text = read(".github/workflows/release.yml");
        assert.match(text, /test "\$\{GITHUB_REF_NAME\}" = "v\$\{version\}"/);
        assert.match(text, /--digestfile/);
        assert.match(text, /GITHUB_STEP_SUMMARY/);
        assert.ok(wf.jobs.manifest!.steps.some((s) => s.uses?.startsWith("actions/upload-artifact")), "digests uploaded as an artifact");
    });

    it("the stack's default images are what the workflow publishes: IMAGE_NAMES at the package version", () => {
        assert.equal(DEFAULT_RECONCILER_IMAGE, `${IMAGE_NAMES.reconciler}:${pkg.version}`);
        assert.equal(DEFAULT_TOKEN_GENERATOR_IMAGE, `${IMAGE_NAMES.tokengen}:${pkg.version}`);
        const def = (k: string): unknown => SCALAR_KEYS.find((s) => s.key === k)?.default;
        assert.equal(def("reconcilerImage"), DEFAULT_RECONCILER_IMAGE);
        assert.equal(def("tokenGeneratorImage"), DEFAULT_TOKEN_GENERATOR_IMAGE);
        assert.match(read("tokengen/README.md"), new RegExp(`image: ${DEFAULT_TOKEN_GENERATOR_IMAGE.replace(/\./g, "\\.")}`));
    });

    it("both Dockerfiles default to the same Node LTS base, pinned by digest, as a build argument", () => {
        const bases = Object.values(DOCKERFILES).map((f) => /^ARG BASE_IMAGE=(\S+)$/m.exec(read(f))?.[1]);
        assert.match(bases[0] ?? "", /^docker\.io\/library\/node:(2[4-9])\.\d+\.\d+-[a-z]+-slim@sha256:[0-9a-f]{64}$/);
        assert.equal(bases[1], bases[0]);
        for (const f of Object.values(DOCKERFILES)) {
            const text = read(f);
            assert.match(text, /^FROM \$\{BUILD_IMAGE\} AS build$/m, f);
            assert.match(text, /^FROM \$\{BASE_IMAGE\} AS runtime$/m, f);
            assert.match(text, /^USER 65532:65532$/m, f);
            assert.match(text, /npm ci --ignore-scripts/, f);
            const runtime = text.slice(text.indexOf("AS runtime"));
            assert.doesNotMatch(runtime, /^RUN /m, `${f}: the runtime stage runs nothing (no shell needed)`);
        }
    });

    it("each image COPYs only its own domain (the cache key follows these)", () => {
        assert.deepEqual(contextInputs(read(DOCKERFILES.reconciler)), ["derive", "lib", "package-lock.json", "package.json", "reconciler", "tsconfig.json"]);
        assert.deepEqual(contextInputs(read(DOCKERFILES.tokengen)), ["lib", "package-lock.json", "package.json", "tokengen", "tsconfig.json"]);
        assert.deepEqual(contextInputs("COPY --from=build /out/app /app\nCOPY --chown=1:1 a b ./\nADD x \\\n  y /z\n"), ["a", "b", "x", "y"]);
    });
});
