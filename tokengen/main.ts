import { readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { createLogger, Logger } from "../lib/log";
import { Env, LOG_LEVELS, Mode, parseConfig, parseMode } from "./config";
import { exitCodeFor, EXIT_OK, EXIT_UNEXPECTED } from "./errors";
import type { FetchFn, SleepFn } from "./github";
import { InterruptedError } from "./github";
import { loadPrivateKey } from "./key";
import { RetryPolicy } from "./retry";
import { runOnce, runSidecar } from "./run";

/** Everything main touches outside itself; tests override any of it, production uses the defaults. */
export interface MainDeps {
    env: Env;
    readFile: (path: string) => string;
    fetch: FetchFn;
    now: () => number;
    sleep: SleepFn;
    random: () => number;
    /** Given the validated LOG_LEVEL; tests return a capturing logger. */
    logger: (level: string) => Logger;
    /** When absent, main aborts on SIGTERM/SIGINT itself. */
    signal?: AbortSignal;
    retry?: RetryPolicy;
    requestTimeoutMs?: number;
}

/** A sleep that resolves early (without throwing) when the signal fires; callers re-check the signal. */
export const realSleep: SleepFn = async (ms, signal) => {
    try {
        await delay(ms, undefined, { signal });
    } catch (e) {
        if ((e as Error).name !== "AbortError") throw e;
    }
};

function defaultDeps(): MainDeps {
    return {
        env: process.env,
        readFile: (p) => readFileSync(p, "utf8"),
        fetch: (input, init) => fetch(input, init),
        now: () => Date.now(),
        sleep: realSleep,
        random: Math.random,
        logger: (level) => createLogger({ name: "tokengen", level }),
    };
}

/**
 * `tokengen <once|sidecar>` → exit code (0 ok, 2 config, 3 auth, 4 transient exhausted, 1 unexpected).
 * Thin on purpose: parsing, signing, retrying and scheduling live in the modules it wires together.
 */
export async function main(argv: readonly string[], overrides: Partial<MainDeps> = {}): Promise<number> {
    const deps: MainDeps = { ...defaultDeps(), ...overrides };
    const envLevel = deps.env.LOG_LEVEL?.trim();
    // Config errors must be logged too, before LOG_LEVEL is known to be valid.
    let logger = deps.logger(envLevel && (LOG_LEVELS as readonly string[]).includes(envLevel) ? envLevel : "info");
    let mode: Mode;
    const ac = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
        logger.info({ signal: sig }, "termination signal received");
        ac.abort();
    };
    const ownSignals = deps.signal === undefined;
    if (ownSignals) {
        process.on("SIGTERM", onSignal);
        process.on("SIGINT", onSignal);
    }
    const signal = deps.signal ?? ac.signal;
    try {
        mode = parseMode(argv);
        const cfg = parseConfig(deps.env, deps.readFile);
        logger = deps.logger(cfg.logLevel);
        const key = loadPrivateKey(cfg.privateKeyPem, cfg.privateKeySource);
        const runDeps = { fetch: deps.fetch, now: deps.now, sleep: deps.sleep, random: deps.random, logger, signal, retry: deps.retry, requestTimeoutMs: deps.requestTimeoutMs };
        logger.info({ mode, appId: cfg.appId, installationId: cfg.installationId, apiUrl: cfg.apiUrl }, "tokengen starting");
        switch (mode) {
            case "once":
                await runOnce(cfg, key, runDeps);
                return EXIT_OK;
            case "sidecar":
                return await runSidecar(cfg, key, runDeps);
            default: {
                const never: never = mode;
                throw new Error(`unhandled mode ${String(never)}`);
            }
        }
    } catch (e) {
        if (e instanceof InterruptedError) {
            logger.warn("interrupted before a token was written");
            return EXIT_UNEXPECTED;
        }
        const code = exitCodeFor(e);
        // Only the message: every TokengenError message is written to be safe, and unexpected errors carry
        // no request data. Never the raw object, whose fields could hold a response.
        logger.error({ error: e instanceof Error ? e.message : String(e), exitCode: code }, "tokengen failed");
        return code;
    } finally {
        if (ownSignals) {
            process.off("SIGTERM", onSignal);
            process.off("SIGINT", onSignal);
        }
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        () => process.exit(EXIT_UNEXPECTED),
    );
}
