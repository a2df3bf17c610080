import { join } from "node:path";
import type { AvailableUpdate } from "@patchpilot/protocol";
import { parseAptSimulation } from "../collectors/apt-updates.js";
import { type DpkgPackage, parseDpkgStatus } from "../collectors/dpkg-status.js";
import { readOptionalFile } from "../collectors/os-release.js";
import type { CommandRunner } from "../collectors/types.js";
import { type AptInvocation, aptInvocation } from "./apt-root.js";
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

export interface AptExecutorOptions {
  root: string;
  runner: CommandRunner;
  /** The programs to run: found under `/` on the live system, the host's by name for another root. */
  aptGet: string;
  aptMark: string;
  dpkg: string;
}

const MINUTE = 60_000;
/** Keeps the installed configuration files; the packaged ones are left beside them as .dpkg-dist. */
const CONFOLD = ["-o", "Dpkg::Options::=--force-confold"];
const SIMULATE = ["-s", "-o", "Debug::NoLocking=1"];

/**
 * Debian and Ubuntu through apt-get. Plans come from apt-get's own simulation (`-s`); a security
 * job upgrades only packages whose candidate comes from a `-security` suite; the job's holds are
 * dpkg holds (`apt-mark hold`) for the install's duration only; rollback reinstalls each changed
 * package at its previous version (`--allow-downgrades --no-remove`: nothing is ever removed).
 */
export class AptExecutor implements PatchExecutor {
  readonly manager = "apt";
  readonly versionEcosystem = "dpkg";
  readonly namePattern = /^[A-Za-z0-9][A-Za-z0-9+.:/-]*$/;

  private constructor(
    private readonly options: AptExecutorOptions,
    private readonly invocation: AptInvocation,
  ) {}

  static async create(options: AptExecutorOptions): Promise<AptExecutor> {
    return new AptExecutor(options, await aptInvocation(options.root, options.dpkg));
  }

  dispose(): Promise<void> {
    return this.invocation.dispose();
  }

