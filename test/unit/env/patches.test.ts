import { strict as assert } from "node:assert";
import { activationFuncTwoArgs, restorePolicyReturnsName, vaultSdkForRelease } from "../../env/patches";

const LOCK_MANAGER = `package keysutil

func (lm *LockManager) RestorePolicy(ctx context.Context, storage logical.Storage, name, backup string, force bool) error {
	if err := x(); err != nil {
		return err
	}
	// an error would have been returned by now
	if name == "" {
		return fmt.Errorf("key %q already exists", name)
	}
	return nil
}

func (lm *LockManager) BackupPolicy(ctx context.Context) error {
	return nil
}
`;

describe("env/patches (vault sdk at the release branch)", () => {
    it("rewrites RestorePolicy to return the key name, and nothing outside it", () => {
        const out = restorePolicyReturnsName(LOCK_MANAGER);
        assert.match(out, /RestorePolicy\(ctx context.Context, storage logical.Storage, name, backup string, force bool\) \(string, error\) \{/);
        assert.match(out, /\t\treturn "", err\n/);
        assert.match(out, /return "", fmt.Errorf\("key %q already exists", name\)/);
        assert.match(out, /\treturn name, nil\n\}\n\nfunc \(lm \*LockManager\) BackupPolicy/);
        assert.match(out, /BackupPolicy\(ctx context.Context\) error \{\n\treturn nil\n\}/, "the next function is untouched");
        assert.match(out, /would have been returned by now/, "comments are untouched");
    });

    it("rewrites ActivationFunc to the two-argument form", () => {
        const out = activationFuncTwoArgs("\tActivationFunc func(context.Context, *logical.Request, string) error\n");
        assert.equal(out, "\tActivationFunc func(context.Context, *logical.Request) error\n");
    });

    it("fails loudly when an anchor is missing (a different sdk version)", () => {
        assert.throws(() => activationFuncTwoArgs("ActivationFunc func(context.Context, *logical.Request) error"), /anchor .* not found/);
        assert.throws(() => restorePolicyReturnsName("package keysutil\n"), /signature not found/);
        const withClosure = LOCK_MANAGER.replace("return nil\n}\n\nfunc (lm", "go func() { return }()\n\treturn nil\n}\n\nfunc (lm");
        assert.throws(() => restorePolicyReturnsName(withClosure), /closure/);
    });

    it("patches the sdk version vault's go.mod requires", () => {
        const p = vaultSdkForRelease("v0.21.0");
        assert.equal(p.module, "github.com/hashicorp/vault/sdk");
        assert.deepEqual(p.patches.map((x) => x.file), ["framework/backend.go", "helper/keysutil/lock_manager.go"]);
    });
});
