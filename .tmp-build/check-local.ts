import { loadStackFile, runStack, inventory } from "../test/unit/stacks/harness";
(async () => {
    const cfg = loadStackFile("local");
    delete (cfg as any).githubToken;
    const run = await runStack(cfg);
    const inv = inventory(run);
    console.log(inv.length, "resources");
    console.log(inv.join("\n"));
})().catch((e) => { console.error("FAILED", e.message ?? e); process.exit(1); });
