import { readFileSync } from "node:fs";

/** This build's version, as its package says; recorded in every backup's manifest. */
export const SOURCE_VERSION: string = (
  JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
