import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, promises as fsp, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../../tokengen";
import { tempDir } from "./helpers";

/**
 * A separate process reads the file in a tight synchronous loop (a real concurrent reader, not interleaved
 * promises) and counts reads that are not one of the complete contents: empty, short, or mixed.
 */
const READER = `
const fs = require("fs");
const [file, stop, size] = process.argv.slice(1);
const n = Number(size);
const A = "A".repeat(n), B = "B".repeat(n);
let reads = 0, bad = 0, missing = 0, changes = 0, last = "";
process.stdout.write("ready\\n");
while (!fs.existsSync(stop)) {
  let s;
  try { s = fs.readFileSync(file, "latin1"); } catch (e) { missing++; continue; }
  reads++;
  if (s === A || s === B) { if (s[0] !== last) { changes++; last = s[0]; } } else bad++;
}
process.stdout.write(JSON.stringify({ reads, bad, missing, changes }) + "\\n");
`;

interface RaceResult {
    reads: number;
    bad: number;
    missing: number;
    /** How often the reader saw the content flip: proof that it really ran during the writes. */
    changes: number;
}

async function raceReader(write: (file: string, content: string) => Promise<void>, rounds: number): Promise<RaceResult> {
    const { dir, cleanup } = tempDir("tokengen-atomic-");
    try {
        const file = path.join(dir, "token");
        const stop = path.join(dir, "stop");
        const size = 1 << 20; // 1 MiB: a write takes long enough for a naive writer to be caught mid-way
        const a = "A".repeat(size);
        const b = "B".repeat(size);
        writeFileSync(file, a, { mode: 0o600 });
        const child = spawn(process.execPath, ["-e", READER, file, stop, String(size)], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        const ready = new Promise<void>((resolve) =>
            child.stdout.on("data", (c: Buffer) => {
                out += c.toString();
                if (out.includes("ready")) resolve();
            }),
        );
        const done = new Promise<void>((resolve) => child.on("exit", () => resolve()));
        await ready;
        for (let i = 0; i < rounds; i++) await write(file, i % 2 === 0 ? b : a);
        writeFileSync(stop, "");
        await done;
        const result = JSON.parse(out.split("\n").filter((l) => l.startsWith("{"))[0] as string) as RaceResult;
        // no temp files left behind
        assert.deepEqual(readdirSync(dir).sort(), ["stop", "token"]);
        return result;
    } finally {
        cleanup();
    }
}

describe("tokengen atomic write", () => {
    it("a concurrent reader never sees a partial, empty or missing file while the token is replaced", async function () {
        this.timeout(60_000);
        const r = await raceReader((f, c) => writeFileAtomic(f, c), 150);
        assert.equal(r.bad, 0, JSON.stringify(r));
        assert.equal(r.missing, 0, JSON.stringify(r));
        assert.ok(r.changes >= 10, `the reader must actually race the writer: ${JSON.stringify(r)}`);
    });

    it("control: the same reader does catch a naive in-place writer (so the test above can fail)", async function () {
        this.timeout(60_000);
        const r = await raceReader((f, c) => fsp.writeFile(f, c), 150);
        assert.ok(r.bad > 0, `expected torn reads from a naive writer: ${JSON.stringify(r)}`);
    });

    it("creates the file with mode 0600 whatever the umask, and resets a looser existing mode", async () => {
        const { dir, cleanup } = tempDir();
        const old = process.umask(0);
        try {
            const f = path.join(dir, "token");
            await writeFileAtomic(f, "x");
            assert.equal(statSync(f).mode & 0o777, 0o600);
            chmodSync(f, 0o644);
            assert.equal(statSync(f).mode & 0o777, 0o644);
            await writeFileAtomic(f, "z");
            assert.equal(statSync(f).mode & 0o777, 0o600);
        } finally {
            process.umask(old);
            cleanup();
        }
    });

    it("removes its temp file when the rename fails", async () => {
        const { dir, cleanup } = tempDir();
        try {
            const target = path.join(dir, "token");
            await fsp.mkdir(path.join(target, "occupied"), { recursive: true }); // a non-empty directory cannot be renamed over
            await assert.rejects(writeFileAtomic(target, "x"));
            assert.deepEqual(readdirSync(dir), ["token"]);
        } finally {
            cleanup();
        }
    });
});
