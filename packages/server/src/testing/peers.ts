import { accessSync, constants, existsSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

const reported = new Set<string>();

function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return true;
    } catch {
      // Not in this directory; keep looking.
    }
  }
  return false;
}

/**
 * Whether an external program a test talks to is installed. Locally a missing peer skips the test with a
 * hint; under CI it throws, because a silently skipped security test would look like a pass.
 */
export function requirePeer(command: string, debianPackage: string): boolean {
  if (onPath(command)) return true;
  if (process.env.CI === "true") {
    throw new Error(
      `test peer ${command} not found on PATH under CI; install Debian package ${debianPackage} ` +
        "(bash scripts/install-test-peers.sh)",
    );
  }
  if (!reported.has(command)) {
    reported.add(command);
    console.warn(
      `skipping: ${command} not found; install with: sudo bash scripts/install-test-peers.sh ` +
        `(Debian package ${debianPackage})`,
    );
  }
  return false;
}

/**
 * Like `requirePeer`, for a peer that is a file rather than a command on PATH (a plug-in another
 * program loads, such as rsyslog's TLS stream driver): present when any of `candidates` exists.
 */
export function requirePeerFile(what: string, candidates: readonly string[], debianPackage: string): boolean {
  if (candidates.some((file) => existsSync(file))) return true;
  if (process.env.CI === "true") {
    throw new Error(
      `test peer ${what} not found under CI; install Debian package ${debianPackage} ` +
        "(bash scripts/install-test-peers.sh)",
    );
  }
  if (!reported.has(what)) {
    reported.add(what);
    console.warn(
      `skipping: ${what} not found; install with: sudo bash scripts/install-test-peers.sh ` +
        `(Debian package ${debianPackage})`,
    );
  }
  return false;
}
