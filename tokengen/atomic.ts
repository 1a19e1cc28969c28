import { promises as fsp } from "node:fs";
import { randomBytes } from "node:crypto";
import * as path from "node:path";

/**
 * Replaces `target` so a concurrent reader sees either the old or the new content, never a partial file:
 * a temp file in the same directory (rename is only atomic within one filesystem) is created with `mode`
 * (no window where it is world-readable), written, fsynced, renamed over the target, and the directory is
 * fsynced so the rename survives a node crash. On failure the temp file is removed.
 */
export async function writeFileAtomic(target: string, content: string, mode = 0o600): Promise<void> {
    const dir = path.dirname(target);
    const tmp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
    const fh = await fsp.open(tmp, "wx", mode);
    let renamed = false;
    try {
        try {
            // umask can only remove bits; chmod makes the mode exactly `mode` whatever the umask.
            await fh.chmod(mode);
            await fh.writeFile(content, "utf8");
            await fh.sync();
        } finally {
            await fh.close();
        }
        await fsp.rename(tmp, target);
        renamed = true;
        await fsyncDir(dir);
    } finally {
        if (!renamed) await fsp.rm(tmp, { force: true });
    }
}

async function fsyncDir(dir: string): Promise<void> {
    const dh = await fsp.open(dir, "r");
    try {
        await dh.sync();
    } catch (e) {
        // Some filesystems refuse fsync on a directory; the rename itself has already happened.
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EPERM") throw e;
    } finally {
        await dh.close();
    }
}
