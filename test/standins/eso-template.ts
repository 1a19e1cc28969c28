/**
 * The subset of ESO's Go templates (text/template + sprig) the program renders (stacks/eso/manifests.ts): fields
 * `.key`, string literals, `printf "%s..." args`, and the pipe functions `toJson` and `b64enc`. Anything else throws,
 * naming the template, so the ESO stand-in reports it on the ExternalSecret instead of writing a wrong value.
 */
type Value = string;

function tokenize(expr: string): string[] {
    const out: string[] = [];
    const re = /\s*("(?:[^"\\]|\\.)*"|\||[^\s|"]+)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(expr)) !== null) if (m[1]) out.push(m[1]);
    return out;
}

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
    const out = format.replace(/%[sv%]/g, (spec) => {
        if (spec === "%%") return "%";
        if (i >= args.length) throw new Error(`${where}: printf has fewer arguments than verbs`);
        return String(args[i++]);
    });
    return out;
}

function command(tokens: string[], piped: Value | undefined, data: Record<string, string>, where: string): Value {
    const [head, ...rest] = tokens;
    if (head === undefined) throw new Error(`${where}: empty command`);
    const args = rest.map((t) => operand(t, data, where));
    if (piped !== undefined) args.push(piped);
    switch (head) {
        case "printf":
            return printf(args[0] ?? "", args.slice(1), where);
        case "toJson":
            return JSON.stringify(args[args.length - 1] ?? "");
        case "b64enc":
            return Buffer.from(args[args.length - 1] ?? "", "utf8").toString("base64");
        default:
            if (rest.length === 0 && piped === undefined) return operand(head, data, where);
            throw new Error(`${where}: unsupported template function "${head}" (ESO stand-in)`);
    }
}

function evaluate(expr: string, data: Record<string, string>, where: string): Value {
    const tokens = tokenize(expr);
    const parts: string[][] = [[]];
    for (const t of tokens) {
        if (t === "|") parts.push([]);
        else parts[parts.length - 1]!.push(t);
    }
    let value: Value | undefined;
    for (const p of parts) value = command(p, value, data, where);
    return value ?? "";
}

/** Renders one template string with the secret's values (`.secretKey` → value). */
export function renderTemplate(tpl: string, data: Record<string, string>, where = "template"): string {
    let out = "";
    let rest = tpl;
    for (;;) {
        const i = rest.indexOf("{{");
        if (i < 0) return out + rest;
        const j = rest.indexOf("}}", i + 2);
        if (j < 0) throw new Error(`${where}: unclosed action`);
        out += rest.slice(0, i) + evaluate(rest.slice(i + 2, j).replace(/^-|-$/g, ""), data, where);
        rest = rest.slice(j + 2);
    }
}
