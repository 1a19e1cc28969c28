/**
 * Source patches for a dependency module that the wrapper build copies next to its go.mod and replaces locally.
 *
 * Why: Vault v1.21.4 is built in its repository against ./sdk on the release/1.21.x branch, which was never
 * tagged. The published sdk modules this machine's proxy serves do not match it (v0.20.0 and v0.21.0 lack a
 * backported RestorePolicy signature; v0.21.0 and later have a newer ActivationFunc signature), and the proxy
 * refuses pseudo-version queries for the release commit (403). So the wrapper uses sdk v0.21.0 — the version
 * Vault's go.mod requires — with the two API differences the release branch has, reconstructed below. Each patch
 * throws when its anchor is missing, so a version bump fails loudly instead of building something else.
 */
export interface SourcePatch {
    /** Path inside the module. */
    file: string;
    description: string;
    apply(text: string): string;
}

export interface PatchedModule {
    module: string;
    version: string;
    /** Directory under the wrapper module the patched copy goes to. */
    dir: string;
    patches: SourcePatch[];
}

function mustReplace(text: string, from: string | RegExp, to: string, what: string): string {
    const out = text.replace(from, to);
    if (out === text) throw new Error(`source patch "${what}": anchor ${String(from)} not found`);
    return out;
}

/** framework.Backend.ActivationFunc as Vault 1.21.x calls it: func(ctx, req) error. */
export function activationFuncTwoArgs(text: string): string {
    return mustReplace(
        text,
        "ActivationFunc func(context.Context, *logical.Request, string) error",
        "ActivationFunc func(context.Context, *logical.Request) error",
        "ActivationFunc two args",
    );
}

/** keysutil.LockManager.RestorePolicy returning the restored key name, as Vault 1.21.x's transit expects. */
export function restorePolicyReturnsName(text: string): string {
    const sig = "func (lm *LockManager) RestorePolicy(ctx context.Context, storage logical.Storage, name, backup string, force bool) error {";
    const start = text.indexOf(sig);
    if (start < 0) throw new Error('source patch "RestorePolicy returns name": signature not found');
    const end = text.indexOf("\n}\n", start);
    if (end < 0) throw new Error('source patch "RestorePolicy returns name": end of function not found');
    const body = text.slice(start + sig.length, end);
    if (/func\s*\(/.test(body)) throw new Error('source patch "RestorePolicy returns name": body has a closure; returns cannot be rewritten mechanically');
    const newBody = body.replace(/\breturn nil\b/g, "return name, nil").replace(/\breturn (?!name, nil)/g, 'return "", ');
    const newSig = sig.replace(") error {", ") (string, error) {");
    return text.slice(0, start) + newSig + newBody + text.slice(end);
}

/** The Vault sdk as of the v1.21.4 release branch (see the header comment). */
export function vaultSdkForRelease(version: string): PatchedModule {
    return {
        module: "github.com/hashicorp/vault/sdk",
        version,
        dir: "patched/vault-sdk",
        patches: [
            { file: "framework/backend.go", description: "ActivationFunc(ctx, req)", apply: activationFuncTwoArgs },
            { file: "helper/keysutil/lock_manager.go", description: "RestorePolicy returns the key name", apply: restorePolicyReturnsName },
        ],
    };
}
