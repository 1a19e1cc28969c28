/**
 * The subset of ESO's Go templates (text/template + sprig) the program renders (stacks/eso/manifests.ts): fields
 * `.key`, string literals, parenthesised sub-expressions, `printf "%s..." args`, the functions `toJson`, `b64enc`,
 * `trim`, `eq`, `or`, `hasSuffix`, `contains` and `fail`, `{{ if … }}…{{ end }}` blocks, and the `{{-`/`-}}` trim
 * markers. Anything else throws, naming the template, so the ESO stand-in reports it on the ExternalSecret instead
 * of writing a wrong value; `fail` throws like Go's ("error calling fail: …").
 */
type Value = string | boolean;

function tokenize(expr: string): string[] {
    const out: string[] = [];
    const re = /\s*("(?:[^"\\]|\\.)*"|\||\(|\)|[^\s|"()]+)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(expr)) !== null) if (m[1]) out.push(m[1]);
    return out;
}

type Arg = { tok: string } | { sub: string[] };

function operand(tok: string, data: Record<string, string>, where: string): Value {
    if (tok.startsWith('"')) return JSON.parse(tok) as string;
    if (tok.startsWith(".")) {
        const k = tok.slice(1);
        if (!(k in data)) throw new Error(`${where}: map has no entry for key "${k}"`);
        return data[k]!;
    }
    throw new Error(`${where}: unsupported operand ${tok} (ESO stand-in)`);
}

function printf(format: string, args: Value[], where: string): Value {
    let i = 0;
    return format.replace(/%[sv%]/g, (spec) => {
        if (spec === "%%") return "%";
        if (i >= args.length) throw new Error(`${where}: printf has fewer arguments than verbs`);
        return String(args[i++]);
    });
}

const str = (v: Value | undefined): string => (typeof v === "string" ? v : String(v ?? ""));
const truthy = (v: Value): boolean => (typeof v === "boolean" ? v : v !== "");

/** Splits a token list into the arguments of one command (a parenthesised group is one argument). */
function argsOf(tokens: string[], where: string): Arg[] {
    const out: Arg[] = [];
    for (let i = 0; i < tokens.length; i++) {
        if (tokens[i] !== "(") {
            if (tokens[i] === ")") throw new Error(`${where}: unbalanced ")"`);
            out.push({ tok: tokens[i]! });
            continue;
        }
        let depth = 1;
        const start = i + 1;
        while (depth > 0) {
            i++;
            if (i >= tokens.length) throw new Error(`${where}: unclosed "("`);
            if (tokens[i] === "(") depth++;
            if (tokens[i] === ")") depth--;
        }
        out.push({ sub: tokens.slice(start, i) });
    }
    return out;
}

function command(tokens: string[], piped: Value | undefined, data: Record<string, string>, where: string): Value {
    const [first, ...restArgs] = argsOf(tokens, where);
    if (first === undefined) throw new Error(`${where}: empty command`);
    if ("sub" in first) return pipeline(first.sub, data, where);
    const head = first.tok;
    const args = restArgs.map((a) => ("sub" in a ? pipeline(a.sub, data, where) : operand(a.tok, data, where)));
    if (piped !== undefined) args.push(piped);
    switch (head) {
        case "printf":
            return printf(str(args[0]), args.slice(1), where);
        case "toJson":
            return JSON.stringify(str(args[args.length - 1]));
        case "b64enc":
            return Buffer.from(str(args[args.length - 1]), "utf8").toString("base64");
        case "trim":
            return str(args[0]).trim();
        case "eq":
            return args.length >= 2 && args.slice(1).some((a) => a === args[0]);
        case "or":
            return args.find(truthy) ?? args[args.length - 1] ?? false;
        case "hasSuffix":
            return str(args[1]).endsWith(str(args[0]));
        case "contains":
            return str(args[1]).includes(str(args[0]));
        case "fail":
            throw new Error(`${where}: error calling fail: ${str(args[0])}`);
        default:
            if (restArgs.length === 0 && piped === undefined) return operand(head, data, where);
            throw new Error(`${where}: unsupported template function "${head}" (ESO stand-in)`);
    }
}

function pipeline(tokens: string[], data: Record<string, string>, where: string): Value {
    const parts: string[][] = [[]];
    let depth = 0;
    for (const t of tokens) {
        if (t === "(") depth++;
        if (t === ")") depth--;
        if (t === "|" && depth === 0) parts.push([]);
        else parts[parts.length - 1]!.push(t);
    }
    let value: Value | undefined;
    for (const p of parts) value = command(p, value, data, where);
    return value ?? "";
}

/** Renders one template string with the secret's values (`.secretKey` → value). */
export function renderTemplate(tpl: string, data: Record<string, string>, where = "template"): string {
    // Actions and the text between them, with Go's trim markers applied to the neighbouring text.
    type Piece = { text: string } | { action: string };
    const pieces: Piece[] = [];
    let rest = tpl;
    for (;;) {
        const i = rest.indexOf("{{");
        if (i < 0) {
            pieces.push({ text: rest });
            break;
        }
        const j = rest.indexOf("}}", i + 2);
        if (j < 0) throw new Error(`${where}: unclosed action`);
        let body = rest.slice(i + 2, j);
        let before = rest.slice(0, i);
        if (/^-\s/.test(body)) {
            before = before.replace(/\s+$/, "");
            body = body.slice(1);
        }
        let trimAfter = false;
        if (/\s-$/.test(body)) {
            trimAfter = true;
            body = body.slice(0, -1);
        }
        pieces.push({ text: before }, { action: body.trim() });
        rest = rest.slice(j + 2);
        if (trimAfter) rest = rest.replace(/^\s+/, "");
    }
    // `if` blocks: a stack of "is this branch output?".
    const on: boolean[] = [];
    let out = "";
    for (const p of pieces) {
        const active = on.every(Boolean);
        if ("text" in p) {
            if (active) out += p.text;
            continue;
        }
        const tokens = tokenize(p.action);
        if (tokens[0] === "if") {
            on.push(active && truthy(pipeline(tokens.slice(1), data, where)));
            continue;
        }
        if (tokens[0] === "end") {
            if (on.pop() === undefined) throw new Error(`${where}: "end" without "if"`);
            continue;
        }
        if (active) out += str(pipeline(tokens, data, where));
    }
    if (on.length) throw new Error(`${where}: "if" without "end"`);
    return out;
}
