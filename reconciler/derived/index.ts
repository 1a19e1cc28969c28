/** reconciler/derived: see reconciler/README.md (Rooms). */
export * from "./prefetch";
export * from "./reconcile-derived";
export * from "./reconcile-source";
export * from "./status";
export * from "./tombstones";
export * from "./writes";
