// GENERATED from providers/runtime.ts by `npm run build:providers` (providers/compile.ts): do not edit; commit it with the sources.
"use strict";
var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));
var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

// providers/runtime.ts
var runtime_exports = {};
__export(runtime_exports, {
  PROVIDERS: () => PROVIDERS
});
module.exports = __toCommonJS(runtime_exports);

// derive/constants.ts
var PREFIX = "platform-secrets.io/";
var MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
var MANAGED_BY_VALUE = "platform-secrets";
var LABEL_DERIVED = `${PREFIX}derived`;
var LABEL_SOURCE = `${PREFIX}source`;
var ANNOTATION_SOURCE_NAMESPACE = `${PREFIX}source-namespace`;
var ANNOTATION_SOURCE_NAME = `${PREFIX}source-name`;
var ANNOTATION_FORMAT = `${PREFIX}format`;
var ANNOTATION_OPTIONS = `${PREFIX}options`;
var ANNOTATION_SOURCE_HASH = `${PREFIX}source-hash`;
var ANNOTATION_DERIVATION_VERSION = `${PREFIX}derivation-version`;
var ANNOTATION_FAN_OUT = `${PREFIX}fan-out`;
var ANNOTATION_HOOKS = `${PREFIX}hooks`;
var DERIVATION_VERSION = "1";
var KARGO_CRED_TYPE_LABEL = "kargo.akuity.io/cred-type";
var ARGOCD_SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type";
var TEKTON_GIT_ANNOTATION_PREFIX = "tekton.dev/git-";
var TEKTON_DOCKER_ANNOTATION_PREFIX = "tekton.dev/docker-";
var MAX_VALUE_BYTES = 512 * 1024;
var MAX_SECRET_BYTES = 1024 * 1024;
var SECRET_TYPE = {
  opaque: "Opaque",
  basicAuth: "kubernetes.io/basic-auth",
  sshAuth: "kubernetes.io/ssh-auth",
  dockerConfigJson: "kubernetes.io/dockerconfigjson",
  dockerCfg: "kubernetes.io/dockercfg",
  tls: "kubernetes.io/tls",
  serviceAccountToken: "kubernetes.io/service-account-token",
  bootstrapToken: "bootstrap.kubernetes.io/token"
};
var ANNOTATION_ALLOW_NAMESPACES = `${PREFIX}allow-namespaces`;
var ANNOTATION_ALLOW_NAMESPACE_SELECTOR = `${PREFIX}allow-namespace-selector`;

// derive/errors.ts
var DerivationError = class extends Error {
  object;
  key;
  fix;
  code;
  constructor(args) {
    const where = args.key === void 0 ? args.object : `${args.object} key "${args.key}"`;
    const message = `${where}: ${args.problem}. Fix: ${args.fix}`;
    super(message);
    this.message = message;
    this.name = "DerivationError";
    this.object = args.object;
    this.key = args.key;
    this.fix = args.fix;
    this.code = args.code;
  }
};
function isDerivationError(e) {
  return e instanceof DerivationError || typeof e === "object" && e !== null && e.name === "DerivationError";
}

// derive/types.ts
var FORMATS = ["tekton-git", "docker", "kargo", "argocd", "mirror"];

// derive/source.ts
var BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
function objectKey(ref) {
  return `${ref.namespace ?? "<no namespace>"}/${ref.name ?? "<no name>"}`;
}
function encodeBase64(text) {
  return Buffer.from(text).toString("base64");
}
function isBase64(value) {
  return BASE64.test(value);
}
var SourceReader = class {
  constructor(secret) {
    this.secret = secret;
    this.object = objectKey(secret.metadata);
    this.type = secret.type ?? "Opaque";
    this.data = secret.data ?? {};
  }
  secret;
  object;
  type;
  data;
  has(key) {
    return Object.prototype.hasOwnProperty.call(this.data, key);
  }
  keys() {
    return Object.keys(this.data).sort();
  }
  fail(key, code, problem, fix) {
    throw new DerivationError({ object: this.object, key, code, problem, fix });
  }
  requireType(allowed, format) {
    if (!allowed.includes(this.type)) {
      this.fail(void 0, "wrong-type", `secret type "${this.type}" cannot feed format ${format}`, `use a source of type ${allowed.join(" or ")}`);
    }
  }
  base64(key, required) {
    if (!this.has(key)) {
      if (required) this.fail(key, "missing-key", "the key is missing", `add "${key}" to the source secret`);
      return void 0;
    }
    const raw = this.data[key];
    if (typeof raw !== "string") this.fail(key, "invalid-base64", "the value is not a string", "store the value as base64 text");
    if (raw.length / 4 * 3 > MAX_VALUE_BYTES + 3 && Buffer.byteLength(raw, "base64") > MAX_VALUE_BYTES) {
      this.fail(key, "too-large", `the value exceeds ${MAX_VALUE_BYTES} bytes`, "store a smaller value (derived secrets must stay below 1 MiB)");
    }
    if (!isBase64(raw)) {
      this.fail(key, "invalid-base64", "the value is not valid base64", "write the value through stringData or base64-encode it without line breaks");
    }
    return raw;
  }
  bytes(key, required) {
    const raw = required ? this.base64(key, true) : this.base64(key, false);
    return raw === void 0 ? void 0 : Buffer.from(raw, "base64");
  }
  text(key, required, nonEmpty = false) {
    const buf = required ? this.bytes(key, true) : this.bytes(key, false);
    if (buf === void 0) return void 0;
    let s;
    try {
      s = new TextDecoder("utf-8", { fatal: true }).decode(buf);
    } catch {
      return this.fail(key, "invalid-utf8", "the value is not UTF-8 text", "store the value as UTF-8 text");
    }
    if (nonEmpty) {
      if (s.trim() === "") this.fail(key, "empty-value", "the value is empty", `set a non-empty "${key}"`);
      if (/[\r\n]$/.test(s)) {
        this.fail(key, "invalid-value", "the value ends with a newline", "re-create the value without the trailing newline (e.g. `echo -n`)");
      }
    }
    return s;
  }
  privateKey(key, required) {
    const s = required ? this.text(key, true) : this.text(key, false);
    if (s === void 0) return void 0;
    if (!isPemPrivateKey(s)) {
      this.fail(key, "invalid-pem", "the value is not a PEM private key", 'store the whole key file, from "-----BEGIN ... PRIVATE KEY-----" to the END line');
    }
    return s;
  }
};
var PEM = /^\s*-----BEGIN ((?:OPENSSH |RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----\r?\n([A-Za-z0-9+/=\r\n:,\- ]+?)\r?\n-----END \1-----\s*$/;
function isPemPrivateKey(s) {
  const m = PEM.exec(s);
  if (!m) return false;
  const body = m[2].split(/\r?\n/).filter((l) => l !== "" && !l.includes(":"));
  return body.length > 0 && body.every((l) => /^[A-Za-z0-9+/=]+$/.test(l));
}

// derive/urls.ts
var UrlProblem = class extends Error {
  constructor(problem, code = "invalid-url") {
    super(problem);
    this.problem = problem;
    this.code = code;
  }
  problem;
  code;
};
var SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
var SCP = /^(?:([^@/:\s]+)@)?([a-zA-Z0-9._-]+|\[[0-9a-fA-F:.]+\]):(?!\/\/)(.*)$/;
var HOSTNAME = /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$|^\[[0-9a-f:.]+\]$/;
var CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f]/;
function checkHostname(hostname) {
  const h = hostname.toLowerCase();
  if (h === "" || !HOSTNAME.test(h)) throw new UrlProblem("the URL has no valid host name");
  return h;
}
function checkPort(port) {
  if (port === "") return "";
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new UrlProblem("the URL has an invalid port");
  return port;
}
function parseGitHost(url) {
  if (typeof url !== "string" || url === "") throw new UrlProblem("the URL is empty");
  if (CONTROL_OR_SPACE.test(url)) throw new UrlProblem("the URL contains whitespace or control characters");
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === void 0) {
    const m = SCP.exec(url);
    if (!m) throw new UrlProblem("not a git URL (expected https://host/path, ssh://[user@]host[:port]/path or user@host:path)");
    const host = checkHostname(m[2]);
    return { transport: "ssh", annotation: host, canonicalUrl: `ssh://${host}`, hadCredentials: m[1] !== void 0 };
  }
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new UrlProblem("the URL cannot be parsed");
  }
  const hadCredentials = u.username !== "" || u.password !== "";
  switch (scheme) {
    case "http":
    case "https": {
      const host = checkHostname(u.hostname);
      const port = checkPort(u.port);
      const hostPort = port ? `${host}:${port}` : host;
      return { transport: "http", annotation: `${scheme}://${hostPort}`, canonicalUrl: `${scheme}://${hostPort}`, hadCredentials };
    }
    case "ssh":
    case "git+ssh":
    case "ssh+git": {
      const host = checkHostname(u.hostname);
      const port = checkPort(u.port);
      const hostPort = port && port !== "22" ? `${host}:${port}` : host;
      return { transport: "ssh", annotation: hostPort, canonicalUrl: `ssh://${hostPort}`, hadCredentials };
    }
    default:
      throw new UrlProblem(`scheme "${scheme}" is not supported for git credentials (use https or ssh)`);
  }
}
function checkRepoUrl(url, allowed) {
  if (typeof url !== "string" || url === "") throw new UrlProblem("the URL is empty");
  if (CONTROL_OR_SPACE.test(url)) throw new UrlProblem("the URL contains whitespace or control characters");
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  let kind;
  if (scheme === "oci") {
    kind = "oci";
    parseRegistryLike(url.slice("oci://".length));
  } else if (scheme === void 0 && !SCP.test(url)) {
    kind = "image";
    parseRegistryLike(url);
  } else {
    const h = parseGitHost(url);
    kind = h.transport;
    if (h.hadCredentials) {
      let u;
      try {
        u = new URL(url);
      } catch {
        u = void 0;
      }
      const isLoginOnly = h.transport === "ssh" && (u === void 0 || u.password === "");
      if (!isLoginOnly) throw new UrlProblem("the URL embeds credentials", "credentials-in-url");
    }
  }
  if (!allowed.includes(kind)) throw new UrlProblem(`a ${kind} URL is not accepted here (expected ${allowed.join(" or ")})`);
  return kind;
}
function parseRegistryLike(ref) {
  if (typeof ref !== "string" || ref === "") throw new UrlProblem("the registry is empty");
  if (CONTROL_OR_SPACE.test(ref)) throw new UrlProblem("the registry contains whitespace or control characters");
  let rest = ref;
  const scheme = SCHEME.exec(ref)?.[1]?.toLowerCase();
  if (scheme !== void 0) {
    if (scheme !== "http" && scheme !== "https") throw new UrlProblem(`scheme "${scheme}" is not valid for a registry`);
    rest = ref.slice(scheme.length + 3);
  }
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash);
  if (authority.includes("@")) throw new UrlProblem("the registry embeds credentials", "credentials-in-url");
  const m = /^([^:]+|\[[0-9a-fA-F:.]+\])(?::(\d+))?$/.exec(authority);
  if (!m) throw new UrlProblem("the registry has no valid host");
  const host = checkHostname(m[1]);
  const port = checkPort(m[2] ?? "");
  if (path !== "" && !/^(?:\/[A-Za-z0-9._~-]*)+$/.test(path)) throw new UrlProblem("the registry path is invalid");
  return port ? `${host}:${port}` : host;
}

// derive/canonical.ts
var import_node_crypto = require("node:crypto");
function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value;
    const keys = Object.keys(obj).filter((k) => obj[k] !== void 0).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
