import { buildPlatform, loadStackConfig, platformOutputs } from "./stacks";

// Validate first: a ConfigError here fails `pulumi preview` before any resource is registered.
const cfg = loadStackConfig();
const platform = buildPlatform(cfg);
const out = platformOutputs(cfg, platform);

export const storeName = out.storeName;
export const vaultPathsWritten = out.vaultPathsWritten;
export const rotations = out.rotations;
export const githubApps = out.githubApps;
export const driftSchedule = out.driftSchedule;
export const reconcilerVaultReadPaths = out.reconcilerVaultReadPaths;
