import * as net from "node:net";

/**
 * Byte relays between accepted connections and their upstreams (the TLS front, the node's forwarders). Tracks every
 * open socket, because `server.close()` waits for each connection to end: a watch or a database session half-closed
 * by a teardown would hold the close (and the environment's stop) forever, so `destroyAll` ends them first.
 */
export class Relays {
    private readonly open = new Set<net.Socket>();

    /** Pipes `a` and `b` both ways; an error on either side destroys the other. */
    join(a: net.Socket, b: net.Socket): void {
        for (const s of [a, b]) {
            this.open.add(s);
            s.once("close", () => this.open.delete(s));
        }
        a.on("error", () => b.destroy());
        b.on("error", () => a.destroy());
        a.pipe(b);
        b.pipe(a);
    }

    destroyAll(): void {
        for (const s of this.open) s.destroy();
    }
}
