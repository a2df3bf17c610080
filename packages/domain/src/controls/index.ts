export * from "./catalogue.js";
export * from "./evidence-queries.js";