  #run(program: string, args: readonly string[], timeoutMs: number): Promise<CommandRun> {
    return runLogged(this.options.runner, program, [...this.invocation.options, ...args], {
      timeoutMs,
      env: this.invocation.env,
    });
  }

  async #status(): Promise<DpkgPackage[]> {
    const text = await readOptionalFile(join(this.options.root, "var/lib/dpkg/status"));
    return text === null ? [] : parseDpkgStatus(text).packages;
  }

  /** Installed packages by `name` (the first architecture listed) and by `name:arch`, as apt spells them. */
  async #installed(): Promise<Map<string, DpkgPackage>> {
    const byName = new Map<string, DpkgPackage>();
    for (const p of await this.#status()) {
      if (!byName.has(p.name)) byName.set(p.name, p);
      byName.set(`${p.name}:${p.architecture}`, p);
    }
    return byName;
  }

  async installedVersions(names: readonly string[]): Promise<Map<string, string | null>> {
    const installed = await this.#installed();
    return new Map(names.map((n) => [n, installed.get(n)?.version ?? null]));
  }

  async refresh() {
    return stepOf([await this.#run(this.options.aptGet, ["update"], 15 * MINUTE)]);
  }

  async #simulate(args: readonly string[]): Promise<{ updates: AvailableUpdate[]; log: string }> {
    const run = await this.#run(this.options.aptGet, [...SIMULATE, ...args], 5 * MINUTE);
    if (run.exitCode !== 0) {
      throw new PatchPlanError(`apt-get simulation failed: ${failureReason(run)}`, runOutput(run));
    }
    return { updates: parseAptSimulation(run.stdout), log: run.stdout };
  }

  /** The simulation's Inst lines as planned changes; foreign-architecture duplicates as name:arch. */
  #changesOf(updates: readonly AvailableUpdate[], requested: ReadonlySet<string>): PlannedChange[] {
    const seen = new Set<string>();
    return updates.map((u) => {
      const name = seen.has(u.name) ? `${u.name}:${u.arch ?? ""}` : u.name;
      seen.add(u.name);
      const change: PlannedChange = { name, fromVersion: u.currentVersion, toVersion: u.availableVersion };
      if (!requested.has(name) && !requested.has(u.name)) change.dependency = true;
      return change;
    });
  }

  async plan(request: PatchRequest): Promise<PatchPlan> {
    const installed = await this.#installed();
    const jobHolds = new Set(request.hold);
    const heldHere = (name: string) => installed.get(name)?.want === "hold";
    const skipHeld = (change: PlannedChange): PlannedChange => {
      if (jobHolds.has(change.name))
        return { ...change, skip: { result: "skipped", reason: "held by the job" } };
      return change;
    };

    if (request.mode === "all" || request.mode === "dist-upgrade") {
      const { updates, log } = await this.#simulate([request.mode === "all" ? "upgrade" : "dist-upgrade"]);
      const changes = this.#changesOf(updates, new Set(updates.map((u) => u.name))).map(skipHeld);
      return { changes, log };
    }

    const changes: PlannedChange[] = [];
    const wanted: { name: string; version?: string }[] = [];
    let log = "";
    if (request.mode === "security") {
      // The inventory's own simulation, whose origins say which candidates are security updates.
      const simulated = await this.#simulate(["dist-upgrade"]);
      log = simulated.log;
      for (const u of simulated.updates) {
        // A security job upgrades what is installed; a package the dist-upgrade would newly install
        // (a new kernel ABI) comes in only as a dependency.
        if (!u.security || u.currentVersion === null) continue;
        const change = skipHeld({
          name: u.name,
          fromVersion: u.currentVersion,
          toVersion: u.availableVersion,
        });
        if (change.skip === undefined && heldHere(u.name)) {
          change.skip = { result: "skipped", reason: "held on this machine (dpkg hold)" };
        }
        if (change.skip) changes.push(change);
        else wanted.push({ name: u.name, version: u.availableVersion });
      }
    } else {
      for (const target of request.packages) {
        const from = installed.get(target.name)?.version ?? null;
        const base = { name: target.name, fromVersion: from, toVersion: target.version ?? null };
        if (from === null) {
          changes.push({ ...base, skip: { result: "skipped", reason: "not installed" } });
        } else if (jobHolds.has(target.name)) {
          changes.push({ ...base, skip: { result: "skipped", reason: "held by the job" } });
        } else if (heldHere(target.name)) {
          changes.push({ ...base, skip: { result: "skipped", reason: "held on this machine (dpkg hold)" } });
        } else if (target.version !== undefined && isAtLeast("dpkg", from, target.version)) {
          const reason = from === target.version ? "already at this version" : `already at ${from}, newer`;
          changes.push({ ...base, toVersion: from, skip: { result: "unchanged", reason } });
        } else {
          wanted.push(target);
        }
      }
    }
    if (wanted.length === 0) return { changes, log };

    const specs = wanted.map((w) => (w.version === undefined ? w.name : `${w.name}=${w.version}`));
    const simulated = await this.#simulate(["install", "--only-upgrade", ...specs]);
    const planned = this.#changesOf(simulated.updates, new Set(wanted.map((w) => w.name)));
    for (const w of wanted) {
      if (planned.some((p) => p.name === w.name)) continue;
      const from = installed.get(w.name)?.version ?? null;
      changes.push({
        name: w.name,
        fromVersion: from,
        toVersion: from,
        skip: { result: "unchanged", reason: "no newer version available" },
      });
    }
    return { changes: [...changes, ...planned], log: [log, simulated.log].filter(Boolean).join("\n") };
  }

  async install(plan: PatchPlan, request: PatchRequest): Promise<InstallStep> {
    const runs: CommandRun[] = [];
    const installed = await this.#installed();
    // Holds only for this job: packages already held stay held, the rest are released afterwards.
    const newHolds = request.hold.filter((h) => installed.has(h) && installed.get(h)?.want !== "hold");
    if (newHolds.length > 0) {
      const hold = await this.#run(this.options.aptMark, ["hold", ...newHolds], 5 * MINUTE);
      runs.push(hold);
      if (hold.exitCode !== 0) return stepOf(runs);
    }
    try {
      runs.push(await this.#run(this.options.aptGet, this.#installArgs(plan, request), 120 * MINUTE));
    } finally {
      if (newHolds.length > 0) {
        runs.push(await this.#run(this.options.aptMark, ["unhold", ...newHolds], 5 * MINUTE));
      }
    }
    return stepOf(runs);
  }

  #installArgs(plan: PatchPlan, request: PatchRequest): string[] {
    if (request.mode === "all") return ["upgrade", "-y", ...CONFOLD];
    if (request.mode === "dist-upgrade") return ["dist-upgrade", "-y", ...CONFOLD];
    // Each asked-for package at the version the simulation planned, so what is installed is what was
    // planned; apt brings their dependencies. --no-remove: a package job never removes anything.
    const specs = plan.changes
      .filter((c) => c.skip === undefined && !c.dependency)
      .map((c) => (c.toVersion === null ? c.name : `${c.name}=${c.toVersion}`));
    return ["install", "--only-upgrade", "--no-remove", "-y", ...CONFOLD, ...specs];
  }

  async rollback(targets: readonly RollbackTarget[]): Promise<RollbackStep> {
    const reasons = new Map<string, string>();
    const runs: CommandRun[] = [];
    let pending = [...targets];
    // One transaction, so dependencies move back together. A previous version apt can no longer
    // download fails the whole transaction; it is then dropped, with its reason, and the rest retried.
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      const specs = pending.map((t) => `${t.name}=${t.fromVersion}`);
      const run = await this.#run(
        this.options.aptGet,
        ["install", "--allow-downgrades", "--no-remove", "-y", ...CONFOLD, ...specs],
        60 * MINUTE,
      );
      runs.push(run);
      if (run.exitCode === 0) break;
      const missing = missingVersions(runOutput(run));
      const gone = pending.filter((t) => missing.has(`${t.name}=${t.fromVersion}`));
      for (const t of gone)
        reasons.set(t.name, `previous version ${t.fromVersion} is no longer downloadable`);
      if (gone.length === 0) {
        for (const t of pending) reasons.set(t.name, failureReason(run));
        break;
      }
      pending = pending.filter((t) => !gone.includes(t));
    }
    return { ...stepOf(runs), reasons };
  }

  async rebootRequired(): Promise<boolean> {
    for (const path of ["var/run/reboot-required", "run/reboot-required"]) {
      if ((await readOptionalFile(join(this.options.root, path))) !== null) return true;
    }
    return false;
  }
}

/** `E: Version '1.0' for 'foo' was not found` → `foo=1.0`. */
export function missingVersions(output: string): Set<string> {
  const found = new Set<string>();
  for (const match of output.matchAll(/Version '([^']+)' for '([^']+)' was not found/g)) {
    found.add(`${match[2]}=${match[1]}`);
  }
  return found;
}
