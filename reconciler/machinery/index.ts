/** reconciler/machinery: see reconciler/README.md (Rooms). */
export * from "./backoff";
export * from "./clock";
export * from "./informer";
export * from "./leader";
export * from "./lease";
export * from "./metrics";
export * from "./ownwrites";
export * from "./queue-keys";
export * from "./queue";
export * from "./recorder";
