import { Logger } from "../../lib/log";
import { KubeClient } from "../../lib/kube";

/**
 * Several reconciler instances in one cluster (issue 20). Each instance's own namespace (created by its stack,
 * stacks/reconciler.ts) carries its claim: the label LABEL_INSTANCE (its instance name) and the annotation
 * ANNOTATION_NAMESPACES (the namespaces it watches, comma-separated, or "*" for cluster-wide). Namespace objects are
 * cluster-admin territory (a namespace tenant cannot forge a claim) and the reconciler already lists namespaces, so
 * reading every claim needs no new permission.
 *
 * Two claims overlap when they share a namespace ("*" shares every one). In an overlap the OLDER claim (its
 * namespace's creationTimestamp, then its name) keeps acting and the other instance refuses that namespace, loudly:
 * the annotation ANNOTATION_CLAIM_REFUSED and a Warning Event on each secret it would act on (its status stays the
 * acting instance's), and /healthz failing with the overlap. So a second installation that was misconfigured never doubles the restarts and hooks of the first.
 */
export const LABEL_INSTANCE = "platform-secrets.io/reconciler-instance";
export const ANNOTATION_NAMESPACES = "platform-secrets.io/reconciler-namespaces";

export interface Claim {
    instance: string;
    /** The instance's own namespace, where the claim lives. */
    namespace: string;
    /** "*" = every namespace. */
    namespaces: "*" | string[];
    createdAt: string;
}

/** The labels and annotations a stack puts on its reconciler's namespace (pure). */
export function claimMetadata(instance: string, namespaces: "*" | readonly string[]): { labels: Record<string, string>; annotations: Record<string, string> } {
    return { labels: { [LABEL_INSTANCE]: instance }, annotations: { [ANNOTATION_NAMESPACES]: namespaces === "*" ? "*" : [...namespaces].sort().join(",") } };
}

/** A claim read from a Namespace object; undefined when it carries none. */
export function parseClaim(ns: { metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string | Date; deletionTimestamp?: string | Date } }): Claim | undefined {
    const instance = ns.metadata?.labels?.[LABEL_INSTANCE];
    // A namespace being deleted is an installation going away (`pulumi destroy`): it claims nothing any more.
    if (!instance || !ns.metadata?.name || ns.metadata.deletionTimestamp) return undefined;
    const raw = (ns.metadata.annotations?.[ANNOTATION_NAMESPACES] ?? "*").trim();
    const namespaces = raw === "*" || raw === "" ? "*" : raw.split(",").map((s) => s.trim()).filter(Boolean);
    const ts = ns.metadata.creationTimestamp;
    return { instance, namespace: ns.metadata.name, namespaces, createdAt: ts instanceof Date ? ts.toISOString() : (ts ?? "") };
}

function covers(c: Claim, ns: string): boolean {
    return c.namespaces === "*" || c.namespaces.includes(ns);
}

/** Whether `a` was there first: older creationTimestamp, then namespace name (deterministic on both sides). */
function olderThan(a: Claim, b: Claim): boolean {
    if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
    return a.namespace < b.namespace;
}

/**
 * The instance that takes `namespace` from `mine`, or undefined when `mine` may act there (pure). Another claim wins
 * a shared namespace when it is older.
 */
export function claimedBy(mine: Claim, others: readonly Claim[], namespace: string): Claim | undefined {
    if (!covers(mine, namespace)) return undefined;
    return others.find((o) => o.namespace !== mine.namespace && covers(o, namespace) && olderThan(o, mine));
}

/** The refusal text for one namespace: names both instances and the fix. */
export function claimRefusal(mine: Claim, winner: Claim, namespace: string): string {
    return (
        `namespace ${namespace} is claimed by reconciler instance "${winner.instance}" (namespace ${winner.namespace}, annotation ${ANNOTATION_NAMESPACES}), ` +
        `which was installed first; instance "${mine.instance}" refuses to act there so nothing is restarted or hooked twice. ` +
        `Fix: give the stacks disjoint platform-secrets:secretNamespaces, or remove ${namespace} from one of them`
    );
}

/** Every overlap of `mine` with older claims, for /healthz (pure). */
export function overlaps(mine: Claim, others: readonly Claim[]): string[] {
    const out: string[] = [];
    for (const o of others) {
        if (o.namespace === mine.namespace || !olderThan(o, mine)) continue;
        const shared = mine.namespaces === "*" ? (o.namespaces === "*" ? "every namespace" : o.namespaces.join(", ")) : mine.namespaces.filter((n) => covers(o, n)).join(", ");
        if (shared) out.push(`namespaces claimed by older reconciler instance "${o.instance}" (${o.namespace}) are refused: ${shared}`);
    }
    return out;
}

/**
 * Keeps the cluster's claims current (a list of labelled namespaces every `periodMs`) and answers, per namespace,
 * whether this instance must refuse it. Without a claim of its own (a reconciler not deployed by a stack with an
 * instance) it refuses nothing.
 */
export class ClaimWatcher {
    private mine?: Claim;
    private others: Claim[] = [];
    private timer?: NodeJS.Timeout;
    private lastKey = "";

    constructor(private readonly o: { client: KubeClient; logger: Logger; ownNamespace?: string; periodMs?: number; onChange?: () => void }) {}

    async refresh(): Promise<void> {
        const list = await this.o.client.request<{ items: Parameters<typeof parseClaim>[0][] }>("GET", `/api/v1/namespaces?labelSelector=${encodeURIComponent(LABEL_INSTANCE)}`);
        const claims = list.items.map(parseClaim).filter((c): c is Claim => c !== undefined);
        this.mine = claims.find((c) => c.namespace === this.o.ownNamespace);
        this.others = claims.filter((c) => c.namespace !== this.o.ownNamespace);
        const problems = this.problems();
        const key = problems.join("\n");
        if (key !== this.lastKey) {
            this.lastKey = key;
            if (problems.length) this.o.logger.error({ instance: this.mine?.instance, problems }, "reconciler instances claim the same namespaces");
            else this.o.logger.info({ instance: this.mine?.instance, claims: claims.length }, "namespace claims checked: no overlap");
            this.o.onChange?.();
        }
    }

    start(): void {
        const tick = () => {
            this.refresh()
                .catch((e) => this.o.logger.warn({ err: String((e as Error).message) }, "cannot read the namespace claims; keeping the last ones"))
                .finally(() => {
                    this.timer = setTimeout(tick, this.o.periodMs ?? 15_000);
                    this.timer.unref();
                });
        };
        tick();
    }

    stop(): void {
        if (this.timer) clearTimeout(this.timer);
    }

    /** The refusal for `namespace`, or undefined when this instance may act there. */
    refusal(namespace: string): string | undefined {
        if (!this.mine) return undefined;
        const w = claimedBy(this.mine, this.others, namespace);
        return w ? claimRefusal(this.mine, w, namespace) : undefined;
    }

    problems(): string[] {
        return this.mine ? overlaps(this.mine, this.others) : [];
    }
}
