import type { PatchJobPayload, PatchJobResult, StepOutcome } from "@patchpilot/protocol";
import { runCommand } from "../collectors/run-command.js";
import { errorMessage } from "../collectors/text.js";
import type { CommandRunner } from "../collectors/types.js";
import type { Log } from "../log.js";
import { detectPatchExecutor } from "./detect-executor.js";
import { runHealthCheck, type ServiceChecker, systemServiceChecker } from "./health-check.js";
import { type HookContext, runHook } from "./hooks.js";
import { logExcerpt } from "./log-excerpt.js";
import {
  countResults,
  judgeInstall,
  judgeRollback,
  rollbackCandidates,
  skippedAll,
} from "./package-results.js";
import { deferReboot, type RebootDeferrals, type Rebooter, shouldReboot, systemRebooter } from "./reboot.js";
import {
  type InstallStep,
  type PatchExecutor,
  type PatchPlan,
  PatchPlanError,
  type PatchRequest,
} from "./types.js";
import { PatchJobRefused, validatePatchPayload } from "./validate.js";

export interface PatchJobContext {
  /** The filesystem root whose packages are patched; `/` on a live system. */
  root: string;
  /** Where hooks live (`--hooks-dir`). */
  hooksDir: string;
  log: Log;
  runner?: CommandRunner;
  platform?: NodeJS.Platform;
  /** Used instead of detecting the package manager (tests of other platforms' executors). */
  executor?: PatchExecutor;
  /** Asked whether each health-check service is active; defaults to the service manager. */
  serviceChecker?: ServiceChecker;
  /** Reboots the machine; defaults to the system's shutdown command (never for another root). */
  reboot?: Rebooter;
  /** Reboots put off in a row; without it no reboot is put off. */
  rebootDeferrals?: RebootDeferrals;
}

export interface PatchJobReport {
  outcome: "succeeded" | "failed";
  /** One line for the job's summary. */
  summary: string;
  result: PatchJobResult;
}

const skipped = (log: string): StepOutcome => ({ status: "skipped", exitCode: null, log });

/**
 * Runs one patch job: validate (a bad payload refuses the job, PatchJobRefused, before anything
 * runs), refresh and plan from the manager's simulation, the pre-update hook (failing: nothing is
 * installed), install, read the installed versions again, the health check, rollback on failure
 * when asked, and a reboot per policy. Succeeds only when every package reached its target (or was
 * already there) and the health check passed.
 */
export async function runPatchJob(payload: unknown, context: PatchJobContext): Promise<PatchJobReport> {
  const job = validatePatchPayload(payload);
  const runner = context.runner ?? runCommand;
  const request: PatchRequest = {
    mode: job.mode,
    packages: job.packages,
    hold: job.hold,
    reboot: job.reboot,
  };
  const executor =
    context.executor ??
    (await detectPatchExecutor({
      root: context.root,
      runner,
      platform: context.platform ?? process.platform,
      request,
    }));
  try {
    for (const name of [...job.packages.map((p) => p.name), ...job.hold]) {
      if (!executor.namePattern.test(name)) {
        throw new PatchJobRefused(
          `${JSON.stringify(name)} is not a package name ${executor.manager} accepts`,
        );
      }
    }
    return await new PatchRun(job, request, executor, context, runner).run();
  } finally {
    await executor.dispose?.();
  }
}

class PatchRun {
  readonly result: PatchJobResult;
  readonly hooks: (step: string) => HookContext;

  constructor(
    private readonly job: PatchJobPayload,
    private readonly request: PatchRequest,
    private readonly executor: PatchExecutor,
    private readonly context: PatchJobContext,
    private readonly runner: CommandRunner,
  ) {
    this.result = {
      packageManager: executor.manager,
      preUpdate: skipped("no pre-update hook"),
      install: { exitCode: null, log: "" },
      healthCheck: skipped("not reached"),
      rollback: skipped("not needed"),
      packages: [],
      rebootRequired: false,
      rebooting: false,
    };
    this.hooks = (step) => ({
      hooksDir: context.hooksDir,
      env: {
        PATCHPILOT_HOOK_STEP: step,
        PATCHPILOT_ROLLOUT_ID: job.rolloutId,
        PATCHPILOT_RING: job.ring,
        PATCHPILOT_PACKAGE_MANAGER: executor.manager,
        PATCHPILOT_ROOT: context.root,
      },
    });
  }

