import { firstLine } from "./text.js";
import type { CommandRunner } from "./types.js";

/*
 * Fixed PowerShell scripts, one per question. Nothing from input is ever spliced into them. Each
 * prints JSON with `ConvertTo-Json -Depth 4 -Compress`, which prints a single object rather than an
 * array when there is one item and nothing at all when there are none; the parsers accept all three.
 * Output is UTF-8 so program names outside the console code page survive.
 */
const PRELUDE = "$ErrorActionPreference = 'Stop'; [Console]::OutputEncoding = [System.Text.Encoding]::UTF8;";

/**
 * Installed programs from the three Uninstall keys. Run as a service the agent's HKCU is the service
 * account's, so per-user installs of other accounts are not seen.
 */
export const PROGRAMS_SCRIPT = `${PRELUDE}
$keys = @(
  @{ Scope = 'HKLM64'; Path = 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*' },
  @{ Scope = 'HKLM32'; Path = 'HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*' },
  @{ Scope = 'HKCU'; Path = 'HKCU:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\*' }
)
$items = foreach ($k in $keys) {
  Get-ItemProperty -Path $k.Path -ErrorAction SilentlyContinue |
    Select-Object @{ n = 'Scope'; e = { $k.Scope } }, PSChildName, DisplayName, DisplayVersion, Publisher, SystemComponent
}
$items | ConvertTo-Json -Depth 4 -Compress`;

export const HOTFIX_SCRIPT = `${PRELUDE}
Get-HotFix | Select-Object HotFixID, Description | ConvertTo-Json -Depth 4 -Compress`;

/** The Windows Update Agent's own search for applicable, not yet installed updates. */
export const WINDOWS_UPDATE_SCRIPT = `${PRELUDE}
$searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
$result = $searcher.Search('IsInstalled=0')
$items = foreach ($u in $result.Updates) {
  [pscustomobject]@{
    Title = $u.Title
    KBArticleIDs = @($u.KBArticleIDs)
    MsrcSeverity = $u.MsrcSeverity
    Categories = @($u.Categories | ForEach-Object { $_.Name })
    RevisionNumber = $u.Identity.RevisionNumber
  }
}
$items | ConvertTo-Json -Depth 4 -Compress`;

export const OS_INFO_SCRIPT = `${PRELUDE}
$cv = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
$au = Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU' -ErrorAction SilentlyContinue
[pscustomobject]@{
  ProductName = $cv.ProductName
  DisplayVersion = $cv.DisplayVersion
  CurrentMajorVersionNumber = $cv.CurrentMajorVersionNumber
  CurrentMinorVersionNumber = $cv.CurrentMinorVersionNumber
  CurrentBuild = $cv.CurrentBuild
  UBR = $cv.UBR
  MachineGuid = (Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Cryptography').MachineGuid
  RebootRequired = Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired'
  RebootPending = Test-Path -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'
  NoAutoUpdate = $au.NoAutoUpdate
  AUOptions = $au.AUOptions
} | ConvertTo-Json -Depth 4 -Compress`;

/** By full path, so a powershell.exe earlier on PATH is never the one run. */
export function powershellPath(env: NodeJS.ProcessEnv = process.env): string {
  const systemRoot = env.SystemRoot ?? env.SYSTEMROOT ?? "C:\\Windows";
  return `${systemRoot}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`;
}

/** Runs one of the scripts above and returns its parsed JSON (null for empty output). */
export async function runPowerShellJson(
  runner: CommandRunner,
  script: string,
  timeoutMs = 120_000,
): Promise<unknown> {
  const result = await runner(powershellPath(), ["-NoProfile", "-NonInteractive", "-Command", script], {
    timeoutMs,
    maxOutputBytes: 32 * 1024 * 1024,
  });
  if (result.timedOut) throw new Error("powershell timed out");
  if (result.code !== 0)
    throw new Error(`powershell exited with ${result.code}: ${firstLine(result.stderr)}`);
  return parsePowerShellJson(result.stdout);
}

/** ConvertTo-Json's output: empty (no items) is null; a UTF-8 byte order mark is dropped. */
export function parsePowerShellJson(text: string): unknown {
  const trimmed = text.replace(/^\uFEFF/, "").trim();
  if (trimmed === "") return null;
  const value: unknown = JSON.parse(trimmed);
  return value;
}
