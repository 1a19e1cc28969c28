/** reconciler/hooks: see reconciler/README.md (Rooms). */
export * from "./hooks";
export * from "./hookspec";
export * from "./postgres";
export * from "./vault";
