export * from "./manifests";
export * from "./components";
export * from "./registry";