function goJson(value) {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
function sourceHash(type, data, consumedKeys) {
  const consumed = {};
  for (const k of consumedKeys) if (Object.prototype.hasOwnProperty.call(data, k)) consumed[k] = data[k];
  return (0, import_node_crypto.createHash)("sha256").update(canonicalJson({ type, data: consumed })).digest("hex");
}

// derive/names.ts
var LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
var SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
function isDnsLabel(v, max = 63) {
  return typeof v === "string" && v.length <= max && LABEL.test(v);
}
function isDnsSubdomain(v) {
  return typeof v === "string" && v.length <= 253 && SUBDOMAIN.test(v);
}

// derive/recipe.ts
function fail(object, p) {
  throw new DerivationError({ object, key: p.key, code: p.code ?? "invalid-option", problem: p.problem, fix: p.fix });
}
function isRecord(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function checkRef(object, which, v) {
  if (!isRecord(v)) fail(object, { key: which, problem: `${which} is not an object`, fix: `set ${which}: { namespace, name }`, code: "invalid-recipe" });
  const { namespace, name } = v;
  if (!isDnsLabel(namespace)) {
    fail(object, { key: `${which}.namespace`, problem: "not a valid namespace name", fix: "use a DNS-1123 label (lower-case letters, digits, '-')", code: "invalid-recipe" });
  }
  if (!isDnsSubdomain(name)) {
    fail(object, { key: `${which}.name`, problem: "not a valid secret name", fix: "use a DNS-1123 subdomain (lower-case letters, digits, '-', '.')", code: "invalid-recipe" });
  }
  return { namespace, name };
}
function optString(object, o, key, required) {
  const v = o[key];
  if (v === void 0) {
    if (required) fail(object, { key: `options.${key}`, problem: "the option is missing", fix: `set options.${key}` });
    return void 0;
  }
  if (typeof v !== "string" || v === "") fail(object, { key: `options.${key}`, problem: "the option must be a non-empty string", fix: `set options.${key} to a string` });
  return v;
}
function optBool(object, o, key) {
  const v = o[key];
  if (v !== void 0 && typeof v !== "boolean") fail(object, { key: `options.${key}`, problem: "the option must be a boolean", fix: `set options.${key} to true or false` });
  return v;
}
function optEnum(object, o, key, values, required) {
  const v = o[key];
  if (v === void 0 && !required) return void 0;
  if (typeof v !== "string" || !values.includes(v)) {
    fail(object, { key: `options.${key}`, problem: "the option is missing or not one of the accepted values", fix: `set options.${key} to one of ${values.join(", ")}` });
  }
  return v;
}
function rejectUnknown(object, o, known) {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) fail(object, { key: `options.${k}`, problem: "unknown option", fix: `remove it; accepted options are ${known.length ? known.join(", ") : "none"}` });
  }
}
function urlFail(object, key, e, fix) {
  if (e instanceof UrlProblem) fail(object, { key, problem: e.problem, fix, code: e.code });
  throw e;
}
function tektonOptions(object, o) {
  rejectUnknown(object, o, ["gitUrls"]);
  const urls = o.gitUrls;
  if (!Array.isArray(urls) || urls.length === 0) {
    fail(object, { key: "options.gitUrls", problem: "at least one git URL is required", fix: 'set options.gitUrls, e.g. ["https://github.com/org/repo"]' });
  }
  const canonical = [];
  urls.forEach((u, i) => {
    let c;
    try {
      c = parseGitHost(u).canonicalUrl;
    } catch (e) {
      urlFail(object, `options.gitUrls[${i}]`, e, "use https://host/org/repo or git@host:org/repo.git");
    }
    if (!canonical.includes(c)) canonical.push(c);
  });
  return { gitUrls: canonical };
}
function dockerOptions(object, o) {
  rejectUnknown(object, o, ["registry", "tektonAnnotation"]);
  const registry = optString(object, o, "registry", true);
  try {
    parseRegistryLike(registry);
  } catch (e) {
    urlFail(object, "options.registry", e, "use host[:port] such as ghcr.io or registry.example.com:5000, without credentials");
  }
  const tektonAnnotation = optBool(object, o, "tektonAnnotation") ?? false;
  return { registry, tektonAnnotation };
}
function kargoOptions(object, o) {
  rejectUnknown(object, o, ["credType", "repoURL", "repoURLIsRegex"]);
  const credType = optEnum(object, o, "credType", ["git", "image", "helm"], true);
  const repoURL = optString(object, o, "repoURL", true);
  const repoURLIsRegex = optBool(object, o, "repoURLIsRegex") ?? false;
  if (repoURLIsRegex) {
    try {
      new RegExp(repoURL);
    } catch {
      fail(object, { key: "options.repoURL", problem: "not a valid regular expression", fix: "fix the pattern or set repoURLIsRegex: false" });
    }
    if (/\/\/[^/]*:[^/@]*@/.test(repoURL)) fail(object, { key: "options.repoURL", problem: "the pattern embeds credentials", fix: "remove them; credentials belong in the source secret", code: "credentials-in-url" });
  } else {
    const allowed = credType === "git" ? ["http", "ssh"] : credType === "image" ? ["image"] : ["http", "oci"];
    try {
      checkRepoUrl(repoURL, allowed);
    } catch (e) {
      urlFail(object, "options.repoURL", e, "use a plain repository URL without credentials (credentials belong in the source secret)");
    }
  }
  return { credType, repoURL, repoURLIsRegex };
}
function argoOptions(object, o) {
  rejectUnknown(object, o, ["secretType", "url", "type", "name", "project", "githubAppEnterpriseBaseUrl"]);
  const secretType = optEnum(object, o, "secretType", ["repository", "repo-creds"], true);
  const url = optString(object, o, "url", true);
  const type = optEnum(object, o, "type", ["git", "helm"], false) ?? "git";
  try {
    checkRepoUrl(url, type === "git" ? ["http", "ssh"] : ["http", "oci"]);
  } catch (e) {
    urlFail(object, "options.url", e, "use a plain repository URL without credentials (credentials belong in the source secret)");
  }
  const out = { secretType, url, type };
  const name = optString(object, o, "name", false);
  const project = optString(object, o, "project", false);
  const ghe = optString(object, o, "githubAppEnterpriseBaseUrl", false);
  if (name !== void 0) out.name = name;
  if (project !== void 0) out.project = project;
  if (ghe !== void 0) {
    try {
      checkRepoUrl(ghe, ["http"]);
    } catch (e) {
      urlFail(object, "options.githubAppEnterpriseBaseUrl", e, "use the API base URL, e.g. https://ghe.example.com/api/v3");
    }
    out.githubAppEnterpriseBaseUrl = ghe;
  }
  return out;
}
function validateRecipe(input) {
  if (!isRecord(input)) throw new DerivationError({ object: "<recipe>", code: "invalid-recipe", problem: "the recipe is not an object", fix: "pass { format, source, target, options }" });
  const target = checkRef(objectKey(isRecord(input.target) ? input.target : {}), "target", input.target);
  const object = objectKey(target);
  const source = checkRef(object, "source", input.source);
  if (source.namespace === target.namespace && source.name === target.name) {
    fail(object, { key: "target", problem: "the target is the source itself", fix: "choose another target name or namespace", code: "invalid-recipe" });
  }
  const format = input.format;
  if (typeof format !== "string" || !FORMATS.includes(format)) {
    fail(object, { key: "format", problem: "unknown format", fix: `use one of ${FORMATS.join(", ")}`, code: "invalid-recipe" });
  }
  const rawOptions = input.options ?? {};
  if (!isRecord(rawOptions)) fail(object, { key: "options", problem: "options must be an object", fix: "pass options as an object" });
  const f = format;
  switch (f) {
    case "tekton-git":
      return { format: f, source, target, options: tektonOptions(object, rawOptions) };
    case "docker":
      return { format: f, source, target, options: dockerOptions(object, rawOptions) };
    case "kargo":
      return { format: f, source, target, options: kargoOptions(object, rawOptions) };
    case "argocd":
      return { format: f, source, target, options: argoOptions(object, rawOptions) };
    case "mirror":
      rejectUnknown(object, rawOptions, []);
      return { format: f, source, target, options: {} };
    default: {
      const never = f;
      throw new Error(`unreachable format ${String(never)}`);
    }
  }
}

// derive/formats/credentials.ts
var GITHUB_APP_KEYS = ["githubAppID", "githubAppPrivateKey", "githubAppInstallationID"];
var CREDENTIAL_KEYS = ["username", "password", "ssh-privatekey", "sshPrivateKey", ...GITHUB_APP_KEYS];
function readCredentials(src, format, allowSsh) {
  const hasBasic = src.has("username") || src.has("password");
  const sshKey = src.has("ssh-privatekey") ? "ssh-privatekey" : src.has("sshPrivateKey") ? "sshPrivateKey" : void 0;
  const hasApp = GITHUB_APP_KEYS.some((k) => src.has(k));
  const kinds = [hasBasic, sshKey !== void 0, hasApp].filter(Boolean).length;
  if (kinds > 1) {
    src.fail(void 0, "ambiguous-credentials", "the source holds more than one kind of credential", "keep only username/password, or only an ssh key, or only the githubApp* keys");
  }
  if (sshKey !== void 0) {
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
      installationID: src.base64("githubAppInstallationID", true)
    };
  }
  if (src.type === SECRET_TYPE.sshAuth) src.fail("ssh-privatekey", "missing-key", "the ssh-auth source has no key", "add ssh-privatekey");
  src.text("username", true, true);
  src.text("password", true, true);
  return { kind: "basic", username: src.base64("username", true), password: src.base64("password", true) };
}

// derive/formats/argocd.ts
function deriveArgoCd(src, options, target) {
  src.requireType([SECRET_TYPE.basicAuth, SECRET_TYPE.sshAuth, SECRET_TYPE.opaque], "argocd");
  const creds = readCredentials(src, "argocd", true);
  const transport = checkRepoUrl(options.url, ["http", "ssh", "oci"]);
  if (creds.kind === "ssh" !== (transport === "ssh")) {
    src.fail(
      void 0,
      "wrong-type",
      `options.url of ${target} is an ${transport} URL but the source holds ${creds.kind} credentials`,
      creds.kind === "ssh" ? "use an ssh URL (git@host:org/repo) with an ssh key" : "use an https URL with username/password or GitHub App credentials"
    );
  }
  const data = { url: encodeBase64(options.url), type: encodeBase64(options.type ?? "git") };
  if (options.name !== void 0) data.name = encodeBase64(options.name);
  if (options.project !== void 0) data.project = encodeBase64(options.project);
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
      if (options.githubAppEnterpriseBaseUrl !== void 0) data.githubAppEnterpriseBaseUrl = encodeBase64(options.githubAppEnterpriseBaseUrl);
      break;
    default: {
      const never = creds;
      throw new Error(`unreachable credentials ${String(never)}`);
    }
  }
  return { type: SECRET_TYPE.opaque, data, labels: { [ARGOCD_SECRET_TYPE_LABEL]: options.secretType }, annotations: {}, consumedKeys: [...CREDENTIAL_KEYS] };
}

// derive/formats/docker.ts
function dockerConfigJson(registry, username, password, email) {
  const entry = { username, password, auth: encodeBase64(`${username}:${password}`) };
  if (email !== void 0) entry.email = email;
  return goJson({ auths: { [registry]: entry } });
}
function deriveDocker(src, options) {
  src.requireType([SECRET_TYPE.basicAuth, SECRET_TYPE.opaque], "docker");
  const username = src.text("username", true, true);
  const password = src.text("password", true, true);
  if (username.includes(":")) {
    src.fail("username", "invalid-value", "the user name contains ':'", "docker splits user:password on the first ':'; use a user name without ':'");
  }
  const email = src.text("email", false);
  if (email !== void 0 && (email.trim() === "" || /[\s]/.test(email))) {
    src.fail("email", "invalid-value", "the e-mail is empty or contains whitespace", "remove the key or store a plain address");
  }
  const annotations = {};
  if (options.tektonAnnotation) {
    annotations[`${TEKTON_DOCKER_ANNOTATION_PREFIX}0`] = /^https?:\/\//.test(options.registry) ? options.registry : `https://${options.registry}`;
  }
  return {
    type: SECRET_TYPE.dockerConfigJson,
    data: { ".dockerconfigjson": encodeBase64(dockerConfigJson(options.registry, username, password, email)) },
    labels: {},
    annotations,
    consumedKeys: ["username", "password", "email"]
  };
}

