import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseStackConfig, StackConfig } from "../../../stacks/config";
import { loadStackFile, toRawConfig } from "./harness";

/** A stack file's config with overrides, parsed and validated as the program does at preview. */
export function parseStack(stack: string, overrides: Record<string, unknown> = {}): StackConfig {
    return parseStackConfig(toRawConfig({ ...loadStackFile(stack), ...overrides }));
}

/** `fn` throws a ConfigError (a pulumi RunError: no stack trace for the user) for `key`, ending with the fix. */
export function rejectsConfig(fn: () => unknown, key: string, message: RegExp): void {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof ConfigError && e instanceof pulumi.RunError, `expected ConfigError, got ${String(e)}`);
        assert.equal(e.key, key);
        assert.match(e.message, message);
        assert.match(e.message, /; fix: \S/, "every message ends with the fix");
        return;
    }
    assert.fail(`expected a ConfigError for ${key}`);
}
