import { parseDnfCheckUpdate } from "../collectors/dnf-updates.js";
import type { CommandRunner } from "../collectors/types.js";
import { type CommandRun, failureReason, runLogged, runOutput, stepOf } from "./commands.js";
import { rpmInstalledVersions } from "./rpm-installed.js";
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
import { isAtLeast } from "./version-order.js";

export interface DnfExecutorOptions {
  root: string;
  runner: CommandRunner;
  /** dnf, or yum on CentOS 7 and older (same commands, same formats). */
  dnf: string;
  rpm: string;
  /** `needs-restarting` (dnf-utils / yum-utils) when installed. */
  needsRestarting: string | null;
}

const MINUTE = 60_000;
/** check-update: 100 when updates are available, 0 when none, 1 on error. */
const UPDATES_AVAILABLE = 100;

/** `name-version` for dnf: the version may carry an epoch (`name-1:2.0-3.el9` is a valid NEVR spec). */
export const dnfSpec = (name: string, version?: string | null) => (version ? `${name}-${version}` : name);

/**
 * The newest transaction id in `dnf history list` (dnf 4 and yum: `ID | Command line | …` rows;
 * dnf 5: space-separated columns). Null when there is no history.
 */
export function parseDnfHistoryLastId(text: string): number | null {
  let last: number | null = null;
  for (const line of text.split("\n")) {
    const match = /^\s*(\d+)\s*(?:\||\s)/.exec(line);
    if (!match) continue;
    const id = Number(match[1]);
    if (last === null || id > last) last = id;
  }
  return last;
}

/** The plan's rows by name; a second architecture of one name (x86_64 and i686) plans once. */
function rowsByName(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const row of parseDnfCheckUpdate(text)) if (!rows.has(row.name)) rows.set(row.name, row.version);
  return rows;
}

/**
 * RHEL and relatives through dnf (or yum). Plans from `check-update` (with `--security` for a
 * security job); holds are `--exclude` for the one command; rollback undoes the job's own
 * transaction (`history undo <id>`, the id read from `history list` before and after), or
 * downgrades package by package when there is no transaction to undo.
 */
export class DnfExecutor implements PatchExecutor {
  readonly manager: "dnf" | "yum";
  readonly versionEcosystem = "rpm";
  /** No `/` (dnf reads it as a file path), no `@` (a group), no `:` in names. */
  readonly namePattern = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
  /** The transaction the install made, for `history undo`. */
  #transaction: number | null = null;

  constructor(private readonly options: DnfExecutorOptions) {
    this.manager = (options.dnf.split("/").pop() ?? "") === "yum" ? "yum" : "dnf";
  }

