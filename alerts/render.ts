import * as YAML from "yaml";
import { prometheusRule, rulesFile } from "./index";

/**
 * Prints the alert rules as YAML: `npm run alerts:render` (a rules file for `rule_files:`) or
 * `npm run alerts:render -- --prometheus-rule --namespace platform-secrets-system` (a PrometheusRule object).
 */
const args = process.argv.slice(2);
const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
};
const selector = flag("selector");
const doc = args.includes("--prometheus-rule") ? prometheusRule({ namespace: flag("namespace") ?? "platform-secrets-system", selector }) : rulesFile({ selector });
process.stdout.write(YAML.stringify(doc));
