import * as fs from "node:fs";

/** The process edges the CLI touches, injectable so tests run `main` in-process. */
export interface CliIO {
    stdout(text: string): void;
    stderr(text: string): void;
    /** stdout is a terminal: colours allowed (unless NO_COLOR / --no-color). */
    stdoutTTY: boolean;
    /** stderr is a terminal: progress redraws one line; otherwise a line every few seconds. */
    stderrTTY: boolean;
    env: Record<string, string | undefined>;
    readFile(path: string): string;
    /** Resolves when the user asks a long-running command (dashboard) to stop. */
    interrupted(): Promise<void>;
    /** The dashboard's URL once it listens (tests use it). */
    onListening?(url: string): void;
}

export function processIO(): CliIO {
    return {
        stdout: (t) => process.stdout.write(t),
        stderr: (t) => process.stderr.write(t),
        stdoutTTY: process.stdout.isTTY === true,
        stderrTTY: process.stderr.isTTY === true,
        env: process.env,
        readFile: (p) => fs.readFileSync(p === "-" ? 0 : p, "utf8"),
        interrupted: () =>
            new Promise((resolve) => {
                process.once("SIGINT", () => resolve());
                process.once("SIGTERM", () => resolve());
            }),
    };
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** Progress on stderr for anything that waits: a spinner line on a terminal, else a plain line every `everyMs`. */
export class Progress {
    private frame = 0;
    private lastPlain = 0;
    private drawn = false;

    constructor(private readonly io: CliIO, private readonly everyMs = 5000) {}

    update(text: string, elapsedMs: number): void {
        if (this.io.stderrTTY) {
            this.io.stderr(`\r\u001b[2K${FRAMES[this.frame++ % FRAMES.length]} ${text} (${(elapsedMs / 1000).toFixed(0)}s)`);
            this.drawn = true;
        } else if (elapsedMs - this.lastPlain >= this.everyMs) {
            this.lastPlain = elapsedMs;
            this.io.stderr(`${text} (${(elapsedMs / 1000).toFixed(0)}s)\n`);
        }
    }

    done(): void {
        if (this.drawn) this.io.stderr("\r\u001b[2K");
        this.drawn = false;
    }
}
