import { SECRET_TYPE } from "../constants";
import { SourceReader } from "../source";

/** The credential kinds Kargo and Argo CD accept, read from a source secret. Values stay base64. */
export type Credentials =
    | { kind: "basic"; username: string; password: string }
    | { kind: "ssh"; privateKey: string }
    | { kind: "githubApp"; appID: string; privateKey: string; installationID: string };

export const GITHUB_APP_KEYS = ["githubAppID", "githubAppPrivateKey", "githubAppInstallationID"] as const;
export const CREDENTIAL_KEYS = ["username", "password", "ssh-privatekey", "sshPrivateKey", ...GITHUB_APP_KEYS] as const;

/**
 * Detects the credential kind from the keys present. Exactly one kind must be present: a source holding two
 * would make the output depend on a precedence rule nobody remembers.
 */
export function readCredentials(src: SourceReader, format: string, allowSsh: boolean): Credentials {
    const hasBasic = src.has("username") || src.has("password");
    const sshKey = src.has("ssh-privatekey") ? "ssh-privatekey" : src.has("sshPrivateKey") ? "sshPrivateKey" : undefined;
    const hasApp = GITHUB_APP_KEYS.some((k) => src.has(k));
    const kinds = [hasBasic, sshKey !== undefined, hasApp].filter(Boolean).length;
    if (kinds > 1) {
        src.fail(undefined, "ambiguous-credentials", "the source holds more than one kind of credential", "keep only username/password, or only an ssh key, or only the githubApp* keys");
    }
    if (sshKey !== undefined) {
        if (!allowSsh) src.fail(sshKey, "wrong-type", `${format} does not accept ssh keys`, "use username/password or GitHub App credentials");
        src.privateKey(sshKey, true);
        return { kind: "ssh", privateKey: src.base64(sshKey, true) };
    }
    if (hasApp) {
        const id = src.text("githubAppID", true, true);
        const inst = src.text("githubAppInstallationID", true, true);
        if (!/^\d+$/.test(id)) src.fail("githubAppID", "invalid-value", "the GitHub App ID is not a number", "store the numeric App ID");
        if (!/^\d+$/.test(inst)) src.fail("githubAppInstallationID", "invalid-value", "the installation ID is not a number", "store the numeric installation ID");
        src.privateKey("githubAppPrivateKey", true);
        return {
            kind: "githubApp",
            appID: src.base64("githubAppID", true),
            privateKey: src.base64("githubAppPrivateKey", true),
            installationID: src.base64("githubAppInstallationID", true),
        };
    }
    if (src.type === SECRET_TYPE.sshAuth) src.fail("ssh-privatekey", "missing-key", "the ssh-auth source has no key", "add ssh-privatekey");
    src.text("username", true, true);
    src.text("password", true, true);
    return { kind: "basic", username: src.base64("username", true), password: src.base64("password", true) };
}
