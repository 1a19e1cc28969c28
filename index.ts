import * as pulumi from "@pulumi/pulumi";
import { buildPlatform, loadStackConfig, platformOutputs } from "./stacks";
import { checkVaultOwnership } from "./stacks/ownership";

// Validate first: a ConfigError here fails `pulumi preview` before any resource is registered.
const cfg = loadStackConfig();
// Who owns the Vault paths this stack writes, read from Vault now: a path of another stack fails the preview (in the
// password's policy guard, before anything is written).
const ownershipRefusals = checkVaultOwnership(cfg, { project: pulumi.getProject(), stack: pulumi.getStack() });
const platform = buildPlatform(cfg, [], { ownershipRefusals });
const out = platformOutputs(cfg, platform);

export const storeName = out.storeName;
export const vaultPathsWritten = out.vaultPathsWritten;
export const rotations = out.rotations;
export const githubApps = out.githubApps;
export const driftSchedule = out.driftSchedule;
export const reconcilerVaultReadPaths = out.reconcilerVaultReadPaths;
export const instance = out.instance;
export const vaultPathPrefix = out.vaultPathPrefix;
export const vaultPolicies = out.vaultPolicies;
export const vaultKubernetesAuthRoles = out.vaultKubernetesAuthRoles;
