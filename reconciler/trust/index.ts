/** reconciler/trust: see reconciler/README.md (Rooms). */
export * from "./claims";
export * from "./policy";
export * from "./rbac";
export * from "./trust";
