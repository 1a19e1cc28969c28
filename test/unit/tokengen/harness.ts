import * as path from "node:path";
import { capturingLogger } from "../../support";
import { GitHubStandIn, StandInInstallation, StandInOptions } from "../../support/github-standin";
import { main, MainDeps, Mode } from "../../../tokengen";
import { appKeys, FakeClock, fakeSleep, tempDir } from "./helpers";

export const APP_ID = "31337";

export const ACME: StandInInstallation = { id: 1001, appId: APP_ID, account: { login: "acme", type: "Organization" }, repositories: ["widgets", "gadgets"] };
export const OTHER: StandInInstallation = { id: 1002, appId: APP_ID, account: { login: "other-org", type: "Organization" } };
export const JANE: StandInInstallation = { id: 1003, appId: APP_ID, account: { login: "jane", type: "User" } };

export interface Harness {
    standin: GitHubStandIn;
    apiUrl: string;
    clock: FakeClock;
    dir: string;
    outputPath: string;
    env: Record<string, string>;
    close(): Promise<void>;
}

/** A stand-in with the test App registered, a fake clock shared by both sides and a temp output dir. */
export async function harness(opts: Partial<StandInOptions> = {}): Promise<Harness> {
    const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
    const standin = new GitHubStandIn({ apps: [{ appId: APP_ID, publicKey: appKeys().publicKey }], installations: [ACME], now: clock.now, ...opts });
    const apiUrl = await standin.start();
    const { dir, cleanup } = tempDir();
    const outputPath = path.join(dir, "github", "token");
    return {
        standin,
        apiUrl,
        clock,
        dir,
        outputPath,
        env: { APP_ID, PRIVATE_KEY: appKeys().pkcs1, OUTPUT_PATH: outputPath, GITHUB_API_URL: apiUrl, LOG_LEVEL: "trace" },
        close: async () => {
            await standin.stop();
            cleanup();
        },
    };
}

export interface MainRun {
    code: number;
    logs: string;
    lines: string[];
    delays: number[];
}

/** Runs main() in-process against the harness with a capturing logger and a recording fake sleep. */
export async function runMain(h: Harness, mode: Mode, env: Record<string, string | undefined>, extra: Partial<MainDeps> & { onSleep?: (ms: number, delays: number[]) => void } = {}): Promise<MainRun> {
    const cap = capturingLogger("tokengen-test");
    const { sleep, delays } = fakeSleep(h.clock, extra.onSleep);
    const signal = extra.signal ?? new AbortController().signal;
    const code = await main([mode], { env, now: h.clock.now, sleep, random: () => 0.5, logger: () => cap.logger, readFile: () => "", ...extra, signal });
    return { code, logs: cap.text(), lines: cap.lines, delays };
}

/** The message of the "tokengen failed" log line, which carries the error main reports. */
export function failureMessage(r: MainRun): string {
    const line = r.lines.map((l) => JSON.parse(l) as { msg: string; error?: string }).find((l) => l.msg === "tokengen failed");
    return line?.error ?? "";
}
