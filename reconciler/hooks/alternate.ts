import { randomBytes } from "node:crypto";
import { PREFIX } from "../../derive";
import { Clock } from "../machinery/clock";
import { DEFAULT_PG_DRAIN_SECONDS, PostgresHook } from "./hookspec";
import type { PgOps } from "./hooks";
import type { VaultKv } from "./vault";

/**
 * `strategy: alternate` (issue 22 §1): two login roles, members of the NOLOGIN group role `user` that owns the
 * privileges, take turns. A rotation puts the new password on the idle role and the consumer Secret names that role
 * (Vault keeps `username` beside `password` in the same KV version, so one version is one login); Pods that still hold
 * the previous value keep logging in as the previous role until they are gone. Once no session of the previous role
 * is left (or `drainSeconds` passed), its password is replaced by a random one that only the reconciler knows, so a
 * leaked old value is dead.
 *
 * Rights: each role changes its OWN password (it logs in with the value we last set), which needs no privilege. Only
 * the first alternate rotation, when neither login role has a password we know, logs in as the previous era's role
 * (`user`, with its previous password) and sets both login roles' passwords: that needs CREATEROLE once.
 */

/** How often the drain of the previous role is checked; also the least time before it can be retired. */
export const DRAIN_POLL_MS = 2_000;

const A_ACTIVE = (slot: string) => `${PREFIX}hook-${slot}-active`;
const A_RETIRE = (slot: string) => `${PREFIX}hook-${slot}-retire`;
const D_ROLE = (slot: string, role: string) => `pg-${slot}-role-${role}`;

export interface AlternateDeps {
    pg: PgOps;
    clock: Clock;
    vault?: VaultKv;
}

/** The hook state this strategy reads and writes (in place): annotations and data of the hook state Secret. */
export interface AlternateState {
    annotations: Record<string, string>;
    data: Record<string, string>;
}

export type AlternateOutcome = { applied: true; ran: boolean; recheckMs?: number } | { applied: false; error: string };

interface Retire {
    role: string;
    earliest: number;
    deadline: number;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, "base64").toString("utf8"));
const as = (hook: PostgresHook, user: string): PostgresHook => ({ ...hook, user });
const where = (hook: PostgresHook) => `${hook.host}:${hook.port ?? 5432}`;
const sqlstate = (e: unknown) => String((e as { code?: unknown }).code ?? "unknown");

/** The message for a failed ALTER ROLE of `target` while logged in as `login` (never a value). */
function alterError(login: string, target: string, e: unknown): string {
    const code = sqlstate(e);
    if (code === "42704") return `role ${target} does not exist. Fix: create both login roles as members of the group role (reconciler/README.md "Alternating PostgreSQL users")`;
    if (code === "42501") {
        return `role ${login} may not set the password of ${target} (SQLSTATE 42501). The first alternate rotation logs in as the previous login role and sets both login roles' passwords; ` +
            `Fix once, as a superuser: ALTER ROLE ${login} CREATEROLE (PostgreSQL 16+: also GRANT ${target} TO ${login} WITH ADMIN OPTION). Later rotations need no right: each role changes its own password`;
    }
    return `ALTER ROLE ${target} as ${login} failed (SQLSTATE ${code})`;
}

/**
 * Back to the login role itself: a login role with `ALTER ROLE … SET ROLE <group>` (so objects it creates belong to
 * the group) runs as the group after login, and PostgreSQL would take its own password change for a change of
 * another role's (42501). `SET ROLE NONE` makes the current user the session user again.
 */
async function asItself(client: { query: (sql: string) => Promise<unknown> }): Promise<void> {
    await client.query("SET ROLE NONE");
}

/** A random password only the reconciler knows: what a retired role is left with. */
function unguessable(): string {
    return randomBytes(24).toString("base64url");
}

/**
 * The passwords the previous era's role may still have: the one we last saw applied (single strategy state), and
 * Vault's previous and current versions of the password's path. Used only when no alternate state exists yet.
 */
