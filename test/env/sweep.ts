import { existsSync, promises as fs, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pidAlive } from "./process";
import { cleanupStaleNode } from "./node-runtime";

/**
 * Leftovers of environments whose owner died without cleaning up (SIGKILL, OOM, a CI timeout): the exit hooks
 * cannot run then. Every environment dir holds an owner.pid; a dir whose owner is gone is swept at the next start:
 * servers still running FOR THAT DIR (their command line or working directory names it) are SIGKILLed by pid, and
 * the dir is removed. Nothing else is touched.
 */
export const OWNER_FILE = "owner.pid";
export const ENV_DIR_PREFIX = "ps-env-";

export async function writeOwner(dir: string): Promise<void> {
    await fs.writeFile(path.join(dir, OWNER_FILE), String(process.pid));
}


/** True when a process's argv or cwd refers to `dir` (pure; exported for tests). */
export function processBelongsTo(dir: string, cmdline: string, cwd: string | undefined): boolean {
    const d = dir.endsWith("/") ? dir : `${dir}/`;
    return cmdline.split("\0").some((a) => a.includes(d) || a.endsWith(dir)) || cwd === dir || (cwd?.startsWith(d) ?? false);
}

function pidsUsing(dir: string): number[] {
    const out: number[] = [];
    for (const e of readdirSync("/proc")) {
        if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
        try {
            const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8");
            let cwd: string | undefined;
            try {
                cwd = readlinkSync(`/proc/${e}/cwd`);
            } catch {
                cwd = undefined;
            }
            if (processBelongsTo(dir, cmd, cwd)) out.push(Number(e));
        } catch {
            /* exited meanwhile */
        }
    }
    return out;
}

/** Sweeps dead environments' dirs under the temp dir; returns the dirs removed. */
export async function sweepStale(root = tmpdir()): Promise<string[]> {
    if (!existsSync("/proc")) return [];
    const removed: string[] = [];
    for (const name of readdirSync(root)) {
        if (!name.startsWith(ENV_DIR_PREFIX)) continue;
        const dir = path.join(root, name);
        let owner: number;
        try {
            owner = Number(readFileSync(path.join(dir, OWNER_FILE), "utf8").trim());
        } catch {
            continue; // no owner file: not ours to judge (or still being created)
        }
        if (!Number.isInteger(owner) || owner <= 0 || pidAlive(owner)) continue;
        for (const pid of pidsUsing(dir)) {
            try {
                process.kill(pid, "SIGKILL");
            } catch {
                /* gone */
            }
        }
        // A test node's leftovers (containers, Pod network namespaces, mounts, its own namespace) outlive its processes.
        cleanupStaleNode(dir);
        await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
        removed.push(dir);
    }
    return removed;
}
