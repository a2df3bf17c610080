import { join } from "node:path";
import { readOptionalFile } from "../collectors/os-release.js";
import type { CommandRunner } from "../collectors/types.js";
import { elementBodies, elementsNamed } from "../collectors/xml-elements.js";
import { ZYPPER_SECURITY_DRY_RUN_ARGS } from "../collectors/zypper-updates.js";
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

export interface ZypperExecutorOptions {
  root: string;
  runner: CommandRunner;
  zypper: string;
  rpm: string;
}

const MINUTE = 60_000;
/** 100-103: updates or patches needed, reboot needed (102), zypper itself updated (103); 106: repos skipped. */
const ZYPPER_OK = new Set([0, 100, 101, 102, 103, 106]);
const REBOOT_NEEDED = 102;
const RESTART_ZYPPER = 103;

export interface ZypperSolvable {
  name: string;
  edition: string;
  editionOld: string | null;
}

/**
 * The packages an `--xmlout … --dry-run` install summary would upgrade, install or downgrade
 * (`<solvable type="package" name edition edition-old>`), as written by zypper's Summary::dumpAsXmlTo.
 */
export function parseZypperSummary(xml: string): ZypperSolvable[] {
  const found: ZypperSolvable[] = [];
  for (const section of ["to-upgrade", "to-downgrade", "to-install"]) {
    for (const body of elementBodies(xml, section)) {
      for (const s of elementsNamed(body, "solvable")) {
        if ((s.get("type") ?? s.get("kind")) !== "package") continue;
        const name = s.get("name") ?? "";
        const edition = s.get("edition") ?? "";
        if (name === "" || edition === "" || found.some((f) => f.name === name)) continue;
        found.push({ name, edition, editionOld: s.get("edition-old") || null });
      }
    }
  }
  return found;
}

/** Package names locked in /etc/zypp/locks (`solvable_name: X` stanzas). */
export function parseZyppLocks(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/^solvable_name:\s*(\S+)\s*$/gm)) names.add(match[1]!);
  return names;
}

/** `No provider of 'foo = 1.0' found.` → foo=1.0 */
export function zypperMissing(output: string): Set<string> {
  const found = new Set<string>();
  for (const m of output.matchAll(/No provider of '(\S+) = (\S+)' found/g)) found.add(`${m[1]}=${m[2]}`);
  return found;
}

/**
 * SUSE through zypper. Plans from zypper's own dry runs (`patch --dry-run --category security` for
 * a security job, `update --dry-run` otherwise); holds are zypper locks for the install's duration;
 * rollback installs each previous version with `--oldpackage`. Exit 102 means a reboot is needed;
 * 103 means zypper updated itself, and the patch command runs once more.
 */
export class ZypperExecutor implements PatchExecutor {
  readonly manager = "zypper";
  readonly versionEcosystem = "rpm";
  /** No `:` (zypper reads `patch:NAME` as another kind of thing), no `/`, no `@`. */
  readonly namePattern = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;

  constructor(private readonly options: ZypperExecutorOptions) {}

