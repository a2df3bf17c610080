export * from "./permissions.js";
export * from "./roles.js";
export * from "./versions/index.js";
