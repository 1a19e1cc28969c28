import * as auto from "@pulumi/pulumi/automation";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { standInWrapper, requiredPluginVersion } from "../test/env/engine";
(async () => {
    const dir = await fs.mkdtemp("/tmp/ps-smoke-");
    const ver = requiredPluginVersion("random");
    const pdir = path.join(dir, "home/plugins", `resource-random-v${ver}`);
    await fs.mkdir(pdir, { recursive: true });
    await fs.writeFile(path.join(pdir, "pulumi-resource-random"), standInWrapper("random", ver), { mode: 0o755 });
    const root = path.join(dir, "root"); await fs.mkdir(path.join(root, "bin"), { recursive: true });
    await fs.symlink("/root/.cache/platform-secrets/bin/pulumi-v3.248.0/pulumi", path.join(root, "bin/pulumi"));
    await fs.mkdir(path.join(dir, "state"));
    let rot = "0";
    const program = async () => { const p = new random.RandomPassword("pw", { length: 20, special: false, keepers: { rotation: rot } }); return { len: p.result.apply((r) => r.length), r: p.result }; };
    const cmd = await auto.PulumiCommand.get({ root });
    const stack = await auto.LocalWorkspace.createOrSelectStack({ stackName: "smoke", projectName: "smoke", program }, {
        workDir: dir, pulumiHome: path.join(dir, "home"), pulumiCommand: cmd,
        envVars: { PULUMI_BACKEND_URL: `file://${dir}/state`, PULUMI_CONFIG_PASSPHRASE: "x", PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_IGNORE_AMBIENT_PLUGINS: "true" },
    });
    let t = Date.now();
    const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
    console.log("up", (Date.now() - t) / 1000, up.summary.resourceChanges, up.outputs.len, up.outputs.r.secret);
    t = Date.now();
    const pv = await stack.preview({ expectNoChanges: true });
    console.log("preview", (Date.now() - t) / 1000, pv.changeSummary);
    const rf = await stack.refresh({ expectNoChanges: true });
    console.log("refresh", rf.summary.resourceChanges);
    rot = "1";
    const up2 = await stack.up();
    console.log("up2", up2.summary.resourceChanges, up2.outputs.r.value !== up.outputs.r.value);
    const exp = require("child_process").execFileSync(path.join(root, "bin/pulumi"), ["stack", "export", "--stack", "smoke"], { cwd: dir, env: { ...process.env, PULUMI_HOME: path.join(dir, "home"), PULUMI_BACKEND_URL: `file://${dir}/state`, PULUMI_CONFIG_PASSPHRASE: "x" } }).toString();
    console.log("plaintext in state?", exp.includes(up2.outputs.r.value));
    await stack.destroy();
    await fs.rm(dir, { recursive: true, force: true });
})().catch((e) => { console.error("FAILED", e); process.exit(1); });
