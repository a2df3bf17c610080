import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      "@patchpilot/domain": src("domain"),
      "@patchpilot/protocol": src("protocol"),
    },
  },
  test: {
    include: ["packages/*/src/**/*.test.ts"],
    // The server serves the built console; build it first when it is missing or stale.
    globalSetup: ["./scripts/build-console.mjs"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
