import type { PatchTarget } from "@patchpilot/protocol";
import { asRecordList, numberField, stringListField } from "../collectors/json-fields.js";
import type { CommandRunner } from "../collectors/types.js";
import { parseHotFixes } from "../collectors/windows-programs.js";
import {
  HOTFIX_SCRIPT,
  OS_INFO_SCRIPT,
  parsePowerShellJson,
  powershellPath,
  WINDOWS_UPDATE_SCRIPT,
} from "../collectors/windows-scripts.js";
import { parseWindowsUpdateSearch } from "../collectors/windows-updates.js";
import { type CommandRun, failureReason, runLogged, runOutput } from "./commands.js";
import { joinLogs, logExcerpt } from "./log-excerpt.js";
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

/**
 * Downloads and installs the updates whose KB numbers are in PATCHPILOT_KBS, through the Windows
 * Update Agent API, and prints the installer's result per update. The KB list reaches the script
 * only as an environment variable, checked again to be digits: nothing is spliced into the script.
 * IUpdateInstaller result codes: 2 succeeded, 3 succeeded with errors, 4 failed, 5 aborted.
 */
export const WINDOWS_UPDATE_INSTALL_SCRIPT = `$ErrorActionPreference = 'Stop'; [Console]::OutputEncoding = [System.Text.Encoding]::UTF8;
$kbs = @(($env:PATCHPILOT_KBS -split ',') | Where-Object { $_ -match '^[0-9]{4,10}$' })
$session = New-Object -ComObject Microsoft.Update.Session
$session.ClientApplicationID = 'PatchPilot agent'
$search = $session.CreateUpdateSearcher().Search('IsInstalled=0 and IsHidden=0')
$selected = New-Object -ComObject Microsoft.Update.UpdateColl
foreach ($u in $search.Updates) {
  if (@(@($u.KBArticleIDs) | Where-Object { $kbs -contains $_ }).Count -eq 0) { continue }
  if (-not $u.EulaAccepted) { $u.AcceptEula() }
  [void]$selected.Add($u)
}
$out = [ordered]@{ ResultCode = $null; HResult = 0; RebootRequired = $false; Updates = @() }
if ($selected.Count -gt 0) {
  $downloader = $session.CreateUpdateDownloader()
  $downloader.Updates = $selected
  [void]$downloader.Download()
  $installer = $session.CreateUpdateInstaller()
  $installer.Updates = $selected
  $result = $installer.Install()
  $out.ResultCode = [int]$result.ResultCode
  $out.HResult = $result.HResult
  $out.RebootRequired = $result.RebootRequired
  $out.Updates = @(for ($i = 0; $i -lt $selected.Count; $i++) {
    $r = $result.GetUpdateResult($i)
    [pscustomobject]@{
      Title = $selected.Item($i).Title
      KBArticleIDs = @($selected.Item($i).KBArticleIDs)
      ResultCode = [int]$r.ResultCode
      HResult = $r.HResult
      RebootRequired = $r.RebootRequired
    }
  })
}
[pscustomobject]$out | ConvertTo-Json -Depth 4 -Compress`;

const SUCCEEDED = 2;

export interface WindowsUpdateInstallResult {
  resultCode: number | null;
  rebootRequired: boolean;
  /** KB number → that update's result code. */
  updates: Map<string, number>;
}

/** The install script's JSON. */
export function parseWindowsUpdateInstall(json: unknown): WindowsUpdateInstallResult {
  const [record] = asRecordList(json);
  const updates = new Map<string, number>();
  if (!record) return { resultCode: null, rebootRequired: false, updates };
  for (const u of asRecordList(record.Updates)) {
    const code = numberField(u, "ResultCode");
    for (const kb of stringListField(u, "KBArticleIDs"))
      if (code !== null) updates.set(kb.replace(/^KB/i, ""), code);
  }
  return {
    resultCode: numberField(record, "ResultCode"),
    rebootRequired: record.RebootRequired === true,
    updates,
  };
}

/** A target's KB number: its version (`KB5035853`, as the protocol says for Windows), or its name. */
export function targetKb(target: PatchTarget): string | null {
  for (const value of [target.version, target.name]) {
    const match = /^KB(\d{4,10})$/i.exec(value ?? "");
    if (match) return match[1]!;
  }
  return null;
}

/**
 * Windows Update through its own agent's COM API, by KB number. A class job (security, all)
 * takes what the agent's search offers: security = the Security Updates or Critical Updates
 * classification or an MSRC severity, as the inventory reports them. Updates without a KB
 * (drivers) are not installed by jobs. Windows Update cannot uninstall reliably, so rollback is
 * reported as failed with that reason.
 */
export class WindowsUpdateExecutor implements PatchExecutor {
  readonly manager = "windows-update";
  readonly versionEcosystem = null;
  readonly namePattern = /^[A-Za-z0-9][A-Za-z0-9+._-]*$/;
  /** Job package name → KB number. */
  #kbs = new Map<string, string>();
  /** KB numbers the installer reported installed in this job. */
  #installed = new Set<string>();

  constructor(private readonly runner: CommandRunner) {}

