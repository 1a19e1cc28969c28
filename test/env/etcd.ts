import { promises as fs } from "node:fs";
import * as path from "node:path";
import { request, waitUntil } from "./http";
import { freePorts, retryOnAddressInUse } from "./ports";
import { ManagedProcess } from "./process";

export interface EtcdServer {
    process: ManagedProcess;
    clientUrl: string;
}

/** The etcd command line: one member, loopback only, no fsync (test data is throwaway). */
export function etcdArgs(dataDir: string, clientPort: number, peerPort: number): string[] {
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    return [
        "--name=test",
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=test=${peer}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ];
}

async function startOnce(bin: string, dir: string): Promise<EtcdServer> {
    const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
    const dataDir = path.join(dir, "etcd-data");
    await fs.rm(dataDir, { recursive: true, force: true });
    const proc = new ManagedProcess("etcd", bin, etcdArgs(dataDir, clientPort, peerPort), path.join(dir, "etcd.log"));
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    try {
        await waitUntil(
            "etcd",
            async () => {
                const r = await request(`${clientUrl}/health`, { timeoutMs: 1000 });
                return r.status === 200 && /"health":\s*"true"/.test(r.body);
            },
            { timeoutMs: 15_000, everyMs: 50, alive: () => proc.assertRunning() },
        );
    } catch (e) {
        await proc.stop(1000);
        throw e;
    }
    return { process: proc, clientUrl };
}

/** Starts etcd on fresh random ports, retrying when a port was taken between choosing and binding it. */
export async function startEtcd(bin: string, dir: string, attempts = 3): Promise<EtcdServer> {
    return retryOnAddressInUse(() => startOnce(bin, dir), attempts);
}