async function migrationCandidates(d: AlternateDeps, hook: PostgresHook, legacyB64: string | undefined): Promise<string[]> {
    const out: string[] = [];
    const legacy = unb64(legacyB64);
    if (legacy) out.push(legacy);
    if (d.vault && hook.vault) {
        const mount = hook.vault.mount ?? "secret";
        const cur = await d.vault.currentVersion(mount, hook.vault.path).catch(() => undefined);
        if (cur !== undefined) {
            for (const v of [cur - 1, cur]) {
                const val = v > 0 ? await d.vault.readVersion(mount, hook.vault.path, v, hook.vault.key ?? hook.passwordKey ?? "password").catch(() => undefined) : undefined;
                if (val !== undefined) out.push(val);
            }
        }
    }
    return [...new Set(out)];
}

/**
 * Steady state: the idle role logs in with the value we left it and changes its own password. undefined: it could
 * not log in (first alternate rotation, lost state): the previous role has to do it.
 */
async function changeOwnPassword(d: AlternateDeps, hook: PostgresHook, username: string, known: string | undefined, next: string): Promise<true | AlternateOutcome | undefined> {
    if (known === undefined || known === next) return undefined;
    const client = await d.pg.pgConnect(as(hook, username), known).catch(() => undefined);
    if (!client) return undefined;
    try {
        await asItself(client);
        await d.pg.alterRolePassword(client, username, next);
        return true;
    } catch (e) {
        return { applied: false, error: alterError(username, username, e) };
    } finally {
        await client.end().catch(() => undefined);
    }
}

/**
 * First alternate rotation (or our state was lost): the previous role, with its previous password, sets the new
 * password on the active role and a random one on the idle role (needs CREATEROLE once), after checking both exist.
 */
async function setByPrevious(d: AlternateDeps, hook: PostgresHook, slot: string, st: AlternateState, r: { username: string; prev: string; active?: string; next: string }, legacyB64?: string): Promise<true | AlternateOutcome> {
    const [ra, rb] = hook.roles!;
    const other = r.username === ra ? rb : ra;
    const candidates = r.active !== undefined ? [unb64(st.data[D_ROLE(slot, r.active)])].filter((v): v is string => v !== undefined) : await migrationCandidates(d, hook, legacyB64);
    for (const c of candidates) {
        const client = await d.pg.pgConnect(as(hook, r.prev), c).catch(() => undefined);
        if (!client) continue;
        let target = r.username;
        try {
            const missing = await rolesNotReady(client, [ra, rb], hook.user);
            if (missing) return { applied: false, error: missing };
            await d.pg.alterRolePassword(client, r.username, r.next);
            if (other !== r.prev && st.data[D_ROLE(slot, other)] === undefined) {
                // The idle role gets a value only we know now, while we hold a login that may set it.
                target = other;
                const fresh = unguessable();
                await d.pg.alterRolePassword(client, other, fresh);
                st.data[D_ROLE(slot, other)] = b64(fresh);
            }
        } catch (e) {
            return { applied: false, error: alterError(r.prev, target, e) };
        } finally {
            await client.end().catch(() => undefined);
        }
        st.data[D_ROLE(slot, r.prev)] = b64(c);
        return true;
    }
    return { applied: false, error: `cannot set the password of ${r.username}: it does not log in with the value last set for it, and ${r.prev} does not log in with any previous password (${candidates.length} tried). Fix: set ${r.username}'s password once by hand to the source's current value` };
}

/**
 * Makes the role the source names log in with the source's password, moving consumers off the previous role
 * without breaking it (pure decision on the state; PostgreSQL through `d.pg`). Nothing is half-applied: the
 * previous role keeps its password until `retireIfDrained` runs after the consumers moved.
 */
