import type { Client } from "pg";
import { getEnv } from "../fixture";
import { admin, unb64 } from "./helpers";

/**
 * STAND-IN for a Deployment's Pods where no node runs them (the Pods the controller-manager creates stay Pending in
 * this test; test/integration/env/node.test.ts runs real ones). It keeps the contract a database client has with its
 * Secret: each replica reads the consumer Secret once at start (env vars), keeps one pooled session open and opens a
 * new connection every `everyMs` with what it read. When the reconciler restarts the Deployment (its pod template's
 * annotations change), replicas are replaced one at a time `stepMs` apart, new before old (maxSurge 1,
 * maxUnavailable 0), each new one reading the Secret as it is then.
 */
export interface FleetOptions {
    ns: string;
    deployment: string;
    secret: string;
    replicas: number;
    everyMs: number;
    stepMs: number;
    /** The login role when the Secret names none (the single strategy's one role). */
    defaultUser: string;
    usernameKey?: string;
    passwordKey?: string;
}

interface Replica {
    user: string;
    password: string;
    session?: Client;
    timer?: NodeJS.Timeout;
    busy: boolean;
}

export interface FleetStats {
    attempts: number;
    failed: number;
    /** Failed logins by role. */
    failedBy: Record<string, number>;
    /** First and last failed login (epoch ms): the window in which Pods could not log in. */
    firstFailAt?: number;
    lastFailAt?: number;
}

async function connect(user: string, password: string): Promise<Client> {
    const { Client } = await import("pg");
    const pg = getEnv().postgres;
    const c = new Client({ host: pg.host, port: pg.port, database: pg.database, user, password, connectionTimeoutMillis: 5000 });
    c.on("error", () => undefined);
    await c.connect();
    return c;
}

export class Fleet {
    readonly stats: FleetStats = { attempts: 0, failed: 0, failedBy: {} };
    private replicas: Replica[] = [];
    private template = "";
    private rollouts = 0;
    private rolling: Promise<void> = Promise.resolve();
    private poll?: NodeJS.Timeout;
    private stopped = false;

    private constructor(private readonly o: FleetOptions) {}

    static async start(o: FleetOptions): Promise<Fleet> {
        const f = new Fleet(o);
        f.template = await f.templateKey();
        for (let i = 0; i < o.replicas; i++) f.replicas.push(await f.startReplica());
        f.poll = setInterval(() => void f.watch(), 100);
        return f;
    }

    /** Rollouts seen (each a change of the pod template's annotations). */
    get rolloutsSeen(): number {
        return this.rollouts;
    }

    /** Waits until every rollout seen so far has replaced all replicas. */
    settled(): Promise<void> {
        return this.rolling;
    }

    /** What each replica logs in as now: [user, password] pairs. */
    logins(): [string, string][] {
        return this.replicas.map((r) => [r.user, r.password]);
    }

    resetStats(): void {
        Object.assign(this.stats, { attempts: 0, failed: 0, failedBy: {}, firstFailAt: undefined, lastFailAt: undefined });
    }

    async stop(): Promise<void> {
        this.stopped = true;
        clearInterval(this.poll);
        await this.rolling.catch(() => undefined);
        await Promise.all(this.replicas.map((r) => this.stopReplica(r)));
        this.replicas = [];
    }

    private async templateKey(): Promise<string> {
        const d = await (await admin()).request("GET", `/apis/apps/v1/namespaces/${this.o.ns}/deployments/${this.o.deployment}`);
        return JSON.stringify(d.spec.template.metadata?.annotations ?? {});
    }

    private async watch(): Promise<void> {
        if (this.stopped) return;
        const t = await this.templateKey().catch(() => this.template);
        if (t === this.template) return;
        this.template = t;
        this.rollouts++;
        this.rolling = this.rolling.then(() => this.rollOut());
    }

    private async rollOut(): Promise<void> {
        const old = [...this.replicas];
        for (const r of old) {
            if (this.stopped) return;
            const fresh = await this.startReplica();
            this.replicas.push(fresh);
            await new Promise((res) => setTimeout(res, this.o.stepMs));
            this.replicas = this.replicas.filter((x) => x !== r);
            await this.stopReplica(r);
        }
    }

    private async startReplica(): Promise<Replica> {
        const s = await (await admin()).request("GET", `/api/v1/namespaces/${this.o.ns}/secrets/${this.o.secret}`);
        const r: Replica = {
            user: unb64(s.data?.[this.o.usernameKey ?? "username"]) ?? this.o.defaultUser,
            password: unb64(s.data?.[this.o.passwordKey ?? "password"]) ?? "",
            busy: false,
        };
        // Its pool: one session for the replica's life (what pg_stat_activity shows while it runs).
        r.session = await connect(r.user, r.password).catch(() => undefined);
        r.timer = setInterval(() => void this.attempt(r), this.o.everyMs);
        return r;
    }

    private async attempt(r: Replica): Promise<void> {
        if (r.busy) return;
        r.busy = true;
        this.stats.attempts++;
        try {
            await (await connect(r.user, r.password)).end();
        } catch {
            this.stats.failed++;
            this.stats.firstFailAt ??= Date.now();
            this.stats.lastFailAt = Date.now();
            this.stats.failedBy[r.user] = (this.stats.failedBy[r.user] ?? 0) + 1;
        } finally {
            r.busy = false;
        }
    }

    private async stopReplica(r: Replica): Promise<void> {
        clearInterval(r.timer);
        await r.session?.end().catch(() => undefined);
        r.session = undefined;
    }
}