  get #rootArgs(): string[] {
    return this.options.root === "/" ? [] : [`--installroot=${this.options.root}`];
  }

  #run(args: readonly string[], timeoutMs: number): Promise<CommandRun> {
    return runLogged(this.options.runner, this.options.dnf, [...this.#rootArgs, ...args], { timeoutMs });
  }

  installedVersions(names: readonly string[]) {
    return rpmInstalledVersions(this.options.runner, this.options.rpm, this.options.root, names);
  }

  async refresh() {
    // dnf refreshes expired metadata by itself before every command.
    return null;
  }

  async #checkUpdate(extra: readonly string[]): Promise<{ rows: Map<string, string>; log: string }> {
    const run = await this.#run(["-q", "check-update", ...extra], 10 * MINUTE);
    if (run.exitCode !== 0 && run.exitCode !== UPDATES_AVAILABLE) {
      throw new PatchPlanError(`${this.manager} check-update failed: ${failureReason(run)}`, runOutput(run));
    }
    return { rows: rowsByName(run.stdout), log: run.stdout };
  }

  async plan(request: PatchRequest): Promise<PatchPlan> {
    const held = new Set(request.hold);
    if (request.mode !== "packages") {
      const { rows, log } = await this.#checkUpdate(request.mode === "security" ? ["--security"] : []);
      const installed = await this.installedVersions([...rows.keys()]);
      const changes = [...rows].map(([name, version]): PlannedChange => {
        const change: PlannedChange = { name, fromVersion: installed.get(name) ?? null, toVersion: version };
        if (held.has(name)) change.skip = { result: "skipped", reason: "held by the job" };
        return change;
      });
      return { changes, log };
    }
    const names = request.packages.map((p) => p.name);
    const installed = await this.installedVersions(names);
    const { rows, log } = await this.#checkUpdate(names);
    const changes = request.packages.map((target): PlannedChange => {
      const from = installed.get(target.name) ?? null;
      const change: PlannedChange = {
        name: target.name,
        fromVersion: from,
        toVersion: target.version ?? null,
      };
      if (from === null) return { ...change, skip: { result: "skipped", reason: "not installed" } };
      if (held.has(target.name)) return { ...change, skip: { result: "skipped", reason: "held by the job" } };
      if (target.version !== undefined && isAtLeast("rpm", from, target.version)) {
        return { ...change, toVersion: from, skip: { result: "unchanged", reason: `already at ${from}` } };
      }
      // A pinned version is installed as asked (dnf fails if it does not exist); else the newest.
      const newest = rows.get(target.name);
      if (target.version === undefined && newest === undefined) {
        return {
          ...change,
          toVersion: from,
          skip: { result: "unchanged", reason: "no newer version available" },
        };
      }
      return { ...change, toVersion: target.version ?? newest ?? null };
    });
    return { changes, log };
  }

  async #lastTransaction(): Promise<number | null> {
    const run = await this.#run(["-q", "history", "list"], 2 * MINUTE);
    return run.exitCode === 0 ? parseDnfHistoryLastId(run.stdout) : null;
  }

  installArgs(plan: PatchPlan, request: PatchRequest): string[] {
    const excludes = request.hold.map((h) => `--exclude=${h}`);
    switch (request.mode) {
      case "security":
        return ["-y", "upgrade", "--security", ...excludes];
      case "all":
        return ["-y", "upgrade", ...excludes];
      case "dist-upgrade":
        return ["-y", "distro-sync", ...excludes];
      case "packages": {
        const specs = plan.changes
          .filter((c) => c.skip === undefined)
          .map((c) => dnfSpec(c.name, request.packages.find((p) => p.name === c.name)?.version));
        return ["-y", "upgrade", ...excludes, ...specs];
      }
    }
  }

  async install(plan: PatchPlan, request: PatchRequest): Promise<InstallStep> {
    const before = await this.#lastTransaction();
    const run = await this.#run(this.installArgs(plan, request), 120 * MINUTE);
    const after = await this.#lastTransaction();
    this.#transaction = after !== null && after !== before ? after : null;
    return stepOf([run]);
  }

  async rollback(targets: readonly RollbackTarget[]): Promise<RollbackStep> {
    const runs: CommandRun[] = [];
    if (this.#transaction !== null) {
      const undo = await this.#run(["-y", "history", "undo", String(this.#transaction)], 60 * MINUTE);
      runs.push(undo);
      if (undo.exitCode === 0) return { ...stepOf(runs), reasons: new Map() };
    }
    // No transaction of ours, or undo failed (an old version gone from the repositories).
    const downgrade = await this.#run(
      ["-y", "downgrade", ...targets.map((t) => dnfSpec(t.name, t.fromVersion))],
      60 * MINUTE,
    );
    runs.push(downgrade);
    const reason = downgrade.exitCode === 0 ? null : failureReason(downgrade);
    return {
      ...stepOf([downgrade]),
      log: stepOf(runs).log,
      reasons: new Map(reason === null ? [] : targets.map((t) => [t.name, reason])),
    };
  }

  /** `needs-restarting -r` exits 1 when a reboot is needed (new kernel, glibc, systemd), 0 when not. */
  async rebootRequired(): Promise<boolean> {
    if (this.options.root !== "/" || this.options.needsRestarting === null) return false;
    const run = await runLogged(this.options.runner, this.options.needsRestarting, ["-r"], {
      timeoutMs: MINUTE,
    });
    return run.exitCode === 1;
  }
}