  async #powershell(
    script: string,
    env: Record<string, string> = {},
    timeoutMs = 15 * MINUTE,
  ): Promise<CommandRun> {
    return runLogged(this.runner, powershellPath(), ["-NoProfile", "-NonInteractive", "-Command", script], {
      timeoutMs,
      env,
    });
  }

  async #json(script: string, what: string): Promise<unknown> {
    const run = await this.#powershell(script);
    if (run.exitCode !== 0) throw new PatchPlanError(`${what} failed: ${failureReason(run)}`, runOutput(run));
    return parsePowerShellJson(run.stdout);
  }

  async #hotfixes(): Promise<Set<string>> {
    const parsed = parseHotFixes(await this.#json(HOTFIX_SCRIPT, "Get-HotFix"), "windows");
    return new Set(parsed.packages.map((p) => p.version));
  }

  async installedVersions(names: readonly string[]): Promise<Map<string, string | null>> {
    const hotfixes = await this.#hotfixes();
    return new Map(
      names.map((name) => {
        const kb = this.#kbs.get(name);
        return [name, kb !== undefined && (hotfixes.has(kb) || this.#installed.has(kb)) ? `KB${kb}` : null];
      }),
    );
  }

  async refresh() {
    return null;
  }

  async plan(request: PatchRequest): Promise<PatchPlan> {
    // The search goes online to Windows Update and can take minutes.
    const offered = parseWindowsUpdateSearch(
      await this.#json(WINDOWS_UPDATE_SCRIPT, "the Windows Update search"),
    );
    const heldKbs = new Set(request.hold.map((h) => targetKb({ name: h })).filter((k) => k !== null));
    if (request.mode !== "packages") {
      const changes: PlannedChange[] = [];
      for (const u of offered) {
        const kb = u.kb?.replace(/^KB/, "");
        if (kb === undefined || (request.mode === "security" && !u.security)) continue;
        const name = `KB${kb}`;
        if (changes.some((c) => c.name === name)) continue;
        this.#kbs.set(name, kb);
        const change: PlannedChange = { name, fromVersion: null, toVersion: name };
        if (heldKbs.has(kb)) change.skip = { result: "skipped", reason: "held by the job" };
        changes.push(change);
      }
      return { changes, log: offered.map((u) => `${u.kb ?? "-"} ${u.name}`).join("\n") };
    }
    const installed = await this.#hotfixes();
    const offeredKbs = new Set(offered.map((u) => u.kb?.replace(/^KB/, "")));
    const changes = request.packages.map((target): PlannedChange => {
      const kb = targetKb(target);
      if (kb === null) {
        throw new PatchPlanError(
          `${target.name}: a Windows Update target names its KB (KB1234567) as its version`,
        );
      }
      this.#kbs.set(target.name, kb);
      const change: PlannedChange = { name: target.name, fromVersion: null, toVersion: `KB${kb}` };
      if (installed.has(kb)) {
        return {
          ...change,
          fromVersion: `KB${kb}`,
          skip: { result: "unchanged", reason: "already installed" },
        };
      }
      if (heldKbs.has(kb)) return { ...change, skip: { result: "skipped", reason: "held by the job" } };
      if (!offeredKbs.has(kb)) {
        return {
          ...change,
          skip: { result: "skipped", reason: "not offered by Windows Update on this machine" },
        };
      }
      return change;
    });
    return { changes, log: "" };
  }

  async install(plan: PatchPlan): Promise<InstallStep> {
    const kbs = plan.changes.filter((c) => c.skip === undefined).map((c) => this.#kbs.get(c.name) ?? "");
    const run = await this.#powershell(
      WINDOWS_UPDATE_INSTALL_SCRIPT,
      { PATCHPILOT_KBS: kbs.filter((k) => /^\d{4,10}$/.test(k)).join(",") },
      240 * MINUTE,
    );
    let parsed: WindowsUpdateInstallResult = { resultCode: null, rebootRequired: false, updates: new Map() };
    try {
      if (run.exitCode === 0) parsed = parseWindowsUpdateInstall(parsePowerShellJson(run.stdout));
    } catch {
      // Unreadable output: nothing is taken as installed; the versions read afterwards decide.
    }
    for (const [kb, code] of parsed.updates) if (code === SUCCEEDED) this.#installed.add(kb);
    const summary = [...parsed.updates].map(([kb, code]) => `KB${kb}: result code ${code}`).join("\n");
    return {
      ok: run.exitCode === 0 && parsed.resultCode === SUCCEEDED,
      exitCode: run.exitCode,
      log: logExcerpt(
        joinLogs([{ command: "Windows Update install", output: `${summary}\n${runOutput(run)}` }]),
      ),
      rebootRequired: parsed.rebootRequired,
    };
  }

  async rollback(): Promise<RollbackStep> {
    const reason = "Windows Update cannot roll back an installed update";
    const kbs = [...this.#kbs.keys()];
    return { ok: false, exitCode: null, log: reason, reasons: new Map(kbs.map((k) => [k, reason])) };
  }

  /** Windows Update's and Component Based Servicing's pending-reboot keys. */
  async rebootRequired(): Promise<boolean> {
    try {
      const [info] = asRecordList(await this.#json(OS_INFO_SCRIPT, "the reboot check"));
      return info?.RebootRequired === true || info?.RebootPending === true;
    } catch {
      return false;
    }
  }
}
