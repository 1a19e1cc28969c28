import { goJson } from "../canonical";
import { SECRET_TYPE, TEKTON_DOCKER_ANNOTATION_PREFIX } from "../constants";
import { SourceReader, encodeBase64 } from "../source";
import { DockerOptions, FormatOutput } from "../types";

/**
 * The JSON written to `.dockerconfigjson`, keys in a fixed order and Go's escaping (goJson), so the output is
 * byte-for-byte what ESO renders from the stack's template (stacks/eso/manifests.ts dockerConfigTemplate).
 */
export function dockerConfigJson(registry: string, username: string, password: string, email?: string): string {
    const entry: Record<string, string> = { username, password, auth: encodeBase64(`${username}:${password}`) };
    if (email !== undefined) entry.email = email;
    return goJson({ auths: { [registry]: entry } });
}

/** docker: username/password[/email] from the source, registry from the recipe → kubernetes.io/dockerconfigjson. */
export function deriveDocker(src: SourceReader, options: DockerOptions): FormatOutput {
    src.requireType([SECRET_TYPE.basicAuth, SECRET_TYPE.opaque], "docker");
    const username = src.text("username", true, true);
    const password = src.text("password", true, true);
    if (username.includes(":")) {
        src.fail("username", "invalid-value", "the user name contains ':'", "docker splits user:password on the first ':'; use a user name without ':'");
    }
    const email = src.text("email", false);
    if (email !== undefined && (email.trim() === "" || /[\s]/.test(email))) {
        src.fail("email", "invalid-value", "the e-mail is empty or contains whitespace", "remove the key or store a plain address");
    }
    const annotations: Record<string, string> = {};
    if (options.tektonAnnotation) {
        annotations[`${TEKTON_DOCKER_ANNOTATION_PREFIX}0`] = /^https?:\/\//.test(options.registry) ? options.registry : `https://${options.registry}`;
    }
    return {
        type: SECRET_TYPE.dockerConfigJson,
        data: { ".dockerconfigjson": encodeBase64(dockerConfigJson(options.registry, username, password, email)) },
        labels: {},
        annotations,
        consumedKeys: ["username", "password", "email"],
    };
}