  #run(args: readonly string[], timeoutMs: number): Promise<CommandRun> {
    const rootArgs = this.options.root === "/" ? [] : ["--root", this.options.root];
    return runLogged(this.options.runner, this.options.zypper, [...rootArgs, ...args], { timeoutMs });
  }

  installedVersions(names: readonly string[]) {
    return rpmInstalledVersions(this.options.runner, this.options.rpm, this.options.root, names);
  }

  async refresh() {
    // zypper refreshes repositories whose metadata expired by itself.
    return null;
  }

  async #dryRun(args: readonly string[]): Promise<{ solvables: ZypperSolvable[]; log: string }> {
    const run = await this.#run(args, 10 * MINUTE);
    if (run.exitCode === null || !ZYPPER_OK.has(run.exitCode)) {
      throw new PatchPlanError(`zypper dry run failed: ${failureReason(run)}`, runOutput(run));
    }
    return { solvables: parseZypperSummary(run.stdout), log: run.stdout };
  }

  async plan(request: PatchRequest): Promise<PatchPlan> {
    const held = new Set(request.hold);
    const skipHeld = (c: PlannedChange): PlannedChange =>
      held.has(c.name) ? { ...c, skip: { result: "skipped", reason: "held by the job" } } : c;
    if (request.mode !== "packages") {
      const args =
        request.mode === "security"
          ? ZYPPER_SECURITY_DRY_RUN_ARGS
          : [
              "--non-interactive",
              "--xmlout",
              request.mode === "all" ? "update" : "dist-upgrade",
              "--dry-run",
            ];
      const { solvables, log } = await this.#dryRun(args);
      const changes = solvables.map((s) =>
        skipHeld({ name: s.name, fromVersion: s.editionOld, toVersion: s.edition }),
      );
      return { changes, log };
    }
    const installed = await this.installedVersions(request.packages.map((p) => p.name));
    const changes: PlannedChange[] = [];
    const unpinned: string[] = [];
    for (const target of request.packages) {
      const from = installed.get(target.name) ?? null;
      const change: PlannedChange = {
        name: target.name,
        fromVersion: from,
        toVersion: target.version ?? null,
      };
      if (from === null) changes.push({ ...change, skip: { result: "skipped", reason: "not installed" } });
      else if (held.has(target.name))
        changes.push({ ...change, skip: { result: "skipped", reason: "held by the job" } });
      else if (target.version !== undefined && isAtLeast("rpm", from, target.version)) {
        changes.push({
          ...change,
          toVersion: from,
          skip: { result: "unchanged", reason: `already at ${from}` },
        });
      } else if (target.version !== undefined) changes.push(change);
      else unpinned.push(target.name);
    }
    if (unpinned.length === 0) return { changes, log: "" };
    const { solvables, log } = await this.#dryRun([
      "--non-interactive",
      "--xmlout",
      "update",
      "--dry-run",
      ...unpinned,
    ]);
    for (const name of unpinned) {
      const from = installed.get(name) ?? null;
      const planned = solvables.find((s) => s.name === name);
      changes.push(
        planned
          ? { name, fromVersion: from, toVersion: planned.edition }
          : {
              name,
              fromVersion: from,
              toVersion: from,
              skip: { result: "unchanged", reason: "no newer version available" },
            },
      );
    }
    return { changes, log };
  }

  /** The install commands for one job (a packages job may need both `update` and `install`). */
  installCommands(plan: PatchPlan, request: PatchRequest): string[][] {
    const base = ["--non-interactive"];
    const licences = "--auto-agree-with-licenses";
    if (request.mode === "security") return [[...base, "patch", licences, "--category", "security"]];
    if (request.mode === "all") return [[...base, "update", licences]];
    if (request.mode === "dist-upgrade") return [[...base, "dist-upgrade", licences]];
    const todo = plan.changes.filter((c) => c.skip === undefined);
    const pinned = todo.filter((c) => request.packages.find((p) => p.name === c.name)?.version !== undefined);
    const unpinned = todo.filter((c) => !pinned.includes(c));
    const commands: string[][] = [];
    if (unpinned.length > 0) commands.push([...base, "update", licences, ...unpinned.map((c) => c.name)]);
    if (pinned.length > 0) {
      commands.push([...base, "install", licences, ...pinned.map((c) => `${c.name}=${c.toVersion ?? ""}`)]);
    }
    return commands;
  }

  async install(plan: PatchPlan, request: PatchRequest): Promise<InstallStep> {
    const runs: CommandRun[] = [];
    const locked = parseZyppLocks((await readOptionalFile(join(this.options.root, "etc/zypp/locks"))) ?? "");
    const newLocks = request.hold.filter((h) => !locked.has(h));
    if (newLocks.length > 0) {
      const lock = await this.#run(["--non-interactive", "addlock", ...newLocks], 5 * MINUTE);
      runs.push(lock);
      if (lock.exitCode !== 0) return stepOf(runs);
    }
    let rebootRequired = false;
    try {
      for (const args of this.installCommands(plan, request)) {
        let run = await this.#run(args, 120 * MINUTE);
        // zypper updated its own stack first; the same command then installs the rest.
        if (run.exitCode === RESTART_ZYPPER) {
          runs.push(run);
          run = await this.#run(args, 120 * MINUTE);
        }
        runs.push(run);
        if (run.exitCode === REBOOT_NEEDED) rebootRequired = true;
        if (run.exitCode === null || !ZYPPER_OK.has(run.exitCode)) break;
      }
    } finally {
      if (newLocks.length > 0)
        runs.push(await this.#run(["--non-interactive", "removelock", ...newLocks], 5 * MINUTE));
    }
    return { ...stepOf(runs, (r) => r.exitCode !== null && ZYPPER_OK.has(r.exitCode)), rebootRequired };
  }

  async rollback(targets: readonly RollbackTarget[]): Promise<RollbackStep> {
    const specs = targets.map((t) => `${t.name}=${t.fromVersion}`);
    const run = await this.#run(
      ["--non-interactive", "install", "--oldpackage", "--auto-agree-with-licenses", ...specs],
      60 * MINUTE,
    );
    const reasons = new Map<string, string>();
    if (run.exitCode !== 0) {
      const missing = zypperMissing(runOutput(run));
      for (const t of targets) {
        reasons.set(
          t.name,
          missing.has(`${t.name}=${t.fromVersion}`)
            ? `previous version ${t.fromVersion} is no longer available`
            : failureReason(run),
        );
      }
    }
    return { ...stepOf([run]), reasons };
  }

  /** zypper writes /run/reboot-needed when an installed package asks for a reboot. */
  async rebootRequired(): Promise<boolean> {
    for (const path of ["run/reboot-needed", "var/run/reboot-needed"]) {
      if ((await readOptionalFile(join(this.options.root, path))) !== null) return true;
    }
    return false;
  }
}
