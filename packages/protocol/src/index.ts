export * from "./agent-api.js";
export * from "./facts.js";
export * from "./inventory.js";
export * from "./inventory-hash.js";
export * from "./inventory-lines.js";
export * from "./patch-jobs.js";
export * from "./tokens.js";