// derive/formats/kargo.ts
function deriveKargo(src, options) {
  src.requireType([SECRET_TYPE.basicAuth, SECRET_TYPE.opaque], "kargo");
  const creds = readCredentials(src, "kargo", false);
  const data = { repoURL: encodeBase64(options.repoURL) };
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
      const never = creds;
      throw new Error(`unreachable credentials ${String(never)}`);
    }
  }
  return { type: SECRET_TYPE.opaque, data, labels: { [KARGO_CRED_TYPE_LABEL]: options.credType }, annotations: {}, consumedKeys: [...CREDENTIAL_KEYS] };
}

// derive/formats/mirror.ts
var REFUSED_TYPES = [SECRET_TYPE.serviceAccountToken, SECRET_TYPE.bootstrapToken];
function checkTypedKeys(src) {
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
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        src.fail(key, "invalid-json", "the value is not valid JSON", "store the docker config file as written by `docker login`");
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        src.fail(key, "invalid-json", "the value is not a JSON object", 'store a JSON object such as {"auths":{...}}');
      }
      break;
    }
    default:
      break;
  }
}
function deriveMirror(src) {
  if (REFUSED_TYPES.includes(src.type)) {
    src.fail(void 0, "wrong-type", `secrets of type ${src.type} are not mirrored`, "mint a token in the target namespace instead of copying one");
  }
  checkTypedKeys(src);
  const data = {};
  for (const key of src.keys()) data[key] = src.base64(key, true);
  return { type: src.type, data, labels: {}, annotations: {}, consumedKeys: src.keys() };
}

