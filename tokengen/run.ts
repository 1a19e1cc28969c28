import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { KeyObject } from "node:crypto";
import type { Logger } from "../lib/log";
import { writeFileAtomic } from "./atomic";
import type { Config } from "./config";
import { AuthError, ConfigError, exitCodeFor, EXIT_OK, EXIT_TRANSIENT } from "./errors";
import { GitHubAppClient, InterruptedError, RuntimeDeps } from "./github";
import { resolveInstallation } from "./installation";
import { refreshAtMs, refreshRetryDelayMs, secondsUntil } from "./refresh";

export type RunDeps = RuntimeDeps;

export interface WrittenToken {
    installationId: number;
    expiresAt: Date;
}

/** Mints installation tokens for one config and writes them; remembers the installation id between refreshes. */
export class TokenWriter {
    private readonly client: GitHubAppClient;
    private installationId: number | undefined;
    private readonly log: Logger;

    constructor(private readonly cfg: Config, key: KeyObject, deps: RunDeps) {
        this.log = deps.logger.child({ appId: cfg.appId });
        this.client = new GitHubAppClient({ apiUrl: cfg.apiUrl, appId: cfg.appId, key, ...deps, logger: this.log });
        this.installationId = cfg.installationId;
    }

    async mintAndWrite(): Promise<WrittenToken> {
        if (this.installationId === undefined) {
            const found = await resolveInstallation(this.client, this.cfg, this.cfg.appId);
            this.installationId = found.id;
            this.log.info({ installationId: found.id, account: found.account }, "installation discovered");
        }
        const installationId = this.installationId;
        let t;
        try {
            t = await this.client.createToken(installationId, { repositories: this.cfg.repositories, permissions: this.cfg.permissions });
        } catch (e) {
            // A discovered installation can be removed and the App re-installed under a new id: look it up
            // again on the next attempt. An explicit INSTALLATION_ID is the user's to fix.
            if (e instanceof AuthError && e.status === 404 && this.cfg.installationId === undefined) this.installationId = undefined;
            throw e;
        }
        try {
            // A group-readable token needs a group-searchable directory when we create it (an emptyDir mount exists).
            await ensureDir(path.dirname(this.cfg.outputPath), this.cfg.outputMode & 0o040 ? 0o750 : 0o700);
            // Token first, expiry second: a reader that sees the new token with the old expiry under-estimates
            // its life, which is the safe direction.
            await writeFileAtomic(this.cfg.outputPath, t.token, this.cfg.outputMode);
            await writeFileAtomic(this.cfg.expiresPath, t.expiresAt.toISOString(), this.cfg.outputMode);
        } catch (e) {
            const code = (e as NodeJS.ErrnoException).code ?? "write error";
            throw new ConfigError("OUTPUT_PATH", `cannot write ${JSON.stringify(this.cfg.outputPath)} (${code})`, `mount a writable volume (emptyDir) at ${path.dirname(this.cfg.outputPath)} and give the container user (uid 65532) write access, e.g. with fsGroup`);
        }
        this.log.info({ installationId, expiresAt: t.expiresAt.toISOString() }, "installation token written");
        return { installationId, expiresAt: t.expiresAt };
    }
}

/**
 * Creates the output directory's last level only: the volume itself must exist. (Also avoids Node's recursive
 * mkdir, which spins forever on some paths, e.g. under /proc.)
 */
async function ensureDir(dir: string, mode: number): Promise<void> {
    try {
        await fsp.mkdir(dir, { mode });
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
}

/** Reads a token/expiry pair left by the init container (or a previous sidecar run); undefined if unusable. */
export async function readExistingExpiry(cfg: Config): Promise<Date | undefined> {
    try {
        const [token, exp] = await Promise.all([fsp.readFile(cfg.outputPath, "utf8"), fsp.readFile(cfg.expiresPath, "utf8")]);
        const d = new Date(exp.trim());
        if (token.length === 0 || Number.isNaN(d.getTime())) return undefined;
        return d;
    } catch {
        return undefined;
    }
}

/** Init-container mode: one token, then return. Errors propagate with their exit codes. */
export async function runOnce(cfg: Config, key: KeyObject, deps: RunDeps): Promise<WrittenToken> {
    return new TokenWriter(cfg, key, deps).mintAndWrite();
}

/**
 * Sidecar mode: keep a valid token on disk until the signal fires. The first token is reused from disk when
 * the init container just wrote it; afterwards each refresh happens REFRESH_BEFORE_SECONDS before expiry.
 * A failed refresh leaves the old token in place (still valid) and is retried with backoff; only once the
 * old token has expired does a non-transient error (auth/config) end the process with its exit code, so the
 * pod shows the failure instead of serving a dead token silently.
 */
export async function runSidecar(cfg: Config, key: KeyObject, deps: RunDeps): Promise<number> {
    const log = deps.logger.child({ appId: cfg.appId });
    const writer = new TokenWriter(cfg, key, deps);
    let expiresAt = await readExistingExpiry(cfg);
    let nextAt: number;
    if (expiresAt && refreshAtMs(expiresAt.getTime(), cfg.refreshBeforeSeconds, deps.now()) > deps.now()) {
        nextAt = refreshAtMs(expiresAt.getTime(), cfg.refreshBeforeSeconds, deps.now());
        log.info({ expiresAt: expiresAt.toISOString(), refreshInSeconds: secondsUntil(nextAt, deps.now()) }, "reusing the token already on disk");
    } else {
        nextAt = deps.now();
    }
    let failures = 0;
    for (;;) {
        if (!(await sleepUntil(nextAt, deps))) break;
        try {
            const w = await writer.mintAndWrite();
            expiresAt = w.expiresAt;
            failures = 0;
            nextAt = refreshAtMs(w.expiresAt.getTime(), cfg.refreshBeforeSeconds, deps.now());
            log.info({ installationId: w.installationId, expiresAt: w.expiresAt.toISOString(), refreshInSeconds: secondsUntil(nextAt, deps.now()) }, "next refresh scheduled");
        } catch (e) {
            if (e instanceof InterruptedError || deps.signal?.aborted) break;
            failures++;
            const now = deps.now();
            const stillValid = expiresAt !== undefined && expiresAt.getTime() > now;
            const fatal = exitCodeFor(e) !== EXIT_TRANSIENT;
            if (!stillValid && fatal) {
                log.error({ error: (e as Error).message, exitCode: exitCodeFor(e) }, "token refresh failed and no valid token remains");
                return exitCodeFor(e);
            }
            const delay = refreshRetryDelayMs(failures, expiresAt?.getTime(), now, deps.random);
            log.error({ error: (e as Error).message, failures, retryInSeconds: Math.round(delay / 1000), currentExpiresAt: expiresAt?.toISOString(), stillValid }, "token refresh failed; keeping the current token");
            nextAt = now + delay;
        }
    }
    log.info("termination signal received, sidecar exiting");
    return EXIT_OK;
}

/**
 * Sleeps in chunks of at most a minute and re-reads the clock each time, so a suspended node or a slow
 * timer cannot make the refresh late by more than a chunk. False when the signal fired.
 */
async function sleepUntil(atMs: number, deps: RunDeps): Promise<boolean> {
    for (;;) {
        if (deps.signal?.aborted) return false;
        const left = atMs - deps.now();
        if (left <= 0) return true;
        await deps.sleep(Math.min(left, 60_000), deps.signal);
    }
}
