import type * as dynamic from "@pulumi/pulumi/dynamic";

/**
 * The provider schema: the version of what a platform-secrets dynamic resource records in Pulumi state (its
 * outputs and the `__provider` stub beside them). Recorded as `__schema` in the outputs of every create/update.
 *
 *   1  before the field existed (no `__schema`): the stub bundled providers/runtime.ts with esbuild at run time.
 *   2  the stub `require`s the committed providers/compiled/runtime.js; outputs otherwise as in schema 1.
 *   3  outputs may carry `context` (the stack's kubeContext): a schema-2 checkout would ignore it and refresh or
 *      delete in the kubeconfig's current-context, i.e. possibly in another cluster.
 *
 * Why it is needed: Pulumi runs `read` and `delete` (refresh, destroy) with the stub recorded in state, and that
 * stub runs whatever implementation the checkout holds. So a checkout must read every older schema (fixtures in
 * test/unit/providers/fixtures/) and must refuse a newer one rather than guess at fields it does not know.
 * Bump it when a change to the outputs or the stub would be misread by the previous checkout.
 */
export const PROVIDER_SCHEMA = 3;
/** The oldest schema this checkout reads. */
export const OLDEST_READABLE_SCHEMA = 1;
export const SCHEMA_KEY = "__schema";

/** The schema recorded in `props` (outputs in state); none recorded = 1. */
export function recordedSchema(props: Record<string, unknown> | undefined): number {
    const v = props?.[SCHEMA_KEY];
    return v === undefined || v === null ? 1 : typeof v === "number" && Number.isInteger(v) ? v : NaN;
}

/** Throws, naming the resource, both versions and the fix, when this checkout cannot handle `props`' schema. */
export function assertReadable(resource: string, props: Record<string, unknown> | undefined): void {
    const v = recordedSchema(props);
    if (v >= OLDEST_READABLE_SCHEMA && v <= PROVIDER_SCHEMA) return;
    if (Number.isNaN(v)) {
        throw new Error(`${resource}: its state records provider schema ${JSON.stringify(props?.[SCHEMA_KEY])}, which is not a version number. Fix: restore the stack's state from a backup (pulumi stack export/import); this checkout reads schemas ${OLDEST_READABLE_SCHEMA} to ${PROVIDER_SCHEMA}`);
    }
    if (v > PROVIDER_SCHEMA) {
        throw new Error(
            `${resource}: its state was written by platform-secrets provider schema ${v}, newer than this checkout's schema ${PROVIDER_SCHEMA} ` +
                `(it reads schemas ${OLDEST_READABLE_SCHEMA} to ${PROVIDER_SCHEMA}). Fix: upgrade this checkout to the platform-secrets version that last ran pulumi up on this stack ` +
                "(git pull, then npm ci), and run pulumi from there; an older checkout must not refresh, update or delete it",
        );
    }
    throw new Error(`${resource}: its state was written by platform-secrets provider schema ${v}, older than this checkout reads (${OLDEST_READABLE_SCHEMA} to ${PROVIDER_SCHEMA}). Fix: run pulumi up once with a checkout of an intermediate version, then with this one`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyProvider = dynamic.ResourceProvider<any, any>;
type Fn = (...args: unknown[]) => Promise<unknown>;

/**
 * A provider that records the schema and enforces it. create/update stamp `__schema`; read/diff/update/delete
 * refuse state of a schema this checkout does not read. diff reports a change for older state, so the next
 * `pulumi up` rewrites it (and the stub beside it, which only an update replaces: Pulumi keeps a resource's
 * recorded outputs, `__provider` included, until its provider writes new ones). read keeps the recorded schema:
 * it returns the recorded stub unchanged, so it must not claim a newer one.
 */
export function versioned<P extends AnyProvider>(kindName: string, provider: P): P {
    const p = provider as unknown as Record<string, Fn>;
    const stamp = (outs: unknown) => ({ ...(outs as object), [SCHEMA_KEY]: PROVIDER_SCHEMA });
    const wrapped: Record<string, Fn> = {
        check: p.check,
        create: async (inputs) => {
            const r = (await p.create(inputs)) as { id: string; outs?: unknown };
            return { ...r, outs: stamp(r.outs) };
        },
        diff: async (id, olds, news) => {
            assertReadable(`${kindName} ${String(id)}`, olds as Record<string, unknown>);
            const r = (await p.diff(id, olds, news)) as dynamic.DiffResult;
            if (recordedSchema(olds as Record<string, unknown>) < PROVIDER_SCHEMA) return { ...r, changes: true };
            return r;
        },
        read: async (id, props) => {
            assertReadable(`${kindName} ${String(id)}`, props as Record<string, unknown> | undefined);
            const r = (await p.read(id, props)) as dynamic.ReadResult;
            const recorded = (props as Record<string, unknown> | undefined)?.[SCHEMA_KEY];
            if (r.props === undefined) return r;
            const out: Record<string, unknown> = { ...r.props };
            if (recorded === undefined) delete out[SCHEMA_KEY];
            else out[SCHEMA_KEY] = recorded;
            return { ...r, props: out };
        },
        update: async (id, olds, news) => {
            assertReadable(`${kindName} ${String(id)}`, olds as Record<string, unknown>);
            const r = ((await p.update(id, olds, news)) ?? {}) as { outs?: unknown };
            return { ...r, outs: stamp(r.outs) };
        },
        delete: async (id, props) => {
            assertReadable(`${kindName} ${String(id)}`, props as Record<string, unknown>);
            await p.delete(id, props);
        },
    };
    return wrapped as unknown as P;
}
