export * from "./tokenGenerator";
export * from "./apps";
