import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./errors";
import { parseStackConfig, RawConfig } from "./parse";
import type { StackConfig } from "./types";
import { checkKubernetesConfig } from "../cluster";
import { DRIFT_SECRET_KEYS, readDriftSecrets } from "./drift";

const SECRET_KEYS = ["githubToken", ...DRIFT_SECRET_KEYS];

/**
 * Every `platform-secrets:*` value of the running stack, except the secret ones (kept out of the plain map so no
 * validator message can ever echo them).
 */
export function readRawConfig(all: Record<string, string> = pulumi.runtime.allConfig()): RawConfig {
    const raw: RawConfig = {};
    for (const [k, v] of Object.entries(all)) {
        if (!k.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
        const short = k.slice(CONFIG_NAMESPACE.length + 1);
        if (!SECRET_KEYS.includes(short)) raw[short] = v;
    }
    return raw;
}

/** The validated config of the running stack; throws ConfigError (fails `pulumi preview`) on any problem. */
export function loadStackConfig(): StackConfig {
    checkKubernetesConfig(pulumi.runtime.allConfig());
    const token = pulumi.runtime.getConfig(`${CONFIG_NAMESPACE}:githubToken`);
    return parseStackConfig(readRawConfig(), token ? pulumi.secret(token) : undefined, readDriftSecrets((k) => pulumi.runtime.getConfig(k)));
}
