import { KARGO_CRED_TYPE_LABEL, SECRET_TYPE } from "../constants";
import { SourceReader, encodeBase64 } from "../source";
import { FormatOutput, KargoOptions } from "../types";
import { CREDENTIAL_KEYS, readCredentials } from "./credentials";

/** Kargo credential: label cred-type, repoURL[/repoURLIsRegex] from the recipe, credentials from the source. */
export function deriveKargo(src: SourceReader, options: KargoOptions): FormatOutput {
    src.requireType([SECRET_TYPE.basicAuth, SECRET_TYPE.opaque], "kargo");
    const creds = readCredentials(src, "kargo", false);
    const data: Record<string, string> = { repoURL: encodeBase64(options.repoURL) };
    if (options.repoURLIsRegex) data.repoURLIsRegex = encodeBase64("true");
    switch (creds.kind) {
        case "basic":
            data.username = creds.username;
            data.password = creds.password;
            break;
        case "githubApp":
            data.githubAppID = creds.appID;
            data.githubAppPrivateKey = creds.privateKey;
            data.githubAppInstallationID = creds.installationID;
            break;
        case "ssh":
            throw new Error("unreachable: ssh credentials rejected for kargo");
        default: {
            const never: never = creds;
            throw new Error(`unreachable credentials ${String(never)}`);
        }
    }
    return { type: SECRET_TYPE.opaque, data, labels: { [KARGO_CRED_TYPE_LABEL]: options.credType }, annotations: {}, consumedKeys: [...CREDENTIAL_KEYS] };
}
