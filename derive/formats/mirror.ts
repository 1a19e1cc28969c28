import { SECRET_TYPE } from "../constants";
import { SourceReader } from "../source";
import { FormatOutput } from "../types";

/** Types whose copies would be wrong or dangerous: token-controller and bootstrap tokens grant cluster access. */
const REFUSED_TYPES: readonly string[] = [SECRET_TYPE.serviceAccountToken, SECRET_TYPE.bootstrapToken];

/** Per-type keys the apiserver itself requires; checked up front so a mirror never fails half-way across namespaces. */
function checkTypedKeys(src: SourceReader): void {
    switch (src.type) {
        case SECRET_TYPE.basicAuth:
            if (!src.has("username") && !src.has("password")) src.fail("password", "missing-key", "a basic-auth secret needs username or password", "add username/password");
            break;
        case SECRET_TYPE.sshAuth:
            src.privateKey("ssh-privatekey", true);
            break;
        case SECRET_TYPE.tls:
            src.text("tls.crt", true);
            src.text("tls.key", true);
            break;
        case SECRET_TYPE.dockerConfigJson:
        case SECRET_TYPE.dockerCfg: {
            const key = src.type === SECRET_TYPE.dockerConfigJson ? ".dockerconfigjson" : ".dockercfg";
            const text = src.text(key, true);
            let parsed: unknown;
            try {
                parsed = JSON.parse(text);
            } catch {
                src.fail(key, "invalid-json", "the value is not valid JSON", "store the docker config file as written by `docker login`");
            }
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
                src.fail(key, "invalid-json", "the value is not a JSON object", "store a JSON object such as {\"auths\":{...}}");
            }
            break;
        }
        default:
            break;
    }
}

/** mirror: the same type and data, in another namespace (or under another name). */
export function deriveMirror(src: SourceReader): FormatOutput {
    if (REFUSED_TYPES.includes(src.type)) {
        src.fail(undefined, "wrong-type", `secrets of type ${src.type} are not mirrored`, "mint a token in the target namespace instead of copying one");
    }
    checkTypedKeys(src);
    const data: Record<string, string> = {};
    for (const key of src.keys()) data[key] = src.base64(key, true);
    return { type: src.type, data, labels: {}, annotations: {}, consumedKeys: src.keys() };
}
