export * from "./errors";
export * from "./types";
export * from "./schema";
export * from "./readers";
export * from "./guardrails";
export * from "./parse";
export * from "./load";
export * from "./git";
