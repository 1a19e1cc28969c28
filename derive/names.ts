/**
 * The one set of Kubernetes name rules (apimachinery's IsDNS1123Label / IsDNS1123Subdomain): every folder that
 * validates a namespace or object name uses these, so the stack config, the policy, the reconciler's flags and the
 * derivation core accept exactly the same names (`a..b` and `a.-b` are not subdomains anywhere).
 */
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A DNS-1123 label (namespaces, most names of our own objects): at most 63 (or `max`) characters. */
export function isDnsLabel(v: unknown, max = 63): v is string {
    return typeof v === "string" && v.length <= max && LABEL.test(v);
}

/** A DNS-1123 subdomain (Secret, ConfigMap, Job, CronJob names): at most 253 characters. */
export function isDnsSubdomain(v: unknown): v is string {
    return typeof v === "string" && v.length <= 253 && SUBDOMAIN.test(v);
}