// derive/formats/tekton.ts
function deriveTektonGit(src, options, target) {
  src.requireType([SECRET_TYPE.basicAuth, SECRET_TYPE.sshAuth], "tekton-git");
  const ssh = src.type === SECRET_TYPE.sshAuth;
  const annotations = {};
  options.gitUrls.forEach((url, i) => {
    const host = parseGitHost(url);
    if (host.transport === "ssh" !== ssh) {
      src.fail(
        void 0,
        "wrong-type",
        `options.gitUrls[${i}] of ${target} is an ${host.transport} URL but the source is ${src.type}`,
        ssh ? "use ssh URLs (git@host:org/repo) with an ssh-auth source" : "use https URLs with a basic-auth source, or an ssh-auth source for ssh URLs"
      );
    }
    annotations[`${TEKTON_GIT_ANNOTATION_PREFIX}${i}`] = host.annotation;
  });
  const data = {};
  const consumedKeys = [];
  const take = (key, value) => {
    consumedKeys.push(key);
    if (value !== void 0) data[key] = value;
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

// derive/derive.ts
function formatOutput(src, recipe) {
  const target = objectKey(recipe.target);
  switch (recipe.format) {
    case "tekton-git":
      return deriveTektonGit(src, recipe.options, target);
    case "docker":
      return deriveDocker(src, recipe.options);
    case "kargo":
      return deriveKargo(src, recipe.options);
    case "argocd":
      return deriveArgoCd(src, recipe.options, target);
    case "mirror":
      return deriveMirror(src);
    default: {
      const never = recipe;
      throw new Error(`unreachable format ${String(never.format)}`);
    }
  }
}
function approximateSize(s) {
  let n = 512 + s.type.length + s.metadata.name.length + s.metadata.namespace.length;
  for (const [k, v] of Object.entries(s.data)) n += k.length + v.length + 8;
  for (const m of [s.metadata.labels, s.metadata.annotations]) for (const [k, v] of Object.entries(m)) n += k.length + v.length + 8;
  return n;
}
function deriveSecret(source, recipeInput) {
  const recipe = validateRecipe(recipeInput);
  const src = new SourceReader(source);
  const expected = objectKey(recipe.source);
  if (src.object !== expected) {
    throw new DerivationError({ object: src.object, code: "invalid-recipe", problem: `the recipe of ${objectKey(recipe.target)} names source ${expected}`, fix: "pass the source secret the recipe names" });
  }
  const out = formatOutput(src, recipe);
  const desired = {
    metadata: {
      namespace: recipe.target.namespace,
      name: recipe.target.name,
      labels: { ...out.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LABEL_DERIVED]: "true" },
      annotations: {
        ...out.annotations,
        [ANNOTATION_SOURCE_NAMESPACE]: recipe.source.namespace,
        [ANNOTATION_SOURCE_NAME]: recipe.source.name,
        [ANNOTATION_FORMAT]: recipe.format,
        [ANNOTATION_OPTIONS]: canonicalJson(recipe.options ?? {}),
        [ANNOTATION_SOURCE_HASH]: sourceHash(src.type, source.data ?? {}, out.consumedKeys),
        [ANNOTATION_DERIVATION_VERSION]: DERIVATION_VERSION
      }
    },
    type: out.type,
    data: out.data
  };
  if (approximateSize(desired) >= MAX_SECRET_BYTES) {
    throw new DerivationError({ object: objectKey(recipe.target), code: "too-large", problem: "the derived secret would exceed 1 MiB", fix: `shrink the values of source ${expected}` });
  }
  return desired;
}

// derive/ownership.ts
var OWNED_LABELS = [MANAGED_BY_LABEL, LABEL_DERIVED, KARGO_CRED_TYPE_LABEL, ARGOCD_SECRET_TYPE_LABEL];
var OWNED_ANNOTATIONS = [
  ANNOTATION_SOURCE_NAMESPACE,
  ANNOTATION_SOURCE_NAME,
  ANNOTATION_FORMAT,
  ANNOTATION_OPTIONS,
  ANNOTATION_SOURCE_HASH,
  ANNOTATION_DERIVATION_VERSION
];
var OWNED_ANNOTATION_PREFIXES = [TEKTON_GIT_ANNOTATION_PREFIX, TEKTON_DOCKER_ANNOTATION_PREFIX];
function isOwnedLabel(key) {
  return OWNED_LABELS.includes(key);
}
function isOwnedAnnotation(key) {
  return OWNED_ANNOTATIONS.includes(key) || OWNED_ANNOTATION_PREFIXES.some((p) => key.startsWith(p));
}
function owned(m, pred) {
  const out = {};
  for (const [k, v] of Object.entries(m ?? {})) if (pred(k)) out[k] = v;
  return out;
}
function ownedLabels(s) {
  return owned(s.metadata.labels, isOwnedLabel);
}
function ownedAnnotations(s) {
  return owned(s.metadata.annotations, isOwnedAnnotation);
}
function mapDiff(prefix, a, b) {
  const keys = [.../* @__PURE__ */ new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => a[k] !== b[k]).map((k) => `${prefix}${k}`);
}
function diffSecret(live, desired) {
  const out = [];
  if ((live.type ?? "Opaque") !== desired.type) out.push("type");
  out.push(...mapDiff("data.", live.data ?? {}, desired.data));
  out.push(...mapDiff("labels.", ownedLabels(live), owned(desired.metadata.labels, isOwnedLabel)));
  out.push(...mapDiff("annotations.", ownedAnnotations(live), owned(desired.metadata.annotations, isOwnedAnnotation)));
  return out;
}
function needsUpdate(live, desired) {
  return diffSecret(live, desired).length > 0;
}
function requiresReplace(live, desired) {
  return (live.type ?? "Opaque") !== desired.type;
}
function mergeForUpdate(live, desired) {
  const labels = {};
  for (const [k, v] of Object.entries(live.metadata.labels ?? {})) if (!isOwnedLabel(k)) labels[k] = v;
  const annotations = {};
  for (const [k, v] of Object.entries(live.metadata.annotations ?? {})) if (!isOwnedAnnotation(k)) annotations[k] = v;
  return {
    metadata: {
      ...desired.metadata,
      labels: { ...labels, ...desired.metadata.labels },
      annotations: { ...annotations, ...desired.metadata.annotations },
      ...live.metadata.resourceVersion !== void 0 ? { resourceVersion: live.metadata.resourceVersion } : {}
    },
    type: desired.type,
    data: { ...desired.data }
  };
}
function isManaged(secret) {
  return secret.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

// derive/fanout.ts
var FAN_OUT_LIMITS = { annotationBytes: 16 * 1024, entries: 32, namespacesPerEntry: 256, selectorChars: 1024, targets: 512 };
var KEY = "[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?";
var VALUE = "([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?";
function parseLabelSelector(selector) {
  if (selector.length > FAN_OUT_LIMITS.selectorChars) throw new Error(`selector is ${selector.length} characters, more than ${FAN_OUT_LIMITS.selectorChars}`);
  const terms = [];
  let depth = 0;
  let cur = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      terms.push(cur);
      cur = "";
    } else cur += ch;
  }
  terms.push(cur);
  return terms.map((raw) => {
    const t = raw.trim();
    let m;
    if (m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`).exec(t)) {
      return { op: m[3] === "!=" ? "notin" : "in", key: m[1], values: [m[4]] };
    }
    if (m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(t)) {
      const values = m[4].split(",").map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) throw new Error(`invalid value in selector term "${t}"`);
      return { op: m[3], key: m[1], values };
    }
    if (m = new RegExp(`^!\\s*(${KEY})$`).exec(t)) return { op: "!exists", key: m[1] };
    if (m = new RegExp(`^(${KEY})$`).exec(t)) return { op: "exists", key: m[1] };
    throw new Error(`invalid selector term "${t}"`);
  });
}
function matchesLabelSelector(labels, selector) {
  return compileLabelSelector(selector)(labels);
}
function compileLabelSelector(selector) {
  if (selector.trim() === "") return () => true;
  const reqs = parseLabelSelector(selector);
  return (labels) => matchRequirements(labels ?? {}, reqs);
}
function matchRequirements(l, reqs) {
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "in":
        return has && r.values.includes(l[r.key]);
      case "notin":
        return !has || !r.values.includes(l[r.key]);
      default: {
        const never = r;
        throw new Error(`unreachable ${String(never)}`);
      }
    }
  });
}

// derive/grants.ts
function grantedNamespaces(source) {
  const raw = source.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACES] ?? "";
  return [...new Set(raw.split(",").map((s) => s.trim()).filter(Boolean))].sort();
}
function sourceGrants(source, targetNamespace, targetNamespaceLabels) {
  if (source.metadata.namespace === targetNamespace) return true;
  if (grantedNamespaces(source).includes(targetNamespace)) return true;
  const sel = source.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACE_SELECTOR];
  if (sel === void 0 || sel.trim() === "") return false;
  try {
    return matchesLabelSelector(targetNamespaceLabels, sel);
  } catch {
    return false;
  }
}
function withGrantedNamespace(current, namespace) {
  const set = new Set((current ?? "").split(",").map((s) => s.trim()).filter(Boolean));
  set.add(namespace);
  return [...set].sort().join(",");
}
function withoutGrantedNamespace(current, namespace) {
  const list = (current ?? "").split(",").map((s) => s.trim()).filter((s) => s && s !== namespace);
  return list.length ? [...new Set(list)].sort().join(",") : void 0;
}
function grantFix(sourceKey, targetNamespace) {
  return `annotate source ${sourceKey} with ${ANNOTATION_ALLOW_NAMESPACES}: "${targetNamespace}" (or a ${ANNOTATION_ALLOW_NAMESPACE_SELECTOR} matching namespace ${targetNamespace}), or derive from a source in ${targetNamespace}`;
}

// providers/checks.ts
var UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
function containsUnknown(v) {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
  return false;
}
function commonFailures(news) {
  const out = [];
  if (news.kubeconfig !== void 0 && !containsUnknown(news.kubeconfig) && typeof news.kubeconfig !== "string") {
    out.push({ property: "kubeconfig", reason: "kubeconfig must be the YAML content of a kubeconfig file (a string); omit it for default loading" });
  }
  if (news.context !== void 0 && !containsUnknown(news.context) && (typeof news.context !== "string" || news.context === "")) {
    out.push({ property: "context", reason: "context must be a non-empty kubeconfig context name; omit it for the kubeconfig's current-context" });
  }
  if (news.adopt !== void 0 && !containsUnknown(news.adopt) && typeof news.adopt !== "boolean") {
    out.push({ property: "adopt", reason: "adopt must be true or false (default false)" });
  }
  return out;
}
function fields(o) {
  return Object.fromEntries(Object.entries(o));
}
function checkDerivedInputs(input) {
  const news = fields(input);
  const failures = commonFailures(news);
  const recipe = { format: news.format, source: news.source, target: news.target, options: news.options };
  if (containsUnknown(recipe)) return failures;
  try {
    validateRecipe(recipe);
  } catch (e) {
    if (!isDerivationError(e)) throw e;
    failures.push({ property: e.key ?? "options", reason: e.message });
  }
  return failures;
}
function checkMirrorInputs(input) {
  const news = fields(input);
  const failures = commonFailures(news);
  const { namespaces, namespaceSelector, targetName, source } = news;
  if (containsUnknown({ namespaces, namespaceSelector, targetName, source })) return failures;
  if (namespaces === void 0 && namespaceSelector === void 0) {
    failures.push({ property: "namespaces", reason: 'set namespaces (a list) or namespaceSelector (a label selector such as "team=a")' });
  }
  if (namespaces !== void 0 && (!Array.isArray(namespaces) || namespaces.some((n) => typeof n !== "string"))) {
    failures.push({ property: "namespaces", reason: "namespaces must be a list of namespace names" });
  }
  if (namespaceSelector !== void 0) {
    let ok = typeof namespaceSelector === "string" && namespaceSelector.trim() !== "";
    if (ok) {
      try {
        parseLabelSelector(namespaceSelector);
      } catch {
        ok = false;
      }
    }
    if (!ok) failures.push({ property: "namespaceSelector", reason: 'namespaceSelector must be a non-empty label selector such as "team=a,env in (prod,stage)"' });
  }
  const probe = Array.isArray(namespaces) && namespaces.length > 0 ? namespaces : ["probe-namespace"];
  for (const ns of probe) {
    try {
      const src = source ?? {};
      const name = targetName ?? src.name;
      if (ns === src.namespace && name === src.name) continue;
      validateRecipe({ format: "mirror", source, target: { namespace: ns, name }, options: {} });
    } catch (e) {
      if (!isDerivationError(e)) throw e;
      const property = e.key === "target.namespace" ? "namespaces" : e.key === "target.name" || e.key === "target" ? "targetName" : e.key ?? "source";
      failures.push({ property, reason: e.message });
      break;
    }
  }
  return failures;
}
var FIXED_TYPE = {
  docker: "kubernetes.io/dockerconfigjson",
  kargo: "Opaque",
  argocd: "Opaque"
};
function same(a, b) {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}
function diffDerived(oldInput, newInput) {
  const [olds, news] = [fields(oldInput), fields(newInput)];
  const reasons = [];
  for (const k of ["format", "source", "target", "options", "kubeconfig", "context", "adopt"]) {
    if (!same(olds[k], news[k])) reasons.push(k);
  }
  const drift = Array.isArray(olds.drift) ? olds.drift : [];
  for (const d of drift) reasons.push(`drift:${d}`);
  const replaces = [];
  let deleteBeforeReplace = false;
  if (reasons.includes("context")) replaces.push("context");
  if (reasons.includes("target")) replaces.push("target");
  else if (reasons.includes("format")) {
    const oldType = typeof olds.type === "string" ? olds.type : void 0;
    const newType = FIXED_TYPE[String(news.format)];
    if (oldType !== void 0 && newType !== void 0 && oldType !== newType) {
      replaces.push("format");
      deleteBeforeReplace = true;
    }
  }
  return { changes: reasons.length > 0, replaces, deleteBeforeReplace, reasons };
}
function diffMirror(oldInput, newInput) {
  const [olds, news] = [fields(oldInput), fields(newInput)];
  const reasons = [];
  for (const k of ["source", "targetName", "namespaces", "namespaceSelector", "kubeconfig", "context", "adopt"]) {
    if (!same(olds[k], news[k])) reasons.push(k);
  }
  const drift = Array.isArray(olds.drift) ? olds.drift : [];
  for (const d of drift) reasons.push(`drift:${d}`);
  const name = (v) => v.targetName ?? v.source?.name;
  const replaces = [...same(name(olds), name(news)) ? [] : ["targetName"], ...reasons.includes("context") ? ["context"] : []];
  return { changes: reasons.length > 0, replaces, deleteBeforeReplace: false, reasons };
}

// lib/kube/client.ts
var https = __toESM(require("node:https"));
var import_json = require("@streamparser/json");
var fs = __toESM(require("node:fs"));
var http = __toESM(require("node:http"));

// lib/kube/exec.ts
var import_node_child_process = require("node:child_process");
var SUPPORTED = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];
function parseExecCredential(stdout, cfg) {
  let doc;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new Error(`kubeconfig exec plugin ${cfg.command}: its output is not JSON (an ExecCredential was expected)`);
  }
  if (doc?.kind !== "ExecCredential") throw new Error(`kubeconfig exec plugin ${cfg.command}: its output is not an ExecCredential`);
  if (doc.apiVersion !== cfg.apiVersion) throw new Error(`kubeconfig exec plugin ${cfg.command}: answered ${String(doc.apiVersion)}, the kubeconfig asked for ${cfg.apiVersion}`);
  const s = doc.status ?? {};
  const expiresAt = typeof s.expirationTimestamp === "string" ? Date.parse(s.expirationTimestamp) : void 0;
  const cred = { ...Number.isFinite(expiresAt) ? { expiresAt } : {} };
  if (typeof s.token === "string" && s.token) cred.token = s.token;
  if (typeof s.clientCertificateData === "string" && typeof s.clientKeyData === "string") {
    cred.cert = Buffer.from(s.clientCertificateData);
    cred.key = Buffer.from(s.clientKeyData);
  }
  if (!cred.token && !cred.cert) throw new Error(`kubeconfig exec plugin ${cfg.command}: the ExecCredential has neither status.token nor clientCertificateData + clientKeyData`);
  return cred;
}
function runExecPlugin(cfg, timeoutMs = 6e4) {
  if (!SUPPORTED.includes(cfg.apiVersion)) {
    return Promise.reject(new Error(`kubeconfig exec plugin ${cfg.command}: apiVersion ${cfg.apiVersion} is not supported; use client.authentication.k8s.io/v1 or v1beta1`));
  }
  const info = { apiVersion: cfg.apiVersion, kind: "ExecCredential", spec: { interactive: false, ...cfg.cluster ? { cluster: { server: cfg.cluster.server, ...cfg.cluster["certificate-authority-data"] ? { "certificate-authority-data": cfg.cluster["certificate-authority-data"] } : {} } } : {} } };
  const env = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const e of cfg.env) env[e.name] = e.value;
  return new Promise((resolve2, reject) => {
    const child = (0, import_node_child_process.execFile)(cfg.command, cfg.args, { env, cwd: cfg.cwd, timeout: timeoutMs, maxBuffer: 1 << 20, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const why = String(stderr ?? "").split("\n").find((l) => l.trim()) ?? err.message.split("\n")[0];
        const missing = err.code === "ENOENT";
        reject(new Error(`kubeconfig exec plugin ${cfg.command} ${missing ? "not found on PATH; install it or fix users[].user.exec.command" : `failed: ${why.slice(0, 200)}`}`));
        return;
      }
      try {
        resolve2(parseExecCredential(String(stdout), cfg));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin?.end();
  });
}

// lib/kube/client.ts
var KubeApiError = class extends Error {
  constructor(code, reason, message, object, statusMessage = "", causes = []) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.object = object;
    this.statusMessage = statusMessage;
    this.causes = causes;
    this.name = "KubeApiError";
  }
  code;
  reason;
  object;
  statusMessage;
  causes;
};
function isKubeError(e, code) {
  return e instanceof KubeApiError && (code === void 0 || e.code === code);
}
function listStream(onItem, onMeta, onError) {
  const p = new import_json.JSONParser({ paths: ["$.metadata", "$.items.*"], keepStack: false });
  p.onValue = ({ value, key }) => {
    if (typeof key === "number") onItem(value);
    else onMeta(value ?? {});
  };
  p.onError = onError;
  return p;
}
var KubeClient = class _KubeClient {
  constructor(cfg) {
    this.cfg = cfg;
    this.server = new URL(cfg.server);
    this.tlsOpts = { ca: cfg.ca, cert: cfg.cert, key: cfg.key, rejectUnauthorized: cfg.insecureSkipTlsVerify ? false : void 0, servername: cfg.servername };
    const common = { keepAlive: true, maxSockets: 64, keepAliveMsecs: 3e4 };
    this.agent = this.server.protocol === "https:" ? new https.Agent({ ...this.tlsOpts, ...common }) : new http.Agent(common);
    this.refreshHeaders();
  }
  cfg;
  agent;
  headers = {};
  headersAt = 0;
  server;
  tlsOpts;
  /**
   * Sent as `fieldManager` with every create, update and patch that does not name one: the managedFields of what this
   * client writes then say who wrote it (GitOps tools show it; a workload's rollout annotation names the reconciler).
   */
  fieldManager;
  /** From our own loader (lib/kube/kubeconfig.ts): what the process uses, without client-node's RSS cost. */
  static fromConfig(cfg) {
    return new _KubeClient(cfg);
  }
  /** Token files (in-cluster, projected SA tokens) rotate; re-read them at most once a minute. */
  refreshHeaders() {
    const h = {};
    let token = this.cfg.token;
    if (this.cfg.tokenFile) {
      try {
        token = fs.readFileSync(this.cfg.tokenFile, "utf8").trim();
      } catch {
        throw new Error(`cannot read token file ${this.cfg.tokenFile}; check the service-account token mount`);
      }
    }
    if (token) h.Authorization = `Bearer ${token}`;
    else if (this.cfg.basicAuth) h.Authorization = `Basic ${Buffer.from(`${this.cfg.basicAuth.username}:${this.cfg.basicAuth.password}`).toString("base64")}`;
    this.headers = h;
    this.headersAt = Date.now();
  }
  execCred;
  execRun;
  async authHeaders() {
    if (this.cfg.exec) return this.execHeaders();
    if (this.cfg.tokenFile && Date.now() - this.headersAt > 6e4) this.refreshHeaders();
    return this.headers;
  }
  /** An exec plugin's credential, run once for concurrent callers and again 30 s before it expires. */
  async execHeaders() {
    const fresh = (c) => c !== void 0 && (c.expiresAt === void 0 || c.expiresAt - 3e4 > Date.now());
    if (!fresh(this.execCred)) {
      this.execRun ??= runExecPlugin(this.cfg.exec).finally(() => this.execRun = void 0);
      const cred = await this.execRun;
      if (cred.cert && (cred.cert !== this.execCred?.cert || cred.key !== this.execCred?.key) && this.server.protocol === "https:") {
        this.tlsOpts = { ...this.tlsOpts, cert: cred.cert, key: cred.key };
        this.agent.destroy();
        this.agent = new https.Agent({ ...this.tlsOpts, keepAlive: true, maxSockets: 64, keepAliveMsecs: 3e4 });
      }
      this.execCred = cred;
    }
    return this.execCred?.token ? { Authorization: `Bearer ${this.execCred.token}` } : {};
  }
  /** A 401 means the plugin's credential was revoked or expired early: the next request runs the plugin again. */
  rejected(code) {
    if (code === 401) this.execCred = void 0;
  }
  url(path, query) {
    const u = new URL(this.server.toString().replace(/\/$/, "") + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== void 0) u.searchParams.set(k, String(v));
    return u;
  }
  async request(method, path, opts = {}) {
    const headers = { ...await this.authHeaders(), Accept: opts.accept ?? "application/json" };
    let payload;
    if (opts.body !== void 0) {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = String(payload.length);
    }
    const mutating = method === "POST" || method === "PUT" || method === "PATCH";
    const u = this.url(path, mutating && this.fieldManager && opts.query?.fieldManager === void 0 ? { ...opts.query, fieldManager: this.fieldManager } : opts.query);
    const mod = u.protocol === "https:" ? https : http;
    return new Promise((resolve2, reject) => {
      const req = mod.request(u, { method, headers, agent: this.agent, timeout: 6e4 }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) {
            try {
              resolve2(text ? JSON.parse(text) : {});
            } catch (e) {
              reject(new KubeApiError(code, "BadResponse", `${method} ${path}: unparsable response`, opts.object));
            }
            return;
          }
          this.rejected(code);
          reject(statusError(code, text, method, path, opts.object));
        });
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: request timed out`)));
      req.on("error", reject);
      if (payload) req.write(payload);
      req.end();
    });
  }
  /**
   * One page of a list, each item handed to `onItem` as it is parsed. Why not `request`: a page is `limit` items of
   * whatever size tenants gave them (500 Secrets of ~1 MiB is 500 MB), and holding it whole, as raw chunks, joined
   * text and parsed objects, OOM-kills the reconciler on every relist (issue 21). A page up to `bufferBytes` (default
   * 4 MiB, nearly every page) is parsed at once with JSON.parse (fast); past that the rest is parsed as it arrives,
   * item by item (@streamparser/json, ~5x slower per byte), so memory is one item plus what `onItem` keeps.
   */
  async list(path, query, onItem, o = {}) {
    const headers = { ...await this.authHeaders(), Accept: "application/json" };
    const u = this.url(path, query);
    const mod = u.protocol === "https:" ? https : http;
    const limit = o.bufferBytes ?? 4 * 1024 * 1024;
    return new Promise((resolve2, reject) => {
      const req = mod.request(u, { method: "GET", headers, agent: this.agent, timeout: 6e4 }, (res) => {
        const code = res.statusCode ?? 0;
        let chunks = [];
        let bytes = 0;
        let parser;
        let meta = {};
        let failed;
        const bad = (_e) => new KubeApiError(code, "BadResponse", `LIST ${path}: unparsable response`);
        const stream = () => listStream(onItem, (m) => meta = m, (e) => failed ??= bad(e));
        res.on("data", (c) => {
          if (failed) return;
          if (parser) return void parser.write(c);
          chunks.push(c);
          bytes += c.length;
          if (code >= 200 && code < 300 && bytes > limit) {
            parser = stream();
            for (const b of chunks) parser.write(b);
            chunks = [];
          }
        });
        res.on("error", reject);
        res.on("end", () => {
          if (code < 200 || code >= 300) {
            this.rejected(code);
            return reject(statusError(code, Buffer.concat(chunks).toString("utf8"), "LIST", path));
          }
          if (failed) return reject(failed);
          if (parser) {
            if (!parser.isEnded) parser.end();
            return failed ? reject(failed) : resolve2(meta);
          }
          let page;
          try {
            page = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch (e) {
            return reject(bad(e));
          }
          chunks = [];
          for (const it of page.items ?? []) onItem(it);
          resolve2(page.metadata ?? {});
        });
      });
      req.on("timeout", () => req.destroy(new Error(`LIST ${path}: request timed out`)));
      req.on("error", reject);
      req.end();
    });
  }
  /** Opens a watch stream and calls `onEvent` per JSON line; `onActivity` fires on every chunk (stall detection). */
  async watch(path, query, onEvent, onActivity) {
    const headers = { ...await this.authHeaders(), Accept: "application/json" };
    const u = this.url(path, { ...query, watch: "true" });
    const mod = u.protocol === "https:" ? https : http;
    let req;
    let aborted = false;
    const done = new Promise((resolve2, reject) => {
      req = mod.request(u, { method: "GET", headers, agent: false, ...u.protocol === "https:" ? this.tlsOnly() : {} }, (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            this.rejected(code);
            reject(statusError(code, Buffer.concat(chunks).toString("utf8"), "WATCH", path));
          });
          res.on("error", reject);
          return;
        }
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          onActivity();
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (!line.trim()) continue;
            let ev;
            try {
              ev = JSON.parse(line);
            } catch {
              continue;
            }
            if (typeof ev === "object" && ev !== null && !Array.isArray(ev)) onEvent(ev);
          }
        });
        res.on("end", () => resolve2());
        res.on("close", () => resolve2());
        res.on("error", (e) => aborted ? resolve2() : reject(e));
      });
      req.on("error", (e) => aborted ? resolve2() : reject(e));
      req.end();
    });
    return {
      done,
      abort: () => {
        aborted = true;
        req?.destroy();
      }
    };
  }
  tlsOnly() {
    return { ca: this.tlsOpts.ca, cert: this.tlsOpts.cert, key: this.tlsOpts.key, rejectUnauthorized: this.tlsOpts.rejectUnauthorized, servername: this.tlsOpts.servername };
  }
  close() {
    this.agent.destroy();
  }
};
function statusError(code, text, method, path, object) {
  let reason = "Unknown";
  let message = "";
  let causes = [];
  try {
    const s = JSON.parse(text);
    reason = s.reason ?? reason;
    message = typeof s.message === "string" ? s.message.slice(0, 300) : "";
    causes = Array.isArray(s.details?.causes) ? s.details.causes.map((c) => typeof c?.field === "string" ? c.field : "").filter(Boolean) : [];
  } catch {
  }
  return new KubeApiError(code, reason, `${method} ${path}${object ? ` (${object})` : ""}: ${code} ${reason}${message ? `: ${message}` : ""}`, object, message, causes);
}

