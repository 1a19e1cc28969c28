import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { Client } from "pg";
import { Progress, stderrProgress } from "./build";
import { waitUntil } from "./http";
import { freePort, isAddressInUse } from "./ports";
import { ManagedProcess, onProcessExit } from "./process";
import { openssl } from "./pki";
import { writeOwner } from "./sweep";

const execFileP = promisify(execFile);

export interface PostgresServer {
    process: ManagedProcess;
    dir: string;
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
    url: string;
    /** PEM of the throwaway CA that signed the server's TLS certificate (SAN IP:127.0.0.1 only); ssl is on. */
    caPem: string;
    /** The server's stderr log (statements appear here when log_statement is set). */
    logPath: string;
}

const PG_ROOT = "/usr/lib/postgresql";

/** The newest /usr/lib/postgresql/<major>/bin that has initdb and postgres, or undefined. */
export function findPostgresBin(root = PG_ROOT): string | undefined {
    if (!existsSync(root)) return undefined;
    const majors = readdirSync(root)
        .filter((d) => /^\d+$/.test(d))
        .sort((a, b) => Number(b) - Number(a));
    for (const m of majors) {
        const bin = path.join(root, m, "bin");
        if (existsSync(path.join(bin, "initdb")) && existsSync(path.join(bin, "postgres"))) return bin;
    }
    return undefined;
}

/** Installs Debian's postgresql when missing (root only; otherwise names the command to run). */
export async function ensurePostgresInstalled(progress: Progress = stderrProgress): Promise<string> {
    const found = findPostgresBin();
    if (found) return found;
    if (process.getuid?.() !== 0) {
        throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql: run `sudo apt-get install -y postgresql`");
    }
    progress("PostgreSQL not installed: apt-get update && apt-get install -y postgresql (one-time)");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
        await execFileP("apt-get", ["update"], { env, maxBuffer: 64 << 20 });
        await execFileP("apt-get", ["install", "-y", "--no-install-recommends", "postgresql"], { env, maxBuffer: 64 << 20 });
    } catch (e) {
        throw new Error(`apt-get install postgresql failed: ${(e as { stderr?: string }).stderr ?? String(e)}`);
    }
    const bin = findPostgresBin();
    if (!bin) throw new Error("apt-get install postgresql succeeded but no server binaries are under /usr/lib/postgresql");
    return bin;
}

interface RunAs {
    uid: number;
    gid: number;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` system user. */
async function runAsUser(): Promise<RunAs | undefined> {
    if (process.getuid?.() !== 0) return undefined;
    const { stdout } = await execFileP("id", ["-u", "postgres"]).catch(() => {
        throw new Error("running as root and there is no `postgres` system user to run initdb/postgres as (it comes with apt-get install postgresql)");
    });
    const { stdout: g } = await execFileP("id", ["-g", "postgres"]);
    return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}

function runChecked(cmd: string, args: string[], as: RunAs | undefined, cwd: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], ...(as ?? {}) });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited ${code}: ${out.trim().slice(-2000)}`))));
    });
}

