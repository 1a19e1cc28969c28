import { parser } from "@prometheus-io/lezer-promql";

/**
 * What a PromQL expression uses, read with Prometheus' own lezer grammar (@prometheus-io/lezer-promql): a syntax
 * error is reported, not guessed around. Test support for the alert rules.
 */
export interface Selector {
    metric: string;
    matchers: { label: string; op: string; value: string }[];
}

export interface ExprUse {
    selectors: Selector[];
    /** Labels named in by()/without()/on()/ignoring() clauses. */
    groupingLabels: string[];
    /** Positions of parse errors (empty when the expression is valid). */
    errors: number[];
}

export function analyse(expr: string): ExprUse {
    const tree = parser.parse(expr);
    const text = (from: number, to: number) => expr.slice(from, to);
    const out: ExprUse = { selectors: [], groupingLabels: [], errors: [] };
    const cursor = tree.cursor();
    do {
        const n = cursor.node;
        if (n.type.isError) out.errors.push(n.from);
        if (n.name === "VectorSelector") {
            const id = n.getChild("Identifier");
            const sel: Selector = { metric: id ? text(id.from, id.to) : "", matchers: [] };
            const lm = n.getChild("LabelMatchers");
            for (const m of lm ? [...lm.getChildren("UnquotedLabelMatcher"), ...lm.getChildren("QuotedLabelMatcher")] : []) {
                const name = m.getChild("LabelName") ?? m.getChild("QuotedLabelName");
                const op = m.getChild("MatchOp");
                const val = m.getChild("StringLiteral");
                sel.matchers.push({ label: name ? text(name.from, name.to) : "", op: op ? text(op.from, op.to) : "", value: val ? JSON.parse(text(val.from, val.to)) : "" });
            }
            out.selectors.push(sel);
        }
        if (n.name === "GroupingLabels") for (const l of n.getChildren("LabelName")) out.groupingLabels.push(text(l.from, l.to));
    } while (cursor.next());
    return out;
}

/** The label values a matcher accepts among `known` (regex matchers are anchored, as in Prometheus). */
export function acceptedValues(m: Selector["matchers"][number], known: readonly string[]): string[] {
    switch (m.op) {
        case "=":
            return known.filter((v) => v === m.value);
        case "!=":
            return known.filter((v) => v !== m.value);
        case "=~":
            return known.filter((v) => new RegExp(`^(?:${m.value})$`).test(v));
        case "!~":
            return known.filter((v) => !new RegExp(`^(?:${m.value})$`).test(v));
        default:
            throw new Error(`unknown match operator ${m.op}`);
    }
}

/** Alternatives a regex matcher names literally ("a|b|c"), or the value of an equality matcher. */
export function namedValues(m: Selector["matchers"][number]): string[] {
    return m.op === "=~" || m.op === "!~" ? m.value.split("|") : [m.value];
}