// lib/kube/kubeconfig.ts
var fs2 = __toESM(require("node:fs"));
var os = __toESM(require("node:os"));
var nodePath = __toESM(require("node:path"));
var YAML = __toESM(require("yaml"));
function dataOrFile(data, file, base, what) {
  if (typeof data === "string" && data) return Buffer.from(data, "base64");
  if (typeof file === "string" && file) {
    const p = file.startsWith("/") ? file : `${base}/${file}`;
    try {
      return fs2.readFileSync(p);
    } catch {
      throw new Error(`kubeconfig: cannot read ${what} file ${p}; fix the path in the kubeconfig`);
    }
  }
  return void 0;
}
var isFields = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
function named(list, name, field) {
  if (!Array.isArray(list)) return void 0;
  const entry = list.find((e) => isFields(e) && e.name === name);
  const value = isFields(entry) ? entry[field] : void 0;
  return isFields(value) ? value : void 0;
}
function parseKubeconfig(doc, baseDir, context, where = "kubeconfig") {
  const d = isFields(doc) ? doc : {};
  const ctxName = context ?? (typeof d["current-context"] === "string" ? d["current-context"] : void 0);
  const ctx = named(d.contexts, ctxName, "context");
  if (!ctx) throw new Error(`${where}: context "${ctxName ?? ""}" not found; set current-context`);
  const cluster = named(d.clusters, ctx.cluster, "cluster");
  if (typeof cluster?.server !== "string" || !cluster.server) throw new Error(`${where}: cluster "${String(ctx.cluster)}" of context "${ctxName}" has no server`);
  const user = named(d.users, ctx.user, "user") ?? {};
  if (user["auth-provider"]) {
    throw new Error(`${where}: user "${String(ctx.user)}" uses the legacy auth-provider plugin "${String(user["auth-provider"].name ?? "")}", removed from Kubernetes; switch it to its exec plugin (gke-gcloud-auth-plugin, kubelogin) as kubectl asks`);
  }
  const exec = user.exec === void 0 ? void 0 : execConfig(user.exec, cluster, baseDir, `${where}: user "${String(ctx.user)}"`);
  return {
    ...exec ? { exec } : {},
    server: cluster.server,
    ca: dataOrFile(cluster["certificate-authority-data"], cluster["certificate-authority"], baseDir, "certificate-authority"),
    cert: dataOrFile(user["client-certificate-data"], user["client-certificate"], baseDir, "client-certificate"),
    key: dataOrFile(user["client-key-data"], user["client-key"], baseDir, "client-key"),
    token: typeof user.token === "string" ? user.token : void 0,
    tokenFile: typeof user.tokenFile === "string" ? user.tokenFile : void 0,
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    servername: typeof cluster["tls-server-name"] === "string" ? cluster["tls-server-name"] : void 0,
    basicAuth: typeof user.username === "string" ? { username: user.username, password: String(user.password ?? "") } : void 0
  };
}
function execConfig(raw, cluster, baseDir, where) {
  const e = isFields(raw) ? raw : {};
  if (typeof e.command !== "string" || !e.command) throw new Error(`${where}: exec needs a command`);
  if (typeof e.apiVersion !== "string") throw new Error(`${where}: exec needs an apiVersion (client.authentication.k8s.io/v1)`);
  const args = Array.isArray(e.args) ? e.args.map(String) : [];
  const env = Array.isArray(e.env) ? e.env.filter(isFields).map((x) => ({ name: String(x.name), value: String(x.value ?? "") })) : [];
  const command = e.command.includes("/") && !nodePath.isAbsolute(e.command) ? nodePath.resolve(baseDir, e.command) : e.command;
  return {
    apiVersion: e.apiVersion,
    command,
    args,
    env,
    cwd: baseDir,
    ...e.provideClusterInfo === true ? { cluster: { server: String(cluster.server), ...typeof cluster["certificate-authority-data"] === "string" ? { "certificate-authority-data": cluster["certificate-authority-data"] } : {} } } : {}
  };
}
function readDoc(path) {
  let doc;
  try {
    doc = YAML.parse(fs2.readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`kubeconfig ${path}: cannot read or parse (${e.message.split("\n")[0]}); pass --kubeconfig with a valid file`);
  }
  const d = isFields(doc) ? doc : {};
  const base = nodePath.dirname(nodePath.resolve(path));
  const abs = (m, keys) => {
    for (const k of keys) if (m && typeof m[k] === "string" && m[k] && !nodePath.isAbsolute(m[k])) m[k] = nodePath.resolve(base, m[k]);
  };
  for (const c of Array.isArray(d.clusters) ? d.clusters : []) if (isFields(c) && isFields(c.cluster)) abs(c.cluster, ["certificate-authority"]);
  for (const u of Array.isArray(d.users) ? d.users : []) {
    if (!isFields(u) || !isFields(u.user)) continue;
    abs(u.user, ["client-certificate", "client-key", "tokenFile"]);
    const ex = u.user.exec;
    if (isFields(ex) && typeof ex.command === "string" && ex.command.includes("/")) abs(ex, ["command"]);
  }
  return d;
}
function mergeKubeconfigs(docs) {
  const out = { clusters: [], users: [], contexts: [] };
  for (const d of docs) {
    if (out["current-context"] === void 0 && typeof d["current-context"] === "string" && d["current-context"]) out["current-context"] = d["current-context"];
    for (const list of ["clusters", "users", "contexts"]) {
      const have = out[list];
      for (const e of Array.isArray(d[list]) ? d[list] : []) if (isFields(e) && !have.some((x) => x.name === e.name)) have.push(e);
    }
  }
  return out;
}
function loadKubeconfig(o = {}) {
  const env = o.env ?? process.env;
  let doc;
  let where;
  if (o.content !== void 0 && o.content.trim() !== "") {
    const parsed = YAML.parse(o.content);
    doc = isFields(parsed) ? parsed : {};
    where = "kubeconfig (content)";
  } else if (o.path) {
    doc = readDoc(o.path);
    where = `kubeconfig ${o.path}`;
  } else {
    const listed = (env.KUBECONFIG ?? "").split(nodePath.delimiter).filter((p) => p && fs2.existsSync(p));
    const home = nodePath.join(env.HOME ?? os.homedir(), ".kube", "config");
    const files = listed.length ? listed : fs2.existsSync(home) ? [home] : [];
    if (files.length === 0) {
      if (env.KUBERNETES_SERVICE_HOST) return { config: inClusterConfig(env), context: "in-cluster", namespace: inClusterNamespace(), contexts: ["in-cluster"] };
      throw new Error("no kubeconfig: KUBECONFIG names no existing file and ~/.kube/config does not exist (and this is not a Pod); pass --kubeconfig or set KUBECONFIG");
    }
    doc = files.length === 1 ? readDoc(files[0]) : mergeKubeconfigs(files.map(readDoc));
    where = `kubeconfig ${files.join(nodePath.delimiter)}`;
  }
  const contexts = (Array.isArray(doc.contexts) ? doc.contexts : []).filter(isFields).map((c) => String(c.name));
  const context = o.context || (typeof doc["current-context"] === "string" ? doc["current-context"] : "");
  if (!contexts.includes(context)) {
    throw new Error(`${where}: context "${context}" not found (contexts: ${contexts.join(", ") || "none"}); ${o.context ? "pass one of them" : "set current-context or pass --context"}`);
  }
  const ns = named(doc.contexts, context, "context")?.namespace;
  return { config: parseKubeconfig(doc, ".", context, where), context, namespace: typeof ns === "string" && ns ? ns : "default", contexts };
}
var SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
function inClusterNamespace() {
  try {
    return fs2.readFileSync(`${SA_DIR}/namespace`, "utf8").trim() || "default";
  } catch {
    return "default";
  }
}
function inClusterConfig(env = process.env) {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error("not running in a pod (KUBERNETES_SERVICE_HOST/PORT unset); pass --kubeconfig");
  const h = host.includes(":") ? `[${host}]` : host;
  return { server: `https://${h}:${port}`, ca: fs2.readFileSync(`${SA_DIR}/ca.crt`), tokenFile: `${SA_DIR}/token` };
}

