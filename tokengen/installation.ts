import { AuthError, ConfigError } from "./errors";
import type { GitHubAppClient, Installation } from "./github";

export interface InstallationTarget {
    installationId?: number;
    owner?: string;
    repository?: string;
}

/** How the installation will be found, in the order tried: explicit id, repository, owner, the App's only one. */
export type DiscoveryPlan =
    | { kind: "explicit"; installationId: number }
    | { kind: "repository"; owner: string; repository: string }
    | { kind: "owner"; owner: string }
    | { kind: "single" };

export function discoveryPlan(t: InstallationTarget): DiscoveryPlan {
    if (t.installationId !== undefined) return { kind: "explicit", installationId: t.installationId };
    if (t.owner !== undefined && t.repository !== undefined) return { kind: "repository", owner: t.owner, repository: t.repository };
    if (t.owner !== undefined) return { kind: "owner", owner: t.owner };
    return { kind: "single" };
}

/** The single installation among `list`; none is an AuthError, several a ConfigError listing ids and logins. */
export function pickSingleInstallation(list: readonly Installation[], appId: string): Installation {
    if (list.length === 1) return list[0] as Installation;
    if (list.length === 0) {
        throw new AuthError(`App ${appId} has no installations`, 404, "install the GitHub App on the organisation or repositories the workflows use (App settings → Install App)");
    }
    const shown = list.slice(0, 20).map((i) => `${i.id} (${i.account?.login ?? "unknown account"})`).join(", ");
    const more = list.length > 20 ? ` and ${list.length - 20} more` : "";
    throw new ConfigError("INSTALLATION_ID", `is not set and App ${appId} has ${list.length} installations: ${shown}${more}`, "set INSTALLATION_ID to one of these ids, or GITHUB_OWNER/GITHUB_REPOSITORY to pick one");
}

/** Resolves the installation id following `discoveryPlan`; returns the account login when known, for logs. */
export async function resolveInstallation(client: GitHubAppClient, t: InstallationTarget, appId: string): Promise<{ id: number; account?: string }> {
    const plan = discoveryPlan(t);
    switch (plan.kind) {
        case "explicit":
            return { id: plan.installationId };
        case "repository": {
            const i = await client.getInstallation("repos", `${plan.owner}/${plan.repository}`);
            if (!i) {
                throw new AuthError(`App ${appId} is not installed on ${plan.owner}/${plan.repository} (GET /repos/${plan.owner}/${plan.repository}/installation → 404)`, 404, "install the App on that repository, fix GITHUB_REPOSITORY, or set INSTALLATION_ID");
            }
            return { id: i.id, account: i.account?.login };
        }
        case "owner": {
            const i = (await client.getInstallation("orgs", plan.owner)) ?? (await client.getInstallation("users", plan.owner));
            if (!i) {
                throw new AuthError(`App ${appId} is not installed on account ${plan.owner} (orgs and users installation lookups → 404)`, 404, "install the App on that account, fix GITHUB_OWNER, or set INSTALLATION_ID");
            }
            return { id: i.id, account: i.account?.login };
        }
        case "single": {
            const i = pickSingleInstallation(await client.listInstallations(), appId);
            return { id: i.id, account: i.account?.login };
        }
        default: {
            const never: never = plan;
            throw new Error(`unhandled discovery plan ${JSON.stringify(never)}`);
        }
    }
}
