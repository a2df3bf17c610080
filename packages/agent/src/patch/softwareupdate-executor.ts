import { readSwVers } from "../collectors/macos-facts.js";
import { parseSoftwareUpdateList, type SoftwareUpdateItem } from "../collectors/macos-softwareupdate.js";
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
} from "./types.js";

const MINUTE = 60_000;
const SOFTWAREUPDATE = "/usr/sbin/softwareupdate";

/**
 * How a job names a softwareupdate item: its label or its title, with each run of spaces written
 * as `_`, since package names in jobs have no spaces (`macOS_Sonoma_14.4.1-23E224`, `Safari`).
 */
export const softwareUpdateName = (text: string) => text.trim().replace(/\s+/g, "_");

/** Apple's own naming is the only security classification softwareupdate has. */
const isSecurityItem = (item: SoftwareUpdateItem) =>
  /\bSecurity (Update|Response)\b|\bRapid Security\b/i.test(item.title);

/** `softwareupdate --install <label>... --agree-to-license` (the licence flag exists since macOS 11). */
export const softwareUpdateInstallArgs = (labels: readonly string[]) => [
  "--install",
  ...labels,
  "--agree-to-license",
];

/** What `softwareupdate --install` printed: the titles it finished ("Done with X") and whether it asks for a restart. */
export function parseSoftwareUpdateInstall(text: string): { done: Set<string>; restart: boolean } {
  const done = new Set<string>();
  for (const line of text.split("\n")) {
    const match = /^Done with (.+?)\s*$/.exec(line.trim());
    if (match) done.add(match[1]!);
  }
  return { done, restart: /\b(?:restart (?:immediately|required|is required)|Restarting)\b/i.test(text) };
}

/**
 * macOS through softwareupdate. Items are found by `--list` and installed by label. The executor
 * never passes `--restart`: softwareupdate would restart the Mac before the agent has written the
 * job's result, so the reboot goes through the agent's own scheduled reboot per the job's policy.
 * Apple gives no way back from an update, so rollback is reported as failed with that reason.
 */
export class SoftwareUpdateExecutor implements PatchExecutor {
  readonly manager = "softwareupdate";
  readonly versionEcosystem = "macos";
  readonly namePattern = /^[A-Za-z0-9][A-Za-z0-9+._:@/-]*$/;
  /** Job package name → the item it installs, and what was installed before. */
  #items = new Map<string, { item: SoftwareUpdateItem; from: string | null }>();
  #done = new Set<string>();
  #restart = false;

  constructor(private readonly runner: CommandRunner) {}

  #run(args: readonly string[], timeoutMs: number): Promise<CommandRun> {
    return runLogged(this.runner, SOFTWAREUPDATE, args, { timeoutMs });
  }

  async installedVersions(names: readonly string[]): Promise<Map<string, string | null>> {
    return new Map(
      names.map((name) => {
        const known = this.#items.get(name);
        if (!known) return [name, null];
        return [name, this.#done.has(known.item.title) ? known.item.version : known.from];
      }),
    );
  }

  async refresh() {
    return null;
  }

  async plan(request: PatchRequest): Promise<PatchPlan> {
    // The list asks Apple's servers and can take minutes.
    const run = await this.#run(["--list"], 15 * MINUTE);
    if (run.exitCode !== 0)
      throw new PatchPlanError(`softwareupdate --list failed: ${failureReason(run)}`, runOutput(run));
    const items = parseSoftwareUpdateList(run.stdout);
    const osVersion = (await readSwVers(this.runner).catch(() => null))?.productVersion ?? null;
    const fromOf = (item: SoftwareUpdateItem) => (/^macOS\b/.test(item.title) ? osVersion : null);
    const held = new Set(request.hold);
    const isHeld = (item: SoftwareUpdateItem) =>
      held.has(softwareUpdateName(item.label)) || held.has(softwareUpdateName(item.title));
    const changes: PlannedChange[] = [];
    const add = (name: string, item: SoftwareUpdateItem, skip?: PlannedChange["skip"]) => {
      this.#items.set(name, { item, from: fromOf(item) });
      changes.push({ name, fromVersion: fromOf(item), toVersion: item.version, ...(skip ? { skip } : {}) });
    };
    if (request.mode !== "packages") {
      for (const item of items) {
        if (!item.recommended || (request.mode === "security" && !isSecurityItem(item))) continue;
        add(
          softwareUpdateName(item.label),
          item,
          isHeld(item) ? { result: "skipped", reason: "held by the job" } : undefined,
        );
      }
      return { changes, log: run.stdout };
    }
    for (const target of request.packages) {
      const item = items.find(
        (i) => softwareUpdateName(i.label) === target.name || softwareUpdateName(i.title) === target.name,
      );
      if (!item) {
        changes.push({
          name: target.name,
          fromVersion: null,
          toVersion: target.version ?? null,
          skip: {
            result: "unchanged",
            reason: "not offered by softwareupdate (installed, or not applicable)",
          },
        });
      } else if (target.version !== undefined && target.version !== item.version) {
        add(target.name, item, {
          result: "skipped",
          reason: `softwareupdate offers ${item.version}, not ${target.version}`,
        });
      } else {
        add(target.name, item, isHeld(item) ? { result: "skipped", reason: "held by the job" } : undefined);
      }
    }
    return { changes, log: run.stdout };
  }

  async install(plan: PatchPlan): Promise<InstallStep> {
    const labels = plan.changes
      .filter((c) => c.skip === undefined)
      .map((c) => this.#items.get(c.name)?.item.label)
      .filter((l): l is string => l !== undefined);
    const run = await this.#run(softwareUpdateInstallArgs(labels), 240 * MINUTE);
    const parsed = parseSoftwareUpdateInstall(runOutput(run));
    this.#done = parsed.done;
    const restartItems = [...this.#items.values()].some(
      (k) => k.item.restart && parsed.done.has(k.item.title),
    );
    this.#restart = parsed.restart || restartItems;
    return { ...stepOf([run]), rebootRequired: this.#restart };
  }

  async rollback(): Promise<RollbackStep> {
    const reason = "macOS updates cannot be rolled back";
    return {
      ok: false,
      exitCode: null,
      log: reason,
      reasons: new Map([...this.#items.keys()].map((k) => [k, reason])),
    };
  }

  async rebootRequired(): Promise<boolean> {
    return this.#restart;
  }
}