// providers/kube.ts
var KubeError = class extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
    this.message = message;
    this.name = "KubeError";
  }
  status;
};
var FIXES = {
  401: "check the credentials in the kubeconfig",
  403: "grant the kubeconfig's identity get/list/create/update/delete on secrets in that namespace (and list on namespaces for selectors); update on the source secret lets the provider add its namespace grant",
  404: "create the namespace or fix its name",
  409: "retry: the object changed concurrently",
  422: "fix the fields named above"
};
function kubeError(e, action, object) {
  if (!(e instanceof KubeApiError)) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return new KubeError(`${action} ${object} failed: cannot reach the apiserver (${msg}). Fix: check the kubeconfig's server address and that the apiserver is up`);
  }
  const code = e.code;
  const detail = code === 400 || code === 422 ? e.causes.join(", ") : e.statusMessage;
  const fix = FIXES[code] ?? "see the apiserver logs";
  const reason = e.reason && e.reason !== "Unknown" ? ` ${e.reason}` : "";
  return new KubeError(`${action} ${object} failed: HTTP ${code}${reason}${detail ? ` (${detail})` : ""}. Fix: ${fix}`, code);
}
function plainError(e) {
  const msg = typeof e?.message === "string" ? e.message : String(e);
  const err = new Error(msg);
  const name = e?.name;
  if (typeof name === "string") err.name = name;
  return err;
}
function toWire(s) {
  return { apiVersion: "v1", kind: "Secret", metadata: s.metadata, type: s.type, data: s.data };
}
function fromWire(s) {
  return { metadata: s.metadata ?? {}, type: s.type, data: s.data ?? {} };
}
function secretRef(ns, name) {
  return `secret ${ns}/${name}`;
}
function secretPath(ns, name) {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets${name !== void 0 ? `/${encodeURIComponent(name)}` : ""}`;
}
function loadConfig(kubeconfig, context) {
  try {
    return loadKubeconfig({ ...kubeconfig ? { content: kubeconfig } : {}, ...context ? { context } : {} });
  } catch (e) {
    const msg = e.message;
    if (context && /context ".*" not found/.test(msg)) {
      throw new KubeError(`kubeconfig context "${context}" not found (${/\(contexts: [^)]*\)/.exec(msg)?.[0].slice(1, -1) ?? "contexts: none"}). Fix: set platform-secrets:kubeContext to one of them, or point KUBECONFIG at the kubeconfig that has it`);
    }
    throw new KubeError(`${msg}. Fix: point KUBECONFIG at a valid kubeconfig`);
  }
}
function secretCalls(client) {
  return {
    async get(namespace, name) {
      try {
        return fromWire(await client.request("GET", secretPath(namespace, name)));
      } catch (e) {
        if (isKubeError(e, 404)) return void 0;
        throw kubeError(e, "reading", secretRef(namespace, name));
      }
    },
    async create(secret) {
      try {
        return fromWire(await client.request("POST", secretPath(secret.metadata.namespace), { body: toWire(secret) }));
      } catch (e) {
        throw kubeError(e, "creating", secretRef(secret.metadata.namespace, secret.metadata.name));
      }
    },
    async replace(secret) {
      try {
        return fromWire(await client.request("PUT", secretPath(secret.metadata.namespace, secret.metadata.name), { body: toWire(secret) }));
      } catch (e) {
        throw kubeError(e, "updating", secretRef(secret.metadata.namespace, secret.metadata.name));
      }
    },
    async remove(namespace, name, precondition) {
      try {
        await client.request("DELETE", secretPath(namespace, name), precondition ? { body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: precondition } } : {});
      } catch (e) {
        if (isKubeError(e, 404)) return;
        throw kubeError(e, "deleting", secretRef(namespace, name));
      }
    }
  };
}
function listCalls(client) {
  return {
    async listNamespaces(labelSelector) {
      try {
        const list = await client.request("GET", "/api/v1/namespaces", { query: { labelSelector } });
        return (list.items ?? []).map((n) => n.metadata?.name ?? "").filter((n) => n !== "").sort();
      } catch (e) {
        throw kubeError(e, "listing", `namespaces${labelSelector ? ` matching "${labelSelector}"` : ""}`);
      }
    },
    async namespaceLabels(name) {
      try {
        return { ...(await client.request("GET", `/api/v1/namespaces/${encodeURIComponent(name)}`)).metadata?.labels ?? {} };
      } catch (e) {
        if (isKubeError(e, 404) || isKubeError(e, 403)) return void 0;
        throw kubeError(e, "reading", `namespace ${name}`);
      }
    },
    async externalSecretReady(namespace, name) {
      try {
        const es = await client.request(
          "GET",
          `/apis/external-secrets.io/v1/namespaces/${encodeURIComponent(namespace)}/externalsecrets/${encodeURIComponent(name)}`
        );
        const c = (es.status?.conditions ?? []).find((x) => x.type === "Ready");
        return c ? { status: c.status, reason: c.reason, message: c.message } : "no-condition";
      } catch (e) {
        return isKubeError(e, 404) ? "missing" : "unreadable";
      }
    },
    async listDerived(namespace) {
      try {
        return ((await client.request("GET", secretPath(namespace), { query: { labelSelector: `${LABEL_DERIVED}=true` } })).items ?? []).map(fromWire);
      } catch (e) {
        throw kubeError(e, "listing", `derived secrets in namespace ${namespace}`);
      }
    }
  };
}
function connect(kubeconfig, context) {
  const client = KubeClient.fromConfig(loadConfig(kubeconfig, context).config);
  return { ...secretCalls(client), ...listCalls(client) };
}

// providers/grants.ts
var GRANT_ATTEMPTS = 5;
var ANNOTATION_PROVIDER_GRANTED = `${PREFIX}provider-granted-namespaces`;
function refKey(r) {
  return `${r.namespace}/${r.name}`;
}
function providerGranted(s) {
  const raw = s.metadata.annotations?.[ANNOTATION_PROVIDER_GRANTED] ?? "";
  return [...new Set(raw.split(",").map((x) => x.trim()).filter(Boolean))].sort();
}
function withLists(live, allow, provider) {
  const annotations = { ...live.metadata.annotations ?? {} };
  if (allow === void 0) delete annotations[ANNOTATION_ALLOW_NAMESPACES];
  else annotations[ANNOTATION_ALLOW_NAMESPACES] = allow;
  if (provider.length === 0) delete annotations[ANNOTATION_PROVIDER_GRANTED];
  else annotations[ANNOTATION_PROVIDER_GRANTED] = [...provider].sort().join(",");
  return { ...live, metadata: { ...live.metadata, annotations } };
}
async function grantStatus(api, source, namespaces) {
  const out = /* @__PURE__ */ new Map();
  const bySelector = (source.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACE_SELECTOR] ?? "").trim() !== "";
  for (const ns of namespaces) {
    const labels = bySelector && !grantedNamespaces(source).includes(ns) ? await api.namespaceLabels(ns) : void 0;
    out.set(ns, sourceGrants(source, ns, labels));
  }
  return out;
}
async function ensureGrants(api, source, namespaces) {
  const wanted = [...new Set(namespaces.filter((ns) => ns !== source.namespace))].sort();
  if (wanted.length === 0) return { added: [], managed: [] };
  for (let attempt = 1; ; attempt++) {
    const live = await api.get(source.namespace, source.name);
    if (live === void 0) throw new KubeError(`source secret ${refKey(source)} not found while granting namespace(s) ${wanted.join(", ")}. Fix: create the source secret first, or correct source.namespace/source.name`, 404);
    const status = await grantStatus(api, live, wanted);
    const missing = wanted.filter((ns) => !status.get(ns));
    const before = providerGranted(live);
    const managedBefore = wanted.filter((ns) => before.includes(ns) && grantedNamespaces(live).includes(ns));
    if (missing.length === 0) return { added: [], managed: managedBefore };
    const allow = missing.reduce((cur, ns) => withGrantedNamespace(cur, ns), live.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACES]);
    try {
      await api.replace(withLists(live, allow, [.../* @__PURE__ */ new Set([...before, ...missing])]));
      return { added: missing, managed: [.../* @__PURE__ */ new Set([...managedBefore, ...missing])].sort() };
    } catch (e) {
      if (e instanceof KubeError && e.status === 409 && attempt < GRANT_ATTEMPTS) continue;
      if (e instanceof KubeError && e.status === 403) {
        throw new KubeError(
          `source secret ${refKey(source)} does not grant namespace(s) ${missing.join(", ")} (annotation ${ANNOTATION_ALLOW_NAMESPACES}) and this identity may not add the grant (HTTP 403). Fix: ${missing.map((ns) => grantFix(refKey(source), ns)).join("; ")} (for an ESO-written source: in its ExternalSecret's target.template.metadata.annotations), or let the kubeconfig's identity update secrets in namespace ${source.namespace}`,
          403
        );
      }
      throw e;
    }
  }
}
async function stillUsed(api, source, target) {
  let others;
  try {
    others = await api.listDerived(target.namespace);
  } catch {
    return false;
  }
  return others.some((s) => {
    const a = s.metadata.annotations ?? {};
    return s.metadata.name !== target.name && a[ANNOTATION_SOURCE_NAMESPACE] === source.namespace && a[ANNOTATION_SOURCE_NAME] === source.name;
  });
}
async function releaseGrants(api, source, targets) {
  const candidates = [];
  for (const t of targets) if (t.namespace !== source.namespace && !await stillUsed(api, source, t)) candidates.push(t.namespace);
  const drop = [...new Set(candidates)];
  if (drop.length === 0) return [];
  for (let attempt = 1; ; attempt++) {
    const live = await api.get(source.namespace, source.name);
    if (live === void 0) return [];
    const provider = providerGranted(live);
    const present = drop.filter((ns) => provider.includes(ns) && grantedNamespaces(live).includes(ns)).sort();
    if (present.length === 0) return [];
    const allow = present.reduce((cur, ns) => cur === void 0 ? void 0 : withoutGrantedNamespace(cur, ns), live.metadata.annotations?.[ANNOTATION_ALLOW_NAMESPACES]);
    try {
      await api.replace(withLists(live, allow, provider.filter((ns) => !present.includes(ns))));
      return present;
    } catch (e) {
      if (e instanceof KubeError && e.status === 409 && attempt < GRANT_ATTEMPTS) continue;
      if (e instanceof KubeError && e.status === 404) return [];
      if (e instanceof KubeError) {
        throw new KubeError(`withdrawing the grant of namespace(s) ${present.join(", ")} from source secret ${refKey(source)} failed (HTTP ${e.status ?? "?"}). Fix: remove ${present.join(", ")} from its annotations ${ANNOTATION_ALLOW_NAMESPACES} and ${ANNOTATION_PROVIDER_GRANTED} by hand, or let the kubeconfig's identity update secrets in namespace ${source.namespace}, then retry`, e.status);
      }
      throw e;
    }
  }
}

