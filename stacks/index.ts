export * from "./config";
export * from "./passwords";
export * from "./eso";
export * from "./github";
export * from "./drift";
export * from "./program";
export * from "./git";
export * from "./reconciler";
