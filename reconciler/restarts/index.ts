/** reconciler/restarts: see reconciler/README.md (Rooms). */
export * from "./reconcile-workloads";
export * from "./workloads";