// providers/ops.ts
function refKey2(r) {
  return `${r.namespace}/${r.name}`;
}
async function fetchSource(api, source, forTarget, origin, sleep = (ms) => new Promise((r) => setTimeout(r, ms))) {
  const deadline = Date.now() + (origin?.waitSeconds ?? 120) * 1e3;
  for (; ; ) {
    const s = await api.get(source.namespace, source.name);
    if (s !== void 0) return s;
    if (origin === void 0) {
      throw new KubeError(`source secret ${refKey2(source)} of ${forTarget} not found. Fix: create the source secret first, or correct source.namespace/source.name`, 404);
    }
    if (Date.now() >= deadline) {
      const ready = api.externalSecretReady ? await api.externalSecretReady(origin.externalSecret.namespace, origin.externalSecret.name).catch(() => "unreadable") : "unreadable";
      throw new KubeError(missingEsoSourceMessage(source, forTarget, origin, ready), 404);
    }
    await sleep(1e3);
  }
}
function missingEsoSourceMessage(source, forTarget, origin, ready) {
  const es = `ExternalSecret ${refKey2(origin.externalSecret)}`;
  let state;
  if (ready === "missing") state = `${es} does not exist`;
  else if (ready === "unreadable") state = `${es} could not be read`;
  else if (ready === "no-condition") state = `${es} has no Ready condition yet: is the External Secrets Operator controller running?`;
  else state = `${es} is Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ""}${ready.message ? `: ${ready.message.slice(0, 300)}` : ""}`;
  return `source secret ${refKey2(source)} of ${forTarget} did not appear within ${origin.waitSeconds ?? 120} s. It is written by ESO from Vault path ${origin.vaultPath} through ClusterSecretStore ${origin.store}; ${state}. Fix: check that the ESO controller runs and the store is Ready (kubectl get clustersecretstore ${origin.store}), that ${origin.vaultPath} exists in Vault with the keys the ExternalSecret reads, then run pulumi up again`;
}
function ownedFor(live, sources) {
  if (!isManaged(live)) return false;
  const a = live.metadata.annotations ?? {};
  return sources.some((s) => a[ANNOTATION_SOURCE_NAMESPACE] === s.namespace && a[ANNOTATION_SOURCE_NAME] === s.name);
}
function refusal(live, target) {
  const why = isManaged(live) ? `is managed by platform-secrets for another source (${refKey2({ namespace: live.metadata.annotations?.[ANNOTATION_SOURCE_NAMESPACE], name: live.metadata.annotations?.[ANNOTATION_SOURCE_NAME] })})` : "exists and is not managed by platform-secrets (no label app.kubernetes.io/managed-by=platform-secrets)";
  return new KubeError(`secret ${target} ${why}; refusing to take it over. Fix: delete or rename it, choose another target, or set adopt: true to take it over`);
}
async function applyDerived(api, desired, owners, adopt) {
  const target = refKey2(desired.metadata);
  for (let attempt = 0; ; attempt++) {
    const live = await api.get(desired.metadata.namespace, desired.metadata.name);
    try {
      if (live === void 0) return await api.create(desired);
      if (!ownedFor(live, owners) && !adopt) throw refusal(live, target);
      if (requiresReplace(live, desired)) {
        await api.remove(desired.metadata.namespace, desired.metadata.name, { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion });
        return await api.create(desired);
      }
      if (!needsUpdate(live, desired)) return live;
      return await api.replace(mergeForUpdate(live, desired));
    } catch (e) {
      if (e instanceof KubeError && e.status === 409 && attempt < 2) continue;
      throw e;
    }
  }
}
async function deleteIfOwned(api, target, owners) {
  const live = await api.get(target.namespace, target.name);
  if (live === void 0) return "gone";
  if (!ownedFor(live, owners)) return "foreign";
  await api.remove(target.namespace, target.name, { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion });
  return "deleted";
}
function recipeOf(inputs) {
  return { format: inputs.format, source: inputs.source, target: inputs.target, options: inputs.options ?? {} };
}
function guarded(fn) {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (e) {
      throw plainError(e);
    }
  };
}

// providers/schema.ts
var PROVIDER_SCHEMA = 3;
var OLDEST_READABLE_SCHEMA = 1;
var SCHEMA_KEY = "__schema";
function recordedSchema(props) {
  const v = props?.[SCHEMA_KEY];
  return v === void 0 || v === null ? 1 : typeof v === "number" && Number.isInteger(v) ? v : NaN;
}
function assertReadable(resource, props) {
  const v = recordedSchema(props);
  if (v >= OLDEST_READABLE_SCHEMA && v <= PROVIDER_SCHEMA) return;
  if (Number.isNaN(v)) {
    throw new Error(`${resource}: its state records provider schema ${JSON.stringify(props?.[SCHEMA_KEY])}, which is not a version number. Fix: restore the stack's state from a backup (pulumi stack export/import); this checkout reads schemas ${OLDEST_READABLE_SCHEMA} to ${PROVIDER_SCHEMA}`);
  }
  if (v > PROVIDER_SCHEMA) {
    throw new Error(
      `${resource}: its state was written by platform-secrets provider schema ${v}, newer than this checkout's schema ${PROVIDER_SCHEMA} (it reads schemas ${OLDEST_READABLE_SCHEMA} to ${PROVIDER_SCHEMA}). Fix: upgrade this checkout to the platform-secrets version that last ran pulumi up on this stack (git pull, then npm ci), and run pulumi from there; an older checkout must not refresh, update or delete it`
    );
  }
  throw new Error(`${resource}: its state was written by platform-secrets provider schema ${v}, older than this checkout reads (${OLDEST_READABLE_SCHEMA} to ${PROVIDER_SCHEMA}). Fix: run pulumi up once with a checkout of an intermediate version, then with this one`);
}
function versioned(kindName, provider) {
  const p = provider;
  const stamp = (outs) => ({ ...outs, [SCHEMA_KEY]: PROVIDER_SCHEMA });
  const wrapped = {
    check: p.check,
    create: async (inputs) => {
      const r = await p.create(inputs);
      return { ...r, outs: stamp(r.outs) };
    },
    diff: async (id, olds, news) => {
      assertReadable(`${kindName} ${String(id)}`, olds);
      const r = await p.diff(id, olds, news);
      if (recordedSchema(olds) < PROVIDER_SCHEMA) return { ...r, changes: true };
      return r;
    },
    read: async (id, props) => {
      assertReadable(`${kindName} ${String(id)}`, props);
      const r = await p.read(id, props);
      const recorded = props?.[SCHEMA_KEY];
      if (r.props === void 0) return r;
      const out = { ...r.props };
      if (recorded === void 0) delete out[SCHEMA_KEY];
      else out[SCHEMA_KEY] = recorded;
      return { ...r, props: out };
    },
    update: async (id, olds, news) => {
      assertReadable(`${kindName} ${String(id)}`, olds);
      const r = await p.update(id, olds, news) ?? {};
      return { ...r, outs: stamp(r.outs) };
    },
    delete: async (id, props) => {
      assertReadable(`${kindName} ${String(id)}`, props);
      await p.delete(id, props);
    }
  };
  return wrapped;
}

// providers/derived-provider.ts
var DRIFT_GRANT_MISSING = "source-grant-missing";
function outputs(inputs, live, drift, grantAdded) {
  const annotations = ownedAnnotations(live);
  delete annotations[ANNOTATION_SOURCE_HASH];
  return {
    ...inputs,
    type: live.type ?? "Opaque",
    data: { ...live.data ?? {} },
    labels: ownedLabels(live),
    annotations,
    drift,
    inSync: drift.length === 0,
    grantAdded
  };
}
async function converge(api, inputs, owners) {
  const source = await fetchSource(api, inputs.source, refKey2(inputs.target), inputs.sourceOrigin);
  const desired = deriveSecret(source, recipeOf(inputs));
  const grant = await ensureGrants(api, inputs.source, [inputs.target.namespace]);
  try {
    return { live: await applyDerived(api, desired, owners, inputs.adopt === true), grantAdded: grant.managed.length > 0 };
  } catch (e) {
    if (grant.added.length) await releaseGrants(api, inputs.source, [inputs.target]).catch(() => void 0);
    throw e;
  }
}
async function check(_olds, news) {
  return { inputs: news, failures: checkDerivedInputs(news) };
}
async function diff(_id, olds, news) {
  const d = diffDerived(olds, news);
  return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
}
async function create(inputs) {
  const { live, grantAdded } = await converge(connect(inputs.kubeconfig, inputs.context), inputs, [inputs.source]);
  return { id: refKey2(inputs.target), outs: outputs(inputs, live, [], grantAdded) };
}
async function read(id, props) {
  if (props === void 0) throw new Error(`reading ${id}: no recorded inputs. Fix: import is not supported; create the resource instead`);
  const api = connect(props.kubeconfig, props.context);
  const live = await api.get(props.target.namespace, props.target.name);
  if (live === void 0) return {};
  const drift = [];
  if (!ownedFor(live, [props.source])) drift.push("not-managed");
  const source = await api.get(props.source.namespace, props.source.name);
  if (source === void 0) drift.push("source-missing");
  else {
    if (!(await grantStatus(api, source, [props.target.namespace])).get(props.target.namespace)) drift.push(DRIFT_GRANT_MISSING);
    try {
      drift.push(...diffSecret(live, deriveSecret(source, recipeOf(props))));
    } catch (e) {
      drift.push(`source-invalid:${e.code ?? "error"}`);
    }
  }
  return { id, props: outputs(props, live, drift, props.grantAdded === true) };
}
async function update(_id, olds, news) {
  const api = connect(news.kubeconfig, news.context);
  const { live, grantAdded } = await converge(api, news, [news.source, olds.source]);
  const sameGrant = refKey2(olds.source) === refKey2(news.source) && olds.target.namespace === news.target.namespace;
  if (olds.grantAdded === true && !sameGrant) await releaseGrants(api, olds.source, [olds.target]);
  return { outs: outputs(news, live, [], grantAdded) };
}
async function remove(_id, props) {
  const api = connect(props.kubeconfig, props.context);
  await deleteIfOwned(api, props.target, [props.source]);
  if (props.grantAdded === true) await releaseGrants(api, props.source, [props.target]);
}
var derivedSecretProvider = versioned("DerivedSecret", {
  check: guarded(check),
  diff: guarded(diff),
  create: guarded(create),
  read: guarded(read),
  update: guarded(update),
  delete: guarded(remove)
});