export async function applyAlternate(d: AlternateDeps, source: { data?: Record<string, string> }, hook: PostgresHook, slot: string, st: AlternateState, legacyB64?: string): Promise<AlternateOutcome> {
    const [ra, rb] = hook.roles!;
    const uKey = hook.usernameKey ?? "username";
    const pKey = hook.passwordKey ?? "password";
    const pb64 = source.data?.[pKey];
    if (!pb64) return { applied: false, error: `source has no "${pKey}" key for the postgres hook (roles ${ra}, ${rb})` };
    const username = unb64(source.data?.[uKey]);
    if (username === undefined) {
        return { applied: false, error: `source has no "${uKey}" key: with strategy alternate the consumer Secret must carry the active login role (${ra} or ${rb}) beside "${pKey}", or consumers would keep logging in as a role that is retired. Fix: map the password's Vault key "username" into the Secret as "${uKey}" (the stack does it for strategy alternate), or use strategy single` };
    }
    if (username !== ra && username !== rb) {
        return { applied: false, error: `source key "${uKey}" names role ${JSON.stringify(username.slice(0, 64))}, which is not one of the hook's roles (${ra}, ${rb}). Fix: the stack writes roles[rotation % 2] into Vault; check the hook's roles and the password's rotation` };
    }
    const next = unb64(pb64)!;
    const now = await d.pg.canLogin(as(hook, username), next);
    if (now === "error") return { applied: false, error: `cannot reach PostgreSQL at ${where(hook)} as ${username} (or it refused SCRAM authentication); see the reconciler log` };
    const active = st.annotations[A_ACTIVE(slot)];
    // The role consumers used until now: the last active one, or before the first alternate rotation the single-era role.
    const prev = active ?? hook.user;
    if (now === true) {
        st.data[D_ROLE(slot, username)] = pb64;
        st.annotations[A_ACTIVE(slot)] = username;
        if (active !== undefined && active !== username) scheduleRetire(d, hook, slot, st, active);
        return { applied: true, ran: false, ...recheck(d, slot, st) };
    }
    const changed = (await changeOwnPassword(d, hook, username, unb64(st.data[D_ROLE(slot, username)]), next)) ?? (await setByPrevious(d, hook, slot, st, { username, prev, active, next }, legacyB64));
    if (changed !== true) return changed;
    if ((await d.pg.canLogin(as(hook, username), next)) !== true) return { applied: false, error: `ALTER ROLE ${username} ran but the new password does not log in` };
    st.data[D_ROLE(slot, username)] = pb64;
    st.annotations[A_ACTIVE(slot)] = username;
    if (prev !== username) scheduleRetire(d, hook, slot, st, prev);
    return { applied: true, ran: true, ...recheck(d, slot, st) };
}

/**
 * Checked before the first alternate rotation changes anything: both login roles exist and are members of the group
 * role, or consumers moved to one would log in without the group's privileges. A message naming the fix, or undefined.
 */
async function rolesNotReady(client: { query: (sql: string, values: unknown[]) => Promise<{ rows: { rolname: string; member: boolean }[] }> }, roles: string[], group: string): Promise<string | undefined> {
    const r = await client.query("SELECT rolname, pg_has_role(rolname, $2, 'MEMBER') AS member FROM pg_roles WHERE rolname = ANY($1)", [roles, group]);
    const found = new Map(r.rows.map((x) => [x.rolname, x.member]));
    const absent = roles.filter((x) => !found.has(x));
    if (absent.length) return `login role${absent.length > 1 ? "s" : ""} ${absent.join(", ")} missing: nothing was changed. Fix: CREATE ROLE ${absent[0]} LOGIN IN ROLE ${group}; ALTER ROLE ${absent[0]} SET ROLE ${group} (reconciler/README.md "Alternating PostgreSQL users")`;
    const outside = roles.filter((x) => !found.get(x));
    if (outside.length) return `login role ${outside[0]} is not a member of ${group}: it would log in without the group's privileges; nothing was changed. Fix: GRANT ${group} TO ${outside[0]}`;
    return undefined;
}

/**
 * Adds `role` to the roles waiting to be retired (a rotation during another's drain keeps the earlier one pending:
 * every role a consumer may still hold an old value of is retired in the end); the new active role is never on it.
 */
function scheduleRetire(d: AlternateDeps, hook: PostgresHook, slot: string, st: AlternateState, role: string): void {
    const now = d.clock.now();
    const active = st.annotations[A_ACTIVE(slot)];
    const list = pendingRetires(slot, st).filter((r) => r.role !== role && r.role !== active);
    list.push({ role, earliest: now + DRAIN_POLL_MS, deadline: now + 1000 * (hook.drainSeconds ?? DEFAULT_PG_DRAIN_SECONDS) });
    st.annotations[A_RETIRE(slot)] = JSON.stringify(list);
}

function pendingRetires(slot: string, st: AlternateState): Retire[] {
    const raw = st.annotations[A_RETIRE(slot)];
    if (raw === undefined) return [];
    try {
        const list = JSON.parse(raw) as Partial<Retire>[];
        if (Array.isArray(list) && list.every((r) => typeof r.role === "string" && typeof r.earliest === "number" && typeof r.deadline === "number")) return list as Retire[];
    } catch {
        // fall through: an unreadable record is dropped (the roles on it keep their values; reported below)
    }
    delete st.annotations[A_RETIRE(slot)];
    return [];
}

