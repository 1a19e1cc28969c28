import * as pulumi from "@pulumi/pulumi";

/** The config namespace every key of this program lives under. */
export const CONFIG_NAMESPACE = "platform-secrets";

/**
 * A stack-config problem found before any resource is registered. It extends pulumi.RunError so `pulumi preview`
 * prints only the message (no stack trace) and exits non-zero. `key` is the full config key path
 * (`platform-secrets:passwords[0].length`); the message always ends with the fix. Values are never quoted for
 * secret-bearing keys: messages name keys, not contents.
 */
export class ConfigError extends pulumi.RunError {
    readonly key: string;
    readonly fix: string;
    constructor(key: string, problem: string, fix: string) {
        super(`${key}: ${problem}; fix: ${fix}`);
        this.name = "ConfigError";
        this.key = key;
        this.fix = fix;
    }
}

/** `platform-secrets:<path>` */
export function configKey(path: string): string {
    return `${CONFIG_NAMESPACE}:${path}`;
}
