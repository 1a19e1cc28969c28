import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/** Debian's Chromium (what playwright-core drives: no browser download), or PS_CHROMIUM. */
export const CHROMIUM = process.env.PS_CHROMIUM ?? "/usr/bin/chromium";

/** Flags for this machine's closed network: no background connections, no sandbox as root, a fresh profile. */
export const CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Installs Debian's chromium when missing (root only; otherwise names the command to run), like the PostgreSQL set-up. */
export async function ensureChromium(progress: (m: string) => void = (m) => process.stderr.write(`[test-env] ${m}\n`)): Promise<string> {
    if (existsSync(CHROMIUM)) return CHROMIUM;
    if (process.env.PS_CHROMIUM || process.getuid?.() !== 0) throw new Error(`${CHROMIUM} not found: run \`sudo apt-get install -y chromium\` (or set PS_CHROMIUM)`);
    progress("Chromium not installed: apt-get update && apt-get install -y chromium (one-time, for the dashboard's browser test)");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
        await execFileP("apt-get", ["update"], { env, maxBuffer: 64 << 20 });
        await execFileP("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { env, maxBuffer: 64 << 20 });
    } catch (e) {
        throw new Error(`apt-get install chromium failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
    }
    if (!existsSync(CHROMIUM)) throw new Error(`apt-get install chromium succeeded but ${CHROMIUM} is missing`);
    return CHROMIUM;
}
