import { createServer, Server, Socket } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A STAND-IN for a hostile or misconfigured PostgreSQL server — not PostgreSQL. It speaks just enough of the v3 wire
 * protocol to ask a client for a weak authentication method (cleartext or MD5 password) or to let it in without
 * any (trust), refuses TLS ('N' to SSLRequest), and records every byte and message the client sends, so a test can
 * prove the client never sent a password ('p' message) or anything containing a planted value.
 */
export type StandInAuthMode = "cleartext" | "md5" | "trust";

export interface ReceivedMessage {
    /** One-letter message type; "startup", "ssl-request", "gss-request" or "cancel" for the untyped first messages. */
    type: string;
    length: number;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;

function msg(type: string, body: Buffer): Buffer {
    const head = Buffer.alloc(5);
    head.write(type, 0, "latin1");
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
}

function int32(...ns: number[]): Buffer {
    const b = Buffer.alloc(4 * ns.length);
    ns.forEach((n, i) => b.writeInt32BE(n, 4 * i));
    return b;
}

export class HostilePgServer {
    readonly messages: ReceivedMessage[] = [];
    readonly startups: Record<string, string>[] = [];
    private readonly chunks: Buffer[] = [];
    private readonly sockets = new Set<Socket>();
    private server?: Server;

    constructor(readonly auth: StandInAuthMode) {}

    /** Listens on 127.0.0.1 with a random port. */
    async start(): Promise<{ host: string; port: number }> {
        const server = createServer((s) => this.serve(s));
        this.server = server;
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return { host: "127.0.0.1", port: (server.address() as AddressInfo).port };
    }

    async stop(): Promise<void> {
        for (const s of this.sockets) s.destroy();
        const srv = this.server;
        if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
    }

    /** Every byte any client sent. */
    received(): Buffer {
        return Buffer.concat(this.chunks);
    }

    /** PasswordMessages ('p': cleartext password, MD5 hash, or a SASL response) received. */
    passwordMessages(): number {
        return this.messages.filter((m) => m.type === "p").length;
    }

    private serve(s: Socket): void {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
        let buf = Buffer.alloc(0);
        let started = false;
        s.on("data", (d: Buffer) => {
            this.chunks.push(d);
            buf = Buffer.concat([buf, d]);
            for (;;) {
                if (!started) {
                    if (buf.length < 8) return;
                    const len = buf.readInt32BE(0);
                    if (buf.length < len) return;
                    const code = buf.readInt32BE(4);
                    const body = buf.subarray(8, len);
                    buf = buf.subarray(len);
                    if (code === SSL_REQUEST || code === GSS_REQUEST) {
                        this.messages.push({ type: code === SSL_REQUEST ? "ssl-request" : "gss-request", length: len });
                        s.write("N");
                        continue;
                    }
                    if (code === CANCEL_REQUEST) {
                        this.messages.push({ type: "cancel", length: len });
                        s.end();
                        return;
                    }
                    this.messages.push({ type: "startup", length: len });
                    if (code !== PROTOCOL_3) {
                        s.end();
                        return;
                    }
                    const parts = body.toString("utf8").split("\0");
                    const params: Record<string, string> = {};
                    for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) params[parts[i]!] = parts[i + 1]!;
                    this.startups.push(params);
                    started = true;
                    this.askForAuth(s);
                    continue;
                }
                if (buf.length < 5) return;
                const len = buf.readInt32BE(1);
                if (buf.length < len + 1) return;
                const type = String.fromCharCode(buf[0]!);
                buf = buf.subarray(len + 1);
                this.messages.push({ type, length: len });
                if (type === "X") {
                    s.end();
                    return;
                }
                // A naive server would now check the password; this one just rejects everything.
                if (type === "p") s.end(msg("E", Buffer.from("SFATAL\0C28P01\0Mstand-in: rejected\0\0")));
            }
        });
    }

    private askForAuth(s: Socket): void {
        switch (this.auth) {
            case "cleartext":
                s.write(msg("R", int32(3)));
                return;
            case "md5":
                s.write(msg("R", Buffer.concat([int32(5), Buffer.from([1, 2, 3, 4])])));
                return;
            case "trust":
                s.write(Buffer.concat([msg("R", int32(0)), msg("S", Buffer.from("server_version\x0015.0\0")), msg("K", int32(1, 2)), msg("Z", Buffer.from("I"))]));
                return;
        }
    }
}
