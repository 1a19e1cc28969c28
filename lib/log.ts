import pino from "pino";

/** The logger every library module takes by injection; pino's interface, so tests can pass a capturing one. */
export type Logger = pino.Logger;

/**
 * Field paths whose values are censored before a line is written. Library code never logs secret values on
 * purpose; redaction is the second line of defence for objects that carry them (a Secret's `data`, a config
 * with a private key, an HTTP header).
 */
export const REDACT_PATHS: readonly string[] = [
    "data",
    "stringData",
    "*.data",
    "*.stringData",
    "password",
    "*.password",
    "token",
    "*.token",
    "privateKey",
    "*.privateKey",
    "jwt",
    "authorization",
    "*.authorization",
    "headers.authorization",
    "*.headers.authorization",
];

export interface LoggerOptions {
    /** Component name stamped on every line. */
    name: string;
    /** pino level; default `info`, or LOG_LEVEL from the environment. */
    level?: string;
    /** Where lines go; default stdout. Tests pass a stream that captures lines. */
    destination?: pino.DestinationStream;
}

/** A JSON logger with the redaction paths above. */
export function createLogger(opts: LoggerOptions): Logger {
    return pino(
        {
            name: opts.name,
            level: opts.level ?? process.env.LOG_LEVEL ?? "info",
            redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
            base: { name: opts.name },
        },
        opts.destination,
    );
}

/** A logger that drops everything: the default where a caller injects none. */
export function silentLogger(): Logger {
    return pino({ level: "silent" });
}
