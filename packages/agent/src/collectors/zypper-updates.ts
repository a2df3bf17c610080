import type { AvailableUpdate } from "@patchpilot/protocol";
import { firstLine } from "./text.js";
import type { CommandRunner, ProgramOptions } from "./types.js";
import { elementBodies, elementsNamed } from "./xml-elements.js";

export const ZYPPER_LIST_UPDATES_ARGS = ["--non-interactive", "--xmlout", "list-updates"] as const;
/**
 * `list-patches --category security` names the needed security patches but not the packages they
 * update, so it cannot say which package update is a security one. A dry run of installing those
 * patches lists exactly the packages they would upgrade or install.
 */
export const ZYPPER_SECURITY_DRY_RUN_ARGS = [
  "--non-interactive",
  "--xmlout",
  "patch",
  "--dry-run",
  "--category",
  "security",
] as const;

/** Parses `zypper --xmlout list-updates`: `<update kind="package" name edition arch edition-old>` with a `<source alias>`. */
export function parseZypperListUpdates(xml: string): AvailableUpdate[] {
  const updates: AvailableUpdate[] = [];
  for (const body of elementBodies(xml, "update-list")) {
    for (const block of body.split(/<\/update>/)) {
      const update = elementsNamed(block, "update")[0];
      if (!update || (update.get("kind") ?? "package") !== "package") continue;
      const name = update.get("name") ?? "";
      const edition = update.get("edition") ?? "";
      if (name === "" || edition === "") continue;
      const result: AvailableUpdate = {
        ecosystem: "rpm",
        name,
        currentVersion: update.get("edition-old") || null,
        availableVersion: edition,
        security: false,
      };
      const arch = update.get("arch");
      if (arch) result.arch = arch;
      const alias = elementsNamed(block, "source")[0]?.get("alias");
      if (alias) result.origin = alias;
      updates.push(result);
    }
  }
  return updates;
}

/** `name.arch` of each package in the install summary of `zypper --xmlout patch --dry-run --category security`. */
export function parseZypperSecurityDryRun(xml: string): Set<string> {
  const keys = new Set<string>();
  for (const section of ["to-upgrade", "to-install"]) {
    for (const body of elementBodies(xml, section)) {
      for (const solvable of elementsNamed(body, "solvable")) {
        // zypper has written the kind as both `type` and `kind` over the years.
        if ((solvable.get("type") ?? solvable.get("kind")) !== "package") continue;
        keys.add(`${solvable.get("name") ?? ""}.${solvable.get("arch") ?? ""}`);
      }
    }
  }
  return keys;
}

/** zypper's informational exit codes: 100-103 (updates, security updates, reboot, restart needed), 106 (repos skipped). */
const ZYPPER_OK = new Set([0, 100, 101, 102, 103, 106]);

export async function collectZypperUpdates(
  runner: CommandRunner,
  programOptions: ProgramOptions = {},
): Promise<{ updates: AvailableUpdate[]; warnings: string[] }> {
  const zypper = programOptions.program ?? "zypper";
  const root = programOptions.root ?? "/";
  const rootArgs = root === "/" ? [] : ["--root", root];
  const options = { timeoutMs: 300_000, maxOutputBytes: 32 * 1024 * 1024 };
  const list = await runner(zypper, [...rootArgs, ...ZYPPER_LIST_UPDATES_ARGS], options);
  if (list.timedOut) throw new Error("zypper list-updates timed out");
  if (list.code === null || !ZYPPER_OK.has(list.code)) {
    throw new Error(`zypper list-updates exited with ${list.code}: ${firstLine(list.stderr)}`);
  }
  const updates = parseZypperListUpdates(list.stdout);
  if (updates.length === 0) return { updates, warnings: [] };
  const dryRun = await runner(zypper, [...rootArgs, ...ZYPPER_SECURITY_DRY_RUN_ARGS], options);
  if (dryRun.code === null || !ZYPPER_OK.has(dryRun.code)) {
    return {
      updates,
      warnings: [
        `zypper patch --dry-run failed (${dryRun.timedOut ? "timed out" : `exit ${dryRun.code}`}); ` +
          "updates are listed without their security classification",
      ],
    };
  }
  const security = parseZypperSecurityDryRun(dryRun.stdout);
  return {
    updates: updates.map((u) => ({ ...u, security: security.has(`${u.name}.${u.arch ?? ""}`) })),
    warnings: [],
  };
}
