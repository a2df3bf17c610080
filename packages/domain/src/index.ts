export * from "./permissions.js";
export * from "./risk.js";
export * from "./roles.js";
export * from "./versions/index.js";