// providers/mirror-provider.ts
function copyName(inputs) {
  return inputs.targetName ?? inputs.source.name;
}
async function resolveNamespaces(api, inputs) {
  const set = new Set(inputs.namespaces ?? []);
  if (inputs.namespaceSelector !== void 0) for (const ns of await api.listNamespaces(inputs.namespaceSelector)) set.add(ns);
  const name = copyName(inputs);
  return [...set].filter((ns) => !(ns === inputs.source.namespace && name === inputs.source.name)).sort();
}
function recipeFor(inputs, namespace) {
  return { format: "mirror", source: inputs.source, target: { namespace, name: copyName(inputs) }, options: {} };
}
function outputs2(inputs, source, namespaces, drift, grantsAdded) {
  return { ...inputs, targetNamespaces: namespaces, type: source?.type ?? "Opaque", data: { ...source?.data ?? {} }, drift, inSync: drift.length === 0, grantsAdded: [...grantsAdded].sort() };
}
async function converge2(inputs, previous) {
  const api = connect(inputs.kubeconfig, inputs.context);
  const source = await fetchSource(api, inputs.source, `mirror of ${refKey2(inputs.source)}`);
  const namespaces = await resolveNamespaces(api, inputs);
  const owners = previous ? [inputs.source, previous.source] : [inputs.source];
  const desired = namespaces.map((ns) => deriveSecret(source, recipeFor(inputs, ns)));
  if (inputs.adopt !== true) {
    for (const d of desired) {
      const live = await api.get(d.metadata.namespace, d.metadata.name);
      if (live !== void 0 && !ownedFor(live, owners)) throw refusal(live, refKey2(d.metadata));
    }
  }
  const grant = await ensureGrants(api, inputs.source, namespaces);
  try {
    for (const d of desired) await applyDerived(api, d, owners, inputs.adopt === true);
  } catch (e) {
    if (grant.added.length) await releaseGrants(api, inputs.source, grant.added.map((ns) => ({ namespace: ns, name: copyName(inputs) }))).catch(() => void 0);
    throw e;
  }
  if (previous) {
    const keep = new Set(namespaces.map((ns) => `${ns}/${copyName(inputs)}`));
    for (const ns of previous.targetNamespaces ?? []) {
      const old = { namespace: ns, name: copyName(previous) };
      if (!keep.has(refKey2(old))) await deleteIfOwned(api, old, owners);
    }
    const sameSource = refKey2(previous.source) === refKey2(inputs.source);
    const release = (previous.grantsAdded ?? []).filter((ns) => !(sameSource && namespaces.includes(ns)));
    if (release.length) await releaseGrants(api, previous.source, release.map((ns) => ({ namespace: ns, name: copyName(previous) })));
  }
  return outputs2(inputs, source, namespaces, [], grant.managed);
}
async function check2(_olds, news) {
  return { inputs: news, failures: checkMirrorInputs(news) };
}
async function diff2(_id, olds, news) {
  const d = diffMirror(olds, news);
  return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
}
async function create2(inputs) {
  const outs = await converge2(inputs);
  return { id: `${refKey2(inputs.source)}->${copyName(inputs)}`, outs };
}
async function read2(id, props) {
  if (props === void 0) throw new Error(`reading ${id}: no recorded inputs. Fix: import is not supported; create the resource instead`);
  const api = connect(props.kubeconfig, props.context);
  const wanted = await resolveNamespaces(api, props);
  const source = await api.get(props.source.namespace, props.source.name);
  const drift = [];
  if (source === void 0) drift.push("source-missing");
  const present = [];
  const granted = source === void 0 ? /* @__PURE__ */ new Map() : await grantStatus(api, source, wanted);
  for (const ns of [.../* @__PURE__ */ new Set([...wanted, ...props.targetNamespaces ?? []])].sort()) {
    const live = await api.get(ns, copyName(props));
    const ours = live !== void 0 && ownedFor(live, [props.source]);
    if (ours) present.push(ns);
    if (!wanted.includes(ns)) {
      if (ours) drift.push(`${ns}: not selected`);
      continue;
    }
    if (!ours) {
      drift.push(live === void 0 ? `${ns}: missing` : `${ns}: not-managed`);
      continue;
    }
    if (source === void 0) continue;
    if (!granted.get(ns)) drift.push(`${ns}: source-grant-missing`);
    try {
      const desired = deriveSecret(source, recipeFor(props, ns));
      drift.push(...diffSecret(live, desired).map((d) => `${ns}: ${d}`));
    } catch (e) {
      drift.push(`source-invalid:${e.code ?? "error"}`);
      break;
    }
  }
  return { id, props: outputs2(props, source, present, [...new Set(drift)], props.grantsAdded ?? []) };
}
async function update2(_id, olds, news) {
  return { outs: await converge2(news, olds) };
}
async function remove2(_id, props) {
  const api = connect(props.kubeconfig, props.context);
  let namespaces = props.targetNamespaces ?? [];
  try {
    namespaces = [.../* @__PURE__ */ new Set([...namespaces, ...await resolveNamespaces(api, props)])];
  } catch {
  }
  for (const ns of namespaces) await deleteIfOwned(api, { namespace: ns, name: copyName(props) }, [props.source]);
  const added = props.grantsAdded ?? [];
  if (added.length) await releaseGrants(api, props.source, added.map((ns) => ({ namespace: ns, name: copyName(props) })));
}
var mirroredSecretProvider = versioned("MirroredSecret", {
  check: guarded(check2),
  diff: guarded(diff2),
  create: guarded(create2),
  read: guarded(read2),
  update: guarded(update2),
  delete: guarded(remove2)
});

// providers/password-policy-guard.ts
var pulumi = __toESM(require("@pulumi/pulumi"));

// providers/stub.ts
var RUNTIME_MODULE = "providers/compiled/runtime.js";
var LEGACY_RUNTIME_KEY = "providers/runtime.ts";
function loadRuntime(moduleRel = RUNTIME_MODULE) {
  const g = globalThis;
  const loaded = g.__platformSecretsProviders?.[moduleRel];
  if (loaded) return loaded;
  const fs3 = require("node:fs");
  const path = require("node:path");
  const roots = [process.cwd()];
  try {
    roots.push(path.resolve(path.dirname(require.resolve("@pulumi/pulumi/package.json")), "../../.."));
  } catch {
  }
  const root = roots.find((r) => fs3.existsSync(path.join(r, moduleRel)));
  if (root === void 0) {
    throw new Error(
      `platform-secrets providers: ${moduleRel} not found under ${roots.join(" or ")}. Fix: run pulumi from the platform-secrets project directory, a checkout at least as new as the one that last updated this stack, with its dependencies installed (npm ci, or npm ci --omit=dev)`
    );
  }
  const providers = require(path.join(root, moduleRel)).PROVIDERS;
  const legacy = moduleRel === RUNTIME_MODULE && !g.__platformSecretsProviders?.[LEGACY_RUNTIME_KEY] ? { [LEGACY_RUNTIME_KEY]: providers } : {};
  g.__platformSecretsProviders = { ...g.__platformSecretsProviders, ...legacy, [moduleRel]: providers };
  return providers;
}
function providerStub(kind, moduleRel = RUNTIME_MODULE) {
  const key = `${kind}\0${moduleRel}`;
  const cached = stubs.get(key);
  if (cached) return cached;
  const stub = newStub(kind, moduleRel);
  stubs.set(key, stub);
  return stub;
}
var stubs = /* @__PURE__ */ new Map();
function newStub(kind, moduleRel) {
  const load = loadRuntime;
  const method = (name) => async function(...args) {
    const impl = load(moduleRel)[kind];
    const f = impl?.[name];
    if (typeof f !== "function") throw new Error(`platform-secrets providers: ${kind}.${name} is not implemented by ${moduleRel}`);
    return f(...args);
  };
  return {
    check: method("check"),
    diff: method("diff"),
    create: method("create"),
    read: method("read"),
    update: method("update"),
    delete: method("delete")
  };
}

// providers/password-policy-guard.ts
var PASSWORD_POLICY_FIELDS = ["length", "special", "upper", "lower", "numeric", "minSpecial", "minUpper", "minLower", "minNumeric", "overrideSpecial"];
function policyChanges(oldPolicy, newPolicy) {
  if (oldPolicy === newPolicy) return [];
  let a;
  let b;
  try {
    a = JSON.parse(oldPolicy);
    b = JSON.parse(newPolicy);
  } catch {
    return ["the password policy changed"];
  }
  const show = (v) => v === null || v === void 0 ? "unset" : JSON.stringify(v);
  const keys = [.../* @__PURE__ */ new Set([...PASSWORD_POLICY_FIELDS, ...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null)).map((k) => `${k} changed from ${show(a[k])} to ${show(b[k])}`);
}
var UNKNOWN2 = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
function policyRefusal(olds, news) {
  if (olds?.policy === void 0 || olds.rotation === void 0) return void 0;
  if ([news.policy, news.rotation, olds.policy].some((v) => v === UNKNOWN2)) return void 0;
  if (olds.rotation !== news.rotation) return void 0;
  const changes = policyChanges(olds.policy, news.policy);
  if (changes.length === 0) return void 0;
  const next = Number(news.rotation) + 1;
  return `password ${news.password}: ${changes.join(", ")}; these settings take effect only by rotating the password (the random provider replaces the value on any of them, which would rotate it silently); fix: bump ${news.rotationKey} from ${news.rotation} to ${next} (pulumi config set --path '${news.rotationKey}' ${next}), or revert the change`;
}
function checkGuardInputs(input) {
  const news = fields(input);
  const failures = [];
  if (typeof news.password !== "string" || news.password === "") failures.push({ property: "password", reason: "must be the password's name; fix: pass a non-empty name" });
  if (news.rotation !== UNKNOWN2 && !(typeof news.rotation === "number" && Number.isInteger(news.rotation) && news.rotation >= 0)) {
    failures.push({ property: "rotation", reason: "must be a whole number >= 0; fix: pass the password's rotation counter" });
  }
  if (typeof news.rotationKey !== "string" || news.rotationKey === "") failures.push({ property: "rotationKey", reason: "must name where the counter is set; fix: pass e.g. platform-secrets:passwords[0].rotation" });
  if (news.policy !== UNKNOWN2) {
    let ok = typeof news.policy === "string";
    try {
      ok = ok && typeof JSON.parse(news.policy) === "object";
    } catch {
      ok = false;
    }
    if (!ok) failures.push({ property: "policy", reason: "must be canonicalPolicy() of the settings; fix: build it with canonicalPolicy" });
  }
  return failures;
}
function outputsOf(i) {
  return { password: i.password, rotation: i.rotation, rotationKey: i.rotationKey, policy: i.policy };
}
async function check3(olds, news) {
  const failures = checkGuardInputs(news);
  if (failures.length === 0) {
    const refusal2 = policyRefusal(olds, news);
    if (refusal2 !== void 0) failures.push({ property: "", reason: refusal2 });
  }
  if (typeof news.ownershipRefusal === "string" && news.ownershipRefusal !== "") failures.push({ property: "", reason: news.ownershipRefusal });
  return { inputs: news, failures };
}
async function diff3(_id, olds, news) {
  const refusal2 = policyRefusal(olds, news);
  if (refusal2 !== void 0) throw new Error(refusal2);
  return { changes: olds.rotation !== news.rotation || olds.policy !== news.policy, replaces: [], deleteBeforeReplace: false };
}
async function create3(inputs) {
  return { id: `password-policy/${inputs.password}`, outs: outputsOf(inputs) };
}
async function read3(id, props) {
  if (props === void 0) throw new Error(`reading ${id}: no recorded policy. Fix: import is not supported; create the resource instead`);
  return { id, props: outputsOf(props) };
}
async function update3(_id, _olds, news) {
  return { outs: outputsOf(news) };
}
async function remove3() {
}
var passwordPolicyGuardProvider = versioned("PasswordPolicyGuard", { check: check3, diff: diff3, create: create3, read: read3, update: update3, delete: remove3 });
var PasswordPolicyGuard = class extends pulumi.dynamic.Resource {
  constructor(name, args, opts) {
    super(providerStub("guard"), name, { password: args.password, rotation: args.rotation, rotationKey: args.rotationKey, policy: args.policy, ...args.ownershipRefusal !== void 0 ? { ownershipRefusal: args.ownershipRefusal } : {} }, opts, "platform-secrets", "PasswordPolicyGuard");
  }
};

// providers/runtime.ts
var PROVIDERS = {
  derived: derivedSecretProvider,
  mirror: mirroredSecretProvider,
  guard: passwordPolicyGuardProvider
};
// Annotate the CommonJS export names for ESM import in node:
0 && (module.exports = {
  PROVIDERS
});
