export * from "./controls/index.js";
export * from "./permissions.js";
export * from "./plans.js";
export * from "./risk.js";
export * from "./roles.js";
export * from "./versions/index.js";
