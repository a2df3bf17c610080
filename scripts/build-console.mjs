// Builds the console (packages/console → packages/console/dist) when its output is missing or
// older than its sources, so `npm test` and the browser tests work on a fresh clone without a
// manual build step. Also runnable on its own: `node scripts/build-console.mjs`.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const consoleDir = fileURLToPath(new URL("../packages/console/", import.meta.url));
const output = path.join(consoleDir, "dist", "index.html");
const sources = ["src", "index.html", "vite.config.ts", "package.json"];

function newest(entry) {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const name of readdirSync(entry)) latest = Math.max(latest, newest(path.join(entry, name)));
  return latest;
}

export function consoleBuildIsCurrent() {
  if (!existsSync(output)) return false;
  const built = statSync(output).mtimeMs;
  return sources.every(
    (s) => !existsSync(path.join(consoleDir, s)) || newest(path.join(consoleDir, s)) <= built,
  );
}

export function ensureConsoleBuilt() {
  if (consoleBuildIsCurrent()) return;
  // The console's own Vite (8), not the one vitest brings along at the root.
  const local = path.join(consoleDir, "node_modules", "vite", "bin", "vite.js");
  const vite = existsSync(local)
    ? local
    : fileURLToPath(new URL("../node_modules/vite/bin/vite.js", import.meta.url));
  execFileSync(process.execPath, [vite, "build", "--logLevel", "warn"], {
    cwd: consoleDir,
    stdio: "inherit",
  });
}

// vitest globalSetup entry point.
export default function setup() {
  ensureConsoleBuilt();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) ensureConsoleBuilt();
