import type { CommandRunner } from "../collectors/types.js";
import { type CommandRun, failureReason, runLogged, runOutput, stepOf } from "./commands.js";
import {
  type InstallStep,
  type PatchExecutor,
  type PatchPlan,
  PatchPlanError,
  type PatchRequest,
  type PlannedChange,
  type RollbackStep,
  type RollbackTarget,
} from "./types.js";
import { parseWingetTable } from "./winget-table.js";

const MINUTE = 60_000;

/** winget's documented return codes (winget-cli doc/windows/package-manager/winget/returnCodes.md). */
export const WINGET = {
  noPackagesFound: 0x8a150014,
  updateNotApplicable: 0x8a15002b,
  rebootRequiredToFinish: 0x8a150109,
  rebootRequiredToInstall: 0x8a15010a,
  rebootInitiated: 0x8a15010b,
} as const;

/** Windows exit codes are unsigned 32-bit; Node may hand them over as negative numbers. */
export const windowsExitCode = (code: number | null) => (code === null ? null : code >>> 0);

const AGREE = ["--accept-package-agreements", "--accept-source-agreements", "--disable-interactivity"];
const QUIET = ["--accept-source-agreements", "--disable-interactivity"];

export const wingetUpgradeArgs = (id: string, version?: string | null) => [
  "upgrade",
  "--id",
  id,
  "--exact",
  "--silent",
  ...AGREE,
  ...(version ? ["--version", version] : []),
];

export const wingetListArgs = (id: string) => ["list", "--id", id, "--exact", ...QUIET];

/**
 * Windows applications through winget, by package id (`--id X --exact`, never a search by name).
 * winget has no security classification, so a security job is refused with a reason; a version
 * pin is `--version`. Rollback reinstalls the previous version (`install --version --force`),
 * which works while the source still offers it.
 */
export class WingetExecutor implements PatchExecutor {
  readonly manager = "winget";
  readonly versionEcosystem = null;
  readonly namePattern = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
  #rebootRequired = false;

  constructor(
    private readonly runner: CommandRunner,
    private readonly winget: string,
  ) {}

  #run(args: readonly string[], timeoutMs: number): Promise<CommandRun> {
    return runLogged(this.runner, this.winget, args, { timeoutMs });
  }

  async #list(id: string): Promise<{ version: string; available: string | null } | null> {
    const run = await this.#run(wingetListArgs(id), 5 * MINUTE);
    const code = windowsExitCode(run.exitCode);
    if (code === WINGET.noPackagesFound) return null;
    if (code !== 0)
      throw new PatchPlanError(`winget list ${id} failed: ${failureReason(run)}`, runOutput(run));
    const row = parseWingetTable(run.stdout).find((r) => r.id.toLowerCase() === id.toLowerCase());
    return row ? { version: row.version, available: row.available } : null;
  }

  async installedVersions(names: readonly string[]): Promise<Map<string, string | null>> {
    const found = new Map<string, string | null>();
    for (const name of names) found.set(name, (await this.#list(name))?.version ?? null);
    return found;
  }

  async refresh() {
    return null;
  }

  async plan(request: PatchRequest): Promise<PatchPlan> {
    if (request.mode === "security") {
      throw new PatchPlanError("winget does not mark updates as security fixes; name the packages instead");
    }
    const held = new Set(request.hold.map((h) => h.toLowerCase()));
    if (request.mode !== "packages") {
      const run = await this.#run(["upgrade", ...QUIET], 10 * MINUTE);
      const code = windowsExitCode(run.exitCode);
      if (code !== 0 && code !== WINGET.noPackagesFound) {
        throw new PatchPlanError(`winget upgrade (list) failed: ${failureReason(run)}`, runOutput(run));
      }
      const changes = parseWingetTable(run.stdout)
        .filter((r) => r.available !== null)
        .map(
          (r): PlannedChange =>
            held.has(r.id.toLowerCase())
              ? {
                  name: r.id,
                  fromVersion: r.version,
                  toVersion: r.available,
                  skip: { result: "skipped", reason: "held by the job" },
                }
              : { name: r.id, fromVersion: r.version, toVersion: r.available },
        );
      return { changes, log: run.stdout };
    }
    const changes: PlannedChange[] = [];
    for (const target of request.packages) {
      const listed = await this.#list(target.name);
      const from = listed?.version ?? null;
      const change: PlannedChange = {
        name: target.name,
        fromVersion: from,
        toVersion: target.version ?? null,
      };
      if (listed === null) changes.push({ ...change, skip: { result: "skipped", reason: "not installed" } });
      else if (held.has(target.name.toLowerCase())) {
        changes.push({ ...change, skip: { result: "skipped", reason: "held by the job" } });
      } else if (target.version !== undefined && target.version === from) {
        changes.push({ ...change, skip: { result: "unchanged", reason: "already at this version" } });
      } else if (target.version === undefined && listed.available === null) {
        changes.push({
          ...change,
          toVersion: from,
          skip: { result: "unchanged", reason: "no newer version available" },
        });
      } else changes.push({ ...change, toVersion: target.version ?? listed.available });
    }
    return { changes, log: "" };
  }

  async install(plan: PatchPlan, request: PatchRequest): Promise<InstallStep> {
    const runs: CommandRun[] = [];
    for (const change of plan.changes.filter((c) => c.skip === undefined)) {
      const pinned = request.packages.find((p) => p.name === change.name)?.version;
      const run = await this.#run(wingetUpgradeArgs(change.name, pinned), 60 * MINUTE);
      runs.push(run);
      const code = windowsExitCode(run.exitCode);
      if (code === WINGET.rebootRequiredToFinish || code === WINGET.rebootInitiated)
        this.#rebootRequired = true;
    }
    const ok = (run: CommandRun) => {
      const code = windowsExitCode(run.exitCode);
      return code === 0 || code === WINGET.rebootRequiredToFinish || code === WINGET.rebootInitiated;
    };
    return { ...stepOf(runs, ok), rebootRequired: this.#rebootRequired };
  }

  async rollback(targets: readonly RollbackTarget[]): Promise<RollbackStep> {
    const runs: CommandRun[] = [];
    const reasons = new Map<string, string>();
    for (const t of targets) {
      const run = await this.#run(
        ["install", "--id", t.name, "--exact", "--version", t.fromVersion, "--silent", "--force", ...AGREE],
        60 * MINUTE,
      );
      runs.push(run);
      if (run.exitCode !== 0) reasons.set(t.name, failureReason(run));
    }
    return { ...stepOf(runs), reasons };
  }

  async rebootRequired(): Promise<boolean> {
    return this.#rebootRequired;
  }
}
