import { ARGOCD_SECRET_TYPE_LABEL, SECRET_TYPE } from "../constants";
import { SourceReader, encodeBase64 } from "../source";
import { ArgoCdOptions, FormatOutput } from "../types";
import { checkRepoUrl } from "../urls";
import { CREDENTIAL_KEYS, readCredentials } from "./credentials";

/** Argo CD repository / repo-creds secret: url, type (+name, project) from the recipe, credentials from the source. */
export function deriveArgoCd(src: SourceReader, options: ArgoCdOptions, target: string): FormatOutput {
    src.requireType([SECRET_TYPE.basicAuth, SECRET_TYPE.sshAuth, SECRET_TYPE.opaque], "argocd");
    const creds = readCredentials(src, "argocd", true);
    const transport = checkRepoUrl(options.url, ["http", "ssh", "oci"]);
    if ((creds.kind === "ssh") !== (transport === "ssh")) {
        src.fail(
            undefined,
            "wrong-type",
            `options.url of ${target} is an ${transport} URL but the source holds ${creds.kind} credentials`,
            creds.kind === "ssh" ? "use an ssh URL (git@host:org/repo) with an ssh key" : "use an https URL with username/password or GitHub App credentials",
        );
    }
    const data: Record<string, string> = { url: encodeBase64(options.url), type: encodeBase64(options.type ?? "git") };
    if (options.name !== undefined) data.name = encodeBase64(options.name);
    if (options.project !== undefined) data.project = encodeBase64(options.project);
    switch (creds.kind) {
        case "basic":
            data.username = creds.username;
            data.password = creds.password;
            break;
        case "ssh":
            data.sshPrivateKey = creds.privateKey;
            break;
        case "githubApp":
            data.githubAppID = creds.appID;
            data.githubAppPrivateKey = creds.privateKey;
            data.githubAppInstallationID = creds.installationID;
            if (options.githubAppEnterpriseBaseUrl !== undefined) data.githubAppEnterpriseBaseUrl = encodeBase64(options.githubAppEnterpriseBaseUrl);
            break;
        default: {
            const never: never = creds;
            throw new Error(`unreachable credentials ${String(never)}`);
        }
    }
    return { type: SECRET_TYPE.opaque, data, labels: { [ARGOCD_SECRET_TYPE_LABEL]: options.secretType }, annotations: {}, consumedKeys: [...CREDENTIAL_KEYS] };
}
