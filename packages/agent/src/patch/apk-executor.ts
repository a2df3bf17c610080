import { join } from "node:path";
import { parseApkInstalled } from "../collectors/apk-installed.js";
import { readOptionalFile } from "../collectors/os-release.js";
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
import { isAtLeast } from "./version-order.js";

export interface ApkExecutorOptions {
  root: string;
  runner: CommandRunner;
  apk: string;
}

const MINUTE = 60_000;

export interface ApkStep {
  action: string;
  name: string;
  fromVersion: string | null;
  toVersion: string;
}

// (1/3) Upgrading busybox (1.36.1-r15 -> 1.36.1-r19)   |   (3/3) Installing ssl_client (1.36.1-r19)
const STEP =
  /^\(\d+\/\d+\) (Upgrading|Downgrading|Installing|Replacing|Re-installing) (\S+) \((?:(\S+) -> )?(\S+)\)/;

/** The package steps apk prints (also with `-s`, which only simulates them). */
export function parseApkSteps(text: string): ApkStep[] {
  const steps: ApkStep[] = [];
  for (const line of text.split("\n")) {
    const m = STEP.exec(line.trim());
    if (m) steps.push({ action: m[1]!, name: m[2]!, fromVersion: m[3] ?? null, toVersion: m[4]! });
  }
  return steps;
}

/**
 * Alpine through apk. Plans from apk's own simulation (`-s`); apk has no security classification,
 * so a security job is refused with a reason. apk has no hold list: a job with holds upgrades the
 * planned packages by name and leaves the held ones out. A pinned version is `apk add name=version`,
 * which (as always with apk) stays pinned in /etc/apk/world; rollback is `apk add name=previous`,
 * which works while the previous package is still in a repository or the local cache.
 */
export class ApkExecutor implements PatchExecutor {
  readonly manager = "apk";
  readonly versionEcosystem = "apk";
  readonly namePattern = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;

  constructor(private readonly options: ApkExecutorOptions) {}

  #run(args: readonly string[], timeoutMs: number): Promise<CommandRun> {
    const rootArgs = this.options.root === "/" ? [] : ["--root", this.options.root];
    return runLogged(this.options.runner, this.options.apk, [...rootArgs, ...args], { timeoutMs });
  }

  async installedVersions(names: readonly string[]): Promise<Map<string, string | null>> {
    const text = (await readOptionalFile(join(this.options.root, "lib/apk/db/installed"))) ?? "";
    const installed = new Map(parseApkInstalled(text).packages.map((p) => [p.name, p.version]));
    return new Map(names.map((n) => [n, installed.get(n) ?? null]));
  }

  async refresh() {
    return stepOf([await this.#run(["update"], 10 * MINUTE)]);
  }

  async #simulate(args: readonly string[]): Promise<{ steps: ApkStep[]; log: string }> {
    const run = await this.#run(args, 10 * MINUTE);
    if (run.exitCode !== 0)
      throw new PatchPlanError(`apk simulation failed: ${failureReason(run)}`, runOutput(run));
    return { steps: parseApkSteps(run.stdout), log: run.stdout };
  }

  async plan(request: PatchRequest): Promise<PatchPlan> {
    if (request.mode === "security") {
      throw new PatchPlanError("apk does not mark updates as security fixes; name the packages instead");
    }
    const held = new Set(request.hold);
    if (request.mode !== "packages") {
      const args = ["upgrade", "-s", ...(request.mode === "dist-upgrade" ? ["--available"] : [])];
      const { steps, log } = await this.#simulate(args);
      const changes = steps.map(
        (s): PlannedChange =>
          held.has(s.name)
            ? {
                name: s.name,
                fromVersion: s.fromVersion,
                toVersion: s.toVersion,
                skip: { result: "skipped", reason: "held by the job" },
              }
            : { name: s.name, fromVersion: s.fromVersion, toVersion: s.toVersion },
      );
      return { changes, log };
    }
    const installed = await this.installedVersions(request.packages.map((p) => p.name));
    const changes: PlannedChange[] = [];
    const wanted: string[] = [];
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
      else if (target.version !== undefined && isAtLeast("apk", from, target.version)) {
        changes.push({
          ...change,
          toVersion: from,
          skip: { result: "unchanged", reason: `already at ${from}` },
        });
      } else wanted.push(target.version === undefined ? target.name : `${target.name}=${target.version}`);
    }
    if (wanted.length === 0) return { changes, log: "" };
    const pinned = wanted.some((w) => w.includes("="));
    const { steps, log } = await this.#simulate([...(pinned ? ["add", "-u"] : ["upgrade"]), "-s", ...wanted]);
    for (const spec of wanted) {
      const name = spec.split("=")[0]!;
      const from = installed.get(name) ?? null;
      const step = steps.find((s) => s.name === name);
      changes.push(
        step
          ? { name, fromVersion: from, toVersion: step.toVersion }
          : {
              name,
              fromVersion: from,
              toVersion: from,
              skip: { result: "unchanged", reason: "no newer version available" },
            },
      );
    }
    for (const s of steps) {
      if (!changes.some((c) => c.name === s.name)) {
        changes.push({ name: s.name, fromVersion: s.fromVersion, toVersion: s.toVersion, dependency: true });
      }
    }
    return { changes, log };
  }

  installArgs(plan: PatchPlan, request: PatchRequest): string[] {
    const todo = plan.changes.filter((c) => c.skip === undefined && !c.dependency);
    if (request.mode !== "packages") {
      const available = request.mode === "dist-upgrade" ? ["--available"] : [];
      // Without holds, the whole upgrade; with holds, only the planned packages by name.
      return request.hold.length === 0
        ? ["upgrade", ...available]
        : ["upgrade", ...available, ...todo.map((c) => c.name)];
    }
    const pinOf = (name: string) => request.packages.find((p) => p.name === name)?.version;
    if (todo.every((c) => pinOf(c.name) === undefined)) return ["upgrade", ...todo.map((c) => c.name)];
    // `add -u`: the pinned ones at their version, the rest upgraded in the same transaction.
    return [
      "add",
      "-u",
      ...todo.map((c) => (pinOf(c.name) === undefined ? c.name : `${c.name}=${pinOf(c.name)}`)),
    ];
  }

  async install(plan: PatchPlan, request: PatchRequest): Promise<InstallStep> {
    return stepOf([await this.#run(this.installArgs(plan, request), 120 * MINUTE)]);
  }

  async rollback(targets: readonly RollbackTarget[]): Promise<RollbackStep> {
    const run = await this.#run(["add", ...targets.map((t) => `${t.name}=${t.fromVersion}`)], 60 * MINUTE);
    const reason = run.exitCode === 0 ? null : failureReason(run);
    return {
      ...stepOf([run]),
      reasons: new Map(reason === null ? [] : targets.map((t) => [t.name, reason])),
    };
  }

  /** Alpine has no reboot-required signal. */
  async rebootRequired(): Promise<boolean> {
    return false;
  }
}
