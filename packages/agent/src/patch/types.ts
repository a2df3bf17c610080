import type { PackageManager, PatchMode, PatchTarget, RebootPolicy } from "@patchpilot/protocol";

/** What an executor is asked to do: the payload's package part, already validated. */
export interface PatchRequest {
  mode: PatchMode;
  packages: readonly PatchTarget[];
  hold: readonly string[];
  reboot: RebootPolicy;
}

/** One package the job would touch, as the manager's own simulation (or its installed state) says. */
export interface PlannedChange {
  name: string;
  /** Installed now; null when not installed (a package a dist-upgrade would newly install). */
  fromVersion: string | null;
  /** The version the install should leave; null when the simulation cannot say (the newest). */
  toVersion: string | null;
  /** Set when the job leaves this package alone, with why (held, not installed, already current). */
  skip?: { result: "unchanged" | "skipped"; reason: string };
  /** Not asked for: the manager changes it because an asked-for package needs it. */
  dependency?: boolean;
}

export interface PatchPlan {
  changes: PlannedChange[];
  /** The simulation's output, for the install log. */
  log: string;
}

/** A step that ran commands: the last command's exit code (the first failing one's) and its output. */
export interface CommandStep {
  /** Whether the manager reported success (its own exit codes: zypper's 100-series are not failures). */
  ok: boolean;
  exitCode: number | null;
  log: string;
}

export interface InstallStep extends CommandStep {
  /** The manager itself said a reboot is needed to finish (zypper 102, Windows Update, winget). */
  rebootRequired?: boolean;
}

/** A package to put back: it was at `fromVersion` before the job. */
export interface RollbackTarget {
  name: string;
  fromVersion: string;
  toVersion: string | null;
}

export interface RollbackStep extends CommandStep {
  /** Why the manager could not restore a package (the previous version is gone, no rollback at all). */
  reasons: Map<string, string>;
}

/**
 * One package manager behind one interface. Every command is an argv array run through the agent's
 * CommandRunner: never a shell. Names and versions reaching an executor were validated against the
 * protocol's patterns, and executors also keep them from reading as options (no leading `-`).
 */
export interface PatchExecutor {
  readonly manager: PackageManager;
  /** Names this manager accepts, stricter than the protocol's pattern where the manager reads more into a name. */
  readonly namePattern: RegExp;
  /** The ordering of this manager's versions, for "already at or past the target". */
  readonly versionEcosystem: "dpkg" | "rpm" | "apk" | "macos" | null;
  /** Refreshes the package lists where the manager needs it first (apt-get update, apk update). */
  refresh(): Promise<CommandStep | null>;
  /** What the job would change, from the manager's simulation. Throws when the simulation fails. */
  plan(request: PatchRequest): Promise<PatchPlan>;
  /** Installs the plan's changes (holds kept for the duration). */
  install(plan: PatchPlan, request: PatchRequest): Promise<InstallStep>;
  /** Installed version of each name; null for a package that is not installed. */
  installedVersions(names: readonly string[]): Promise<Map<string, string | null>>;
  /** Restores previous versions; never removes a package. */
  rollback(targets: readonly RollbackTarget[]): Promise<RollbackStep>;
  rebootRequired(): Promise<boolean>;
  /** Removes anything the executor created for its runs (a private apt configuration). */
  dispose?(): Promise<void>;
}

/** The manager's simulation failed (a version that does not exist, a broken dependency): install nothing. */
export class PatchPlanError extends Error {
  constructor(
    message: string,
    readonly log = "",
  ) {
    super(message);
    this.name = "PatchPlanError";
  }
}
