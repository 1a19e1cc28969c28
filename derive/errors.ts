/** Machine-readable reason of a DerivationError; tests and callers switch on it, humans read `message`. */
export type DerivationErrorCode =
    | "missing-key"
    | "empty-value"
    | "wrong-type"
    | "invalid-base64"
    | "invalid-utf8"
    | "invalid-pem"
    | "invalid-url"
    | "credentials-in-url"
    | "invalid-json"
    | "too-large"
    | "ambiguous-credentials"
    | "invalid-value"
    | "invalid-option"
    | "invalid-recipe";

/**
 * A source secret or recipe that cannot be derived. Names the object ("ns/name"), the key and the fix;
 * by construction it never carries a value (constructors only take names, keys and fixed prose).
 */
export class DerivationError extends Error {
    readonly object: string;
    readonly key?: string;
    readonly fix: string;
    readonly code: DerivationErrorCode;

    constructor(args: { object: string; key?: string; code: DerivationErrorCode; problem: string; fix: string }) {
        const where = args.key === undefined ? args.object : `${args.object} key "${args.key}"`;
        const message = `${where}: ${args.problem}. Fix: ${args.fix}`;
        super(message);
        // Pulumi's closure serializer turns `super(...)` into `Error.call(this, ...)`, which sets nothing.
        this.message = message;
        this.name = "DerivationError";
        this.object = args.object;
        this.key = args.key;
        this.fix = args.fix;
        this.code = args.code;
    }
}

export function isDerivationError(e: unknown): e is DerivationError {
    return e instanceof DerivationError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "DerivationError");
}
