/** The `platform-secrets` operator CLI and its local dashboard (see README "Is everything in sync?"). */
export { main, EXIT } from "./main";
export { COMMANDS, parseArgs, parseDuration, UsageError } from "./args";
export { collect, type ClusterView, type Scope, type WorkloadInfo } from "./collect";
export { connect, slimSecret, parseRef, type SlimSecret } from "./kube";
export { buildStatus, buildGraph, statusExitCode, parseFanOutStatus, type StatusReport, type StatusRow, type SourceGroup, type Graph } from "./model";
export { renderStatus, renderGraphText, renderGraphDot } from "./render";
export { explain, renderExplanation, type Explanation } from "./explain";
export { checkSource, secretsFromManifest, type CheckResult } from "./validate";
export { requestSync, type SyncResult } from "./sync";
export { startDashboard, type Dashboard, type DashboardOptions } from "./dashboard/server";
export { renderGraphSvg } from "./dashboard/svg";
export { type CliIO, processIO } from "./io";
