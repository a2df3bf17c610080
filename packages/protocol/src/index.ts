export * from "./agent-api.js";
export * from "./facts.js";
export * from "./inventory.js";
export * from "./tokens.js";