export function postgresArgs(dataDir: string, port: number, socketDir: string, tls?: { certFile: string; keyFile: string }): string[] {
    const ssl = tls ? ["-c", "ssl=on", "-c", `ssl_cert_file=${tls.certFile}`, "-c", `ssl_key_file=${tls.keyFile}`] : [];
    return [
        "-D", dataDir,
        "-p", String(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", `unix_socket_directories=${socketDir}`,
        // Throwaway data: durability settings off for speed.
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        ...ssl,
    ];
}

/** postgres://user:password@host:port/db with every part URL-encoded. */
export function postgresUrl(p: { user: string; password: string; host: string; port: number; database: string }): string {
    const e = encodeURIComponent;
    return `postgres://${e(p.user)}:${e(p.password)}@${p.host}:${p.port}/${e(p.database)}`;
}


/**
 * A throwaway CA and a server certificate for 127.0.0.1 (IP SAN only, so a client checking another host name
 * fails), in `dir/tls`, the key readable by the server's user only (PostgreSQL refuses a group/world-readable key).
 */
async function createPostgresTls(dir: string, as: RunAs | undefined): Promise<{ certFile: string; keyFile: string; caPem: string }> {
    const tls = path.join(dir, "tls");
    await fs.mkdir(tls, { mode: 0o700 });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3", "-subj", "/CN=platform-secrets-test-postgres-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], tls);
    await fs.writeFile(path.join(tls, "server.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n");
    await openssl(["req", "-new", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=platform-secrets-test-postgres"], tls);
    await openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3", "-out", "server.crt", "-extfile", "server.ext"], tls);
    await fs.rm(path.join(tls, "ca.key"));
    const certFile = path.join(tls, "server.crt");
    const keyFile = path.join(tls, "server.key");
    await fs.chmod(keyFile, 0o600);
    if (as) {
        for (const f of [tls, certFile, keyFile]) await fs.chown(f, as.uid, as.gid);
    }
    return { certFile, keyFile, caPem: await fs.readFile(path.join(tls, "ca.crt"), "utf8") };
}

/**
 * A throwaway cluster in its own temp dir (owned by the postgres user when running as root), scram password auth,
 * listening on 127.0.0.1 only with the unix socket inside the temp dir. TLS is on (optional for clients: pg_hba
 * `host` lines match both), with a certificate from a throwaway CA exposed as `caPem`.
 */
export async function startPostgres(progress: Progress = stderrProgress, attempts = 3): Promise<PostgresServer> {
    const bin = await ensurePostgresInstalled(progress);
    const as = await runAsUser();
    const dir = await fs.mkdtemp(path.join(tmpdir(), "ps-env-pg-"));
    // Until the caller owns the dir (on success), an abnormal exit during start-up must still remove it.
    const unregister = onProcessExit(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
    await writeOwner(dir);
    try {
        return await startIn(dir, bin, as, attempts);
    } catch (e) {
        await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
        throw e;
    } finally {
        unregister();
    }
}

async function startIn(dir: string, bin: string, as: RunAs | undefined, attempts: number): Promise<PostgresServer> {
    if (as) await fs.chown(dir, as.uid, as.gid);
    const password = randomBytes(18).toString("base64url");
    const pwfile = path.join(dir, "pwfile");
    await fs.writeFile(pwfile, password + "\n", { mode: 0o600 });
    if (as) await fs.chown(pwfile, as.uid, as.gid);
    const dataDir = path.join(dir, "data");
    const user = "postgres";
    await runChecked(
        path.join(bin, "initdb"),
        ["-D", dataDir, "-U", user, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"],
        as,
        dir,
    );
    await fs.rm(pwfile);
    const tls = await createPostgresTls(dir, as);
    const logPath = path.join(dir, "postgres.log");
    for (let i = 1; ; i++) {
        const port = await freePort();
        const proc = new ManagedProcess("postgres", path.join(bin, "postgres"), postgresArgs(dataDir, port, dir, tls), logPath, {
            cwd: dir,
            env: { ...process.env, ...(as ? { HOME: dir } : {}) },
            // SIGTERM is a "smart" shutdown that waits for every client; SIGINT is the fast one.
            stopSignal: "SIGINT",
            ...(as ?? {}),
        });
        const conn = { host: "127.0.0.1", port, user, password, database: "postgres" };
        try {
            await waitUntil(
                "postgres",
                async () => {
                    const c = new Client({ ...conn, connectionTimeoutMillis: 1000 });
                    await c.connect();
                    try {
                        await c.query("SELECT 1");
                    } finally {
                        await c.end();
                    }
                    return true;
                },
                { timeoutMs: 20_000, everyMs: 100, alive: () => proc.assertRunning() },
            );
            return { process: proc, dir, ...conn, url: postgresUrl(conn), caPem: tls.caPem, logPath };
        } catch (e) {
            await proc.stop(2000);
            const msg = e instanceof Error ? e.message : String(e);
            if (i >= attempts || !isAddressInUse(msg)) throw e;
        }
    }
}
