import * as auto from "@pulumi/pulumi/automation";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { standInWrapper, requiredPluginVersion } from "../test/env/engine";
import { startVault } from "../test/env/vault";
(async () => {
    const dir = await fs.mkdtemp("/tmp/ps-smoke-");
    const v = await startVault("/root/.cache/platform-secrets/bin/vault-v1.21.4/vault", dir);
    const ver = requiredPluginVersion("vault");
    const pdir = path.join(dir, "home/plugins", `resource-vault-v${ver}`);
    await fs.mkdir(pdir, { recursive: true });
    await fs.writeFile(path.join(pdir, "pulumi-resource-vault"), standInWrapper("vault", ver), { mode: 0o755 });
    const root = path.join(dir, "root"); await fs.mkdir(path.join(root, "bin"), { recursive: true });
    await fs.symlink("/root/.cache/platform-secrets/bin/pulumi-v3.248.0/pulumi", path.join(root, "bin/pulumi"));
    await fs.mkdir(path.join(dir, "state"));
    let val = "one";
    const program = async () => { const s = new vault.kv.SecretV2("s", { mount: "secret", name: "smoke/x", dataJson: pulumi.secret(JSON.stringify({ password: val })), deleteAllVersions: false }, { additionalSecretOutputs: ["dataJson", "data"] }); return { path: s.path, v: s.metadata }; };
    const cmd = await auto.PulumiCommand.get({ root });
    const stack = await auto.LocalWorkspace.createOrSelectStack({ stackName: "smoke", projectName: "smoke", program }, {
        workDir: dir, pulumiHome: path.join(dir, "home"), pulumiCommand: cmd,
        envVars: { VAULT_ADDR: v.addr, VAULT_TOKEN: v.token, PULUMI_BACKEND_URL: `file://${dir}/state`, PULUMI_CONFIG_PASSPHRASE: "x", PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true", PULUMI_IGNORE_AMBIENT_PLUGINS: "true" },
    });
    const get = async (p: string) => (await (await fetch(`${v.addr}/v1/secret/${p}`, { headers: { "x-vault-token": v.token } })).json()) as any;
    const up = await stack.up();
    console.log("up", up.summary.resourceChanges, up.outputs.path.value, (await get("data/smoke/x")).data.metadata.version);
    console.log("preview", (await stack.preview({ expectNoChanges: true })).changeSummary);
    await fetch(`${v.addr}/v1/secret/data/smoke/x`, { method: "POST", headers: { "x-vault-token": v.token }, body: JSON.stringify({ data: { password: "hand" } }) });
    const pr = await stack.preview({ refresh: true, expectNoChanges: true }).then(() => "passed", (e) => "failed as expected: " + String(e).includes("vault:kv/secretV2:SecretV2"));
    console.log("preview --refresh after hand edit:", pr);
    val = "two";
    const up2 = await stack.up({ refresh: true });
    console.log("up2", up2.summary.resourceChanges, (await get("data/smoke/x")).data.metadata.version, (await get("data/smoke/x")).data.data.password);
    console.log("version1 readable:", (await get("data/smoke/x?version=1")).data.data.password);
    await stack.destroy();
    const m = await get("metadata/smoke/x");
    console.log("after destroy: versions kept", Object.keys(m.data.versions).length, "latest deleted", m.data.versions[String(m.data.current_version)].deletion_time !== "");
    await v.process.stop();
    await fs.rm(dir, { recursive: true, force: true });
})().catch((e) => { console.error("FAILED", e); process.exit(1); });