  async run(): Promise<PatchJobReport> {
    const { executor, job, result } = this;
    const refresh = await executor.refresh();
    let plan: PatchPlan;
    try {
      plan = await executor.plan(this.request);
    } catch (error) {
      const message = errorMessage(error);
      const detail = error instanceof PatchPlanError ? error.log : "";
      result.install.log = logExcerpt(
        [refresh?.ok === false ? refresh.log : "", detail, message].join("\n").trim(),
      );
      const installed = await executor.installedVersions(job.packages.map((p) => p.name)).catch(() => null);
      const planned = job.packages.map((p) => ({
        name: p.name,
        fromVersion: installed?.get(p.name) ?? null,
        toVersion: p.version ?? null,
      }));
      result.packages = skippedAll(planned, `planning failed: ${message}`);
      return this.finish(`planning failed: ${message}`);
    }

    if (job.preUpdate !== null) {
      result.preUpdate = await runHook(job.preUpdate, this.hooks("pre-update"));
      if (result.preUpdate.status !== "succeeded") {
        result.packages = skippedAll(plan.changes, "the pre-update hook failed");
        result.install.log = "not run: the pre-update hook failed";
        return this.finish("the pre-update hook failed; nothing installed");
      }
    }

    const toInstall = plan.changes.filter((c) => c.skip === undefined);
    let install: InstallStep = { ok: true, exitCode: null, log: "nothing to install" };
    if (toInstall.length > 0) install = await executor.install(plan, this.request);
    const refreshNote = refresh && !refresh.ok ? `${refresh.log}\n` : "";
    result.install = { exitCode: install.exitCode, log: logExcerpt(`${refreshNote}${install.log}`) };

    const after = await executor.installedVersions(plan.changes.map((c) => c.name));
    result.packages = judgeInstall(plan.changes, after, install, executor);
    const installFailed = !install.ok || result.packages.some((p) => p.result === "failed");

    result.healthCheck = installFailed
      ? skipped("not run: the install failed")
      : await runHealthCheck(
          job.healthCheck,
          this.context.serviceChecker ?? systemServiceChecker(this.runner, this.context.root),
          this.hooks("health-check"),
        );
    const healthFailed = result.healthCheck.status === "failed";
    if (installFailed || healthFailed) {
      await this.rollBack(installFailed ? "the install failed" : "the health check failed");
    }

    result.rebootRequired = install.rebootRequired === true || (await executor.rebootRequired());
    if (toInstall.length > 0 && shouldReboot(job.reboot, result.rebootRequired)) await this.reboot();
    const problems = [
      !install.ok ? `${executor.manager} exited with ${install.exitCode ?? "no exit code"}` : "",
      healthFailed ? "the health check failed" : "",
    ].filter(Boolean);
    return this.finish(problems.join("; "));
  }

  /** Reboots per policy, unless the device puts it off (within the job's cap on deferrals). */
  async reboot(): Promise<void> {
    const { result, context } = this;
    const max = this.job.maxRebootDeferrals ?? 0;
    const deferral = await deferReboot(max, context.rebootDeferrals, this.hooks("defer-reboot"));
    if ("deferred" in deferral) {
      result.rebootDeferrals = deferral.deferred;
      context.log("info", `patch job: reboot put off (${deferral.deferred} of at most ${max} in a row)`);
      return;
    }
    try {
      await (context.reboot ?? systemRebooter(this.runner, context.root))();
      result.rebooting = true;
      await context.rebootDeferrals?.set(0);
    } catch (error) {
      context.log("warn", `patch job: reboot not started: ${errorMessage(error)}`);
    }
  }

  async rollBack(why: string): Promise<void> {
    const { result, executor } = this;
    if (!this.job.rollbackOnFailure) {
      result.rollback = skipped(`not asked for (${why})`);
      return;
    }
    const candidates = rollbackCandidates(result.packages);
    if (candidates.length === 0) {
      result.rollback = skipped(`nothing changed to roll back (${why})`);
      return;
    }
    const step = await executor.rollback(
      candidates.map((c) => ({ name: c.name, fromVersion: c.fromVersion ?? "", toVersion: c.toVersion })),
    );
    const back = await executor.installedVersions(candidates.map((c) => c.name));
    const judged = judgeRollback(result.packages, candidates, back, step, why);
    result.packages = judged.packages;
    result.rollback = {
      status: judged.restored ? "succeeded" : "failed",
      exitCode: step.exitCode,
      log: step.log,
    };
  }

  finish(problem: string): PatchJobReport {
    const { result } = this;
    const failed =
      problem !== "" ||
      result.preUpdate.status === "failed" ||
      result.healthCheck.status === "failed" ||
      result.packages.some((p) => p.result === "failed" || p.result === "rolled_back");
    const parts = [`${result.packageManager}: ${countResults(result.packages)}`];
    if (problem) parts.push(problem);
    if (result.rollback.status !== "skipped") parts.push(`rollback ${result.rollback.status}`);
    if (result.rebootRequired) {
      parts.push(
        result.rebooting
          ? "rebooting"
          : result.rebootDeferrals
            ? `reboot put off (${result.rebootDeferrals} in a row)`
            : "reboot required",
      );
    }
    return { outcome: failed ? "failed" : "succeeded", summary: parts.join("; ").slice(0, 1000), result };
  }
}
