import { generateKeyPairSync, KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { SleepFn } from "../../../tokengen";

export interface TestKeys {
    pkcs1: string;
    pkcs8: string;
    publicKey: KeyObject;
}

let cached: TestKeys | undefined;

/** One RSA key pair per test process, as PKCS#1 and PKCS#8 PEM (generation is the slow part). */
export function appKeys(): TestKeys {
    if (!cached) cached = newKeys();
    return cached;
}

export function newKeys(): TestKeys {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    return {
        pkcs1: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
        pkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        publicKey,
    };
}

/** A clock that only moves when told (or when the fake sleep "waits"). */
export class FakeClock {
    constructor(public t: number = Date.now()) {}
    now = (): number => this.t;
    advance(ms: number): void {
        this.t += ms;
    }
}

/**
 * A sleep that records each requested delay and advances the fake clock by it at once. `onSleep` runs
 * after the advance (tests abort from there). Yields to the event loop so real I/O keeps flowing.
 */
export function fakeSleep(clock: FakeClock, onSleep?: (ms: number, delays: number[]) => void): { sleep: SleepFn; delays: number[] } {
    const delays: number[] = [];
    const sleep: SleepFn = async (ms, signal) => {
        if (signal?.aborted) return;
        delays.push(ms);
        clock.advance(ms);
        onSleep?.(ms, delays);
        await new Promise((r) => setImmediate(r));
    };
    return { sleep, delays };
}

export function tempDir(prefix = "tokengen-"): { dir: string; cleanup: () => void } {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The base64 body lines of a PEM: what would leak if the key were echoed. */
export function pemBodyFragments(pem: string): string[] {
    return pem.split("\n").filter((l) => l && !l.startsWith("-----")).filter((l) => l.length >= 40);
}
