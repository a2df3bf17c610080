import type { PackageOutcome } from "@patchpilot/protocol";
import type { PatchExecutor, PlannedChange, RollbackStep } from "./types.js";
import { isAtLeast } from "./version-order.js";

const reasonText = (text: string) => text.slice(0, 500);

function outcome(
  name: string,
  fromVersion: string | null,
  toVersion: string | null,
  result: PackageOutcome["result"],
  reason?: string,
): PackageOutcome {
  const entry: PackageOutcome = { name, fromVersion, toVersion, result };
  if (reason !== undefined && reason !== "") entry.reason = reasonText(reason);
  return entry;
}

/** Every package of the plan, not installed: why the job stopped before the install. */
export function skippedAll(changes: readonly PlannedChange[], reason: string): PackageOutcome[] {
  return changes.map((c) =>
    c.skip
      ? outcome(c.name, c.fromVersion, c.fromVersion, c.skip.result, c.skip.reason)
      : outcome(
          c.name,
          c.fromVersion,
          c.fromVersion,
          "skipped",
          c.toVersion === null ? reason : `${reason}; ${c.toVersion} not installed`,
        ),
  );
}

/**
 * What happened to each package, judged by the versions installed after the install, never by the
 * manager's exit code alone: `toVersion` is the version installed now. A package that should have
 * changed and did not is `failed` with "version unchanged"; one that moved, but not as far as
 * planned, is `failed` too.
 */
export function judgeInstall(
  changes: readonly PlannedChange[],
  after: ReadonlyMap<string, string | null>,
  install: { ok: boolean; exitCode: number | null },
  executor: Pick<PatchExecutor, "manager" | "versionEcosystem">,
): PackageOutcome[] {
  const exitNote = install.ok
    ? ""
    : `; ${executor.manager} exited with ${install.exitCode ?? "no exit code"}`;
  return changes.map((c) => {
    const now = after.get(c.name) ?? null;
    if (c.skip) return outcome(c.name, c.fromVersion, now, c.skip.result, c.skip.reason);
    if (now === null) {
      return outcome(
        c.name,
        c.fromVersion,
        null,
        "failed",
        `${c.fromVersion === null ? "not" : "no longer"} installed${exitNote}`,
      );
    }
    if (c.fromVersion !== null && now === c.fromVersion) {
      const expected = c.toVersion === null ? "" : ` (expected ${c.toVersion})`;
      return outcome(c.name, c.fromVersion, now, "failed", `version unchanged${expected}${exitNote}`);
    }
    if (c.toVersion !== null && !isAtLeast(executor.versionEcosystem, now, c.toVersion)) {
      return outcome(
        c.name,
        c.fromVersion,
        now,
        "failed",
        `installed ${now}, expected ${c.toVersion}${exitNote}`,
      );
    }
    return outcome(
      c.name,
      c.fromVersion,
      now,
      "installed",
      c.dependency ? "changed as a dependency" : undefined,
    );
  });
}

/** Packages the install moved from an installed version: what a rollback restores. */
export function rollbackCandidates(packages: readonly PackageOutcome[]): PackageOutcome[] {
  return packages.filter(
    (p) =>
      (p.result === "installed" || p.result === "failed") &&
      p.fromVersion !== null &&
      p.toVersion !== null &&
      p.toVersion !== p.fromVersion,
  );
}

/**
 * After a rollback: back at the previous version is `rolled_back` (the reason keeps why it was rolled
 * back), anything else `failed` with why the rollback did not restore it. A package the job newly
 * installed stays: rollback never removes packages.
 */
export function judgeRollback(
  packages: readonly PackageOutcome[],
  candidates: readonly PackageOutcome[],
  back: ReadonlyMap<string, string | null>,
  step: RollbackStep,
  why: string,
): { packages: PackageOutcome[]; restored: boolean } {
  const rolled = new Set(candidates.map((c) => c.name));
  let restored = true;
  const judged = packages.map((p) => {
    if (!rolled.has(p.name)) {
      if (p.result === "installed" && p.fromVersion === null) {
        return { ...p, reason: reasonText(`kept after rollback (rollback never removes a package); ${why}`) };
      }
      return p;
    }
    const now = back.get(p.name) ?? null;
    const was = p.toVersion;
    if (now !== null && now === p.fromVersion) {
      return outcome(p.name, p.fromVersion, now, "rolled_back", `${why}; ${was} rolled back`);
    }
    restored = false;
    const because = step.reasons.get(p.name) ?? `still at ${now ?? "nothing"}`;
    return outcome(p.name, p.fromVersion, now, "failed", `${why}; rollback failed: ${because}`);
  });
  return { packages: judged, restored };
}

/** "2 installed, 1 unchanged, 1 failed" with only the results that occur. */
export function countResults(packages: readonly PackageOutcome[]): string {
  const order: PackageOutcome["result"][] = ["installed", "unchanged", "failed", "rolled_back", "skipped"];
  const parts = order
    .map((r) => [r, packages.filter((p) => p.result === r).length] as const)
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${n} ${r.replace("_", " ")}`);
  return parts.length === 0 ? "no packages to change" : parts.join(", ");
}
