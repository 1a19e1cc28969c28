import { SECRET_TYPE, TEKTON_GIT_ANNOTATION_PREFIX } from "../constants";
import { SourceReader } from "../source";
import { FormatOutput, TektonGitOptions } from "../types";
import { parseGitHost } from "../urls";

/**
 * Tekton git credential: same type as the source (basic-auth or ssh-auth), one `tekton.dev/git-N` annotation per
 * host. Options are already normalized by validateRecipe.
 */
export function deriveTektonGit(src: SourceReader, options: TektonGitOptions, target: string): FormatOutput {
    src.requireType([SECRET_TYPE.basicAuth, SECRET_TYPE.sshAuth], "tekton-git");
    const ssh = src.type === SECRET_TYPE.sshAuth;
    const annotations: Record<string, string> = {};
    options.gitUrls.forEach((url, i) => {
        const host = parseGitHost(url);
        if ((host.transport === "ssh") !== ssh) {
            src.fail(
                undefined,
                "wrong-type",
                `options.gitUrls[${i}] of ${target} is an ${host.transport} URL but the source is ${src.type}`,
                ssh ? "use ssh URLs (git@host:org/repo) with an ssh-auth source" : "use https URLs with a basic-auth source, or an ssh-auth source for ssh URLs",
            );
        }
        annotations[`${TEKTON_GIT_ANNOTATION_PREFIX}${i}`] = host.annotation;
    });
    const data: Record<string, string> = {};
    const consumedKeys: string[] = [];
    const take = (key: string, value: string | undefined): void => {
        consumedKeys.push(key);
        if (value !== undefined) data[key] = value;
    };
    if (ssh) {
        src.privateKey("ssh-privatekey", true);
        take("ssh-privatekey", src.base64("ssh-privatekey", true));
        src.text("known_hosts", false);
        take("known_hosts", src.base64("known_hosts", false));
    } else {
        src.text("username", true, true);
        src.text("password", true, true);
        take("username", src.base64("username", true));
        take("password", src.base64("password", true));
    }
    src.text(".gitconfig", false);
    take(".gitconfig", src.base64(".gitconfig", false));
    return { type: src.type, data, labels: {}, annotations, consumedKeys };
}
