import { Writable } from "node:stream";
import { createLogger, Logger } from "../../lib/log";

/** A real pino logger whose lines are kept in memory, so tests can grep them (canaries, audit lines). */
export function capturingLogger(name = "test"): { logger: Logger; lines: string[]; text: () => string } {
    const lines: string[] = [];
    const sink = new Writable({
        write(chunk, _enc, cb) {
            for (const l of String(chunk).split("\n")) if (l) lines.push(l);
            cb();
        },
    });
    const logger = createLogger({ name, level: "trace", destination: sink });
    return { logger, lines, text: () => lines.join("\n") };
}