function saveRetires(slot: string, st: AlternateState, list: Retire[]): void {
    if (list.length === 0) delete st.annotations[A_RETIRE(slot)];
    else st.annotations[A_RETIRE(slot)] = JSON.stringify(list);
}

function recheck(d: AlternateDeps, slot: string, st: AlternateState): { recheckMs?: number } {
    const list = pendingRetires(slot, st);
    return list.length ? { recheckMs: Math.max(0, Math.min(...list.map((r) => r.earliest)) - d.clock.now()) } : {};
}

/** Whether a retirement is pending (the hook runner must run even when every hook is applied). */
export function retirePending(slot: string, annotations: Record<string, string>): boolean {
    return annotations[A_RETIRE(slot)] !== undefined;
}

export type RetireOutcome = { retired?: string; recheckMs?: number; error?: string };

/**
 * Retires each previous role once no session of it is left or its drain deadline passed: its password becomes a
 * random value only we know (it logs in with its last value and changes its own). `recheckMs` asks to be run again.
 */
export async function retireIfDrained(d: AlternateDeps, hook: PostgresHook, slot: string, st: AlternateState): Promise<RetireOutcome> {
    const active = st.annotations[A_ACTIVE(slot)];
    const left: Retire[] = [];
    const out: RetireOutcome = {};
    const later = (ms: number) => (out.recheckMs = Math.max(0, Math.min(ms, out.recheckMs ?? ms)));
    for (const r of pendingRetires(slot, st)) {
        if (r.role === active) continue;
        const one = await retireOne(d, hook, slot, st, r, active);
        if (one.retired) out.retired = out.retired ? `${out.retired}, ${one.retired}` : one.retired;
        if (one.error) out.error = one.error;
        if (one.recheckMs !== undefined) {
            left.push(r);
            later(one.recheckMs);
        }
    }
    saveRetires(slot, st, left);
    return out;
}

async function retireOne(d: AlternateDeps, hook: PostgresHook, slot: string, st: AlternateState, r: Retire, active: string | undefined): Promise<RetireOutcome> {
    const now = d.clock.now();
    if (now < r.earliest) return { recheckMs: r.earliest - now };
    const pw = unb64(st.data[D_ROLE(slot, r.role)]);
    if (pw === undefined) {
        return { error: `role ${r.role} was not retired: no password of it is known (its previous value may still log in). Fix: ALTER ROLE ${r.role} PASSWORD NULL once its consumers moved` };
    }
    if (now < r.deadline && active !== undefined) {
        const activePw = unb64(st.data[D_ROLE(slot, active)]);
        const client = activePw === undefined ? undefined : await d.pg.pgConnect(as(hook, active), activePw).catch(() => undefined);
        if (!client) return { recheckMs: DRAIN_POLL_MS, error: `cannot count the sessions of ${r.role}: ${active} does not log in at ${where(hook)}; retried` };
        let sessions: number;
        try {
            sessions = await d.pg.countSessions(client, r.role);
        } finally {
            await client.end().catch(() => undefined);
        }
        if (sessions > 0) return { recheckMs: Math.min(DRAIN_POLL_MS, r.deadline - now) };
    }
    let client;
    try {
        client = await d.pg.pgConnect(as(hook, r.role), pw);
    } catch (e) {
        const code = sqlstate(e);
        // 28P01/28000: that value no longer logs in (changed by hand, or the role cannot log in): nothing is left to kill.
        if (code === "28P01" || code === "28000") {
            delete st.data[D_ROLE(slot, r.role)];
            return { retired: r.role };
        }
        return { recheckMs: DRAIN_POLL_MS, error: `cannot log in as ${r.role} to retire its password (${code}); retried` };
    }
    try {
        const fresh = unguessable();
        await asItself(client);
        await d.pg.alterRolePassword(client, r.role, fresh);
        st.data[D_ROLE(slot, r.role)] = b64(fresh);
    } catch (e) {
        return { recheckMs: DRAIN_POLL_MS, error: alterError(r.role, r.role, e) };
    } finally {
        await client.end().catch(() => undefined);
    }
    return { retired: r.role };
}

/** The password a single-strategy hook may find for its role in alternate state (the way back to single). */
export function knownPassword(slot: string, data: Record<string, string>, role: string): string | undefined {
    return unb64(data[D_ROLE(slot, role)]);
}
