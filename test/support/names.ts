import { randomBytes } from "node:crypto";

/** A DNS-1123 name unique to this run: integration tests never share objects between runs or suites. */
export function randomName(prefix: string): string {
    return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** A unique value planted by canary tests: it must never appear in a log line, error, event or status. */
export function canaryValue(): string {
    return `CANARY-${randomBytes(12).toString("hex")}`;
}
