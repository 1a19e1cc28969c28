export * from "./names";
export * from "./timeout";
export * from "./capture";
export * from "./kube";
