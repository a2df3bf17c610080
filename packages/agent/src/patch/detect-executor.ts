import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { detectLinuxPackageManagers, findProgram, programToRun } from "../collectors/detect.js";
import type { CommandRunner } from "../collectors/types.js";
import { ApkExecutor } from "./apk-executor.js";
import { AptExecutor } from "./apt-executor.js";
import { DnfExecutor } from "./dnf-executor.js";
import { SoftwareUpdateExecutor } from "./softwareupdate-executor.js";
import type { PatchExecutor, PatchRequest } from "./types.js";
import { PatchJobRefused } from "./validate.js";
import { targetKb, WindowsUpdateExecutor } from "./windows-update-executor.js";
import { WingetExecutor } from "./winget-executor.js";
import { ZypperExecutor } from "./zypper-executor.js";

export interface DetectOptions {
  root: string;
  runner: CommandRunner;
  platform: NodeJS.Platform;
  request: PatchRequest;
}

/**
 * winget.exe is an app-execution alias in a user's WindowsApps folder, which the SYSTEM account
 * (the service's) does not have; the package's own folder under Program Files is found instead.
 */
async function findWinget(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const apps = join(env.ProgramFiles ?? "C:\\Program Files", "WindowsApps");
  try {
    const dirs = (await readdir(apps))
      .filter((d) => /^Microsoft\.DesktopAppInstaller_[\d.]+_(x64|arm64)__8wekyb3d8bbwe$/.test(d))
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    const newest = dirs.pop();
    if (newest) return join(apps, newest, "winget.exe");
  } catch {
    // Not readable: fall back to the user's alias.
  }
  return env.LOCALAPPDATA ? join(env.LOCALAPPDATA, "Microsoft", "WindowsApps", "winget.exe") : null;
}

/**
 * The executor for this machine's package manager, found the way the inventory collectors find
 * it (files under the root, programs in fixed system directories). On Windows a job of KB numbers
 * (or a class of updates) goes to Windows Update, a job of package ids to winget.
 */
export async function detectPatchExecutor(options: DetectOptions): Promise<PatchExecutor> {
  const { root, runner, platform, request } = options;
  if (platform === "win32") {
    const kbs = request.packages.map(targetKb);
    if (request.mode !== "packages" || kbs.every((kb) => kb !== null))
      return new WindowsUpdateExecutor(runner);
    if (kbs.some((kb) => kb !== null)) {
      throw new PatchJobRefused(
        "a job installs either Windows updates (KB numbers) or winget packages, not both",
      );
    }
    const winget = await findWinget();
    if (winget === null) throw new PatchJobRefused("winget is not installed");
    return new WingetExecutor(runner, winget);
  }
  if (platform === "darwin") return new SoftwareUpdateExecutor(runner);

  const found = await detectLinuxPackageManagers(root);
  const run = (program: string) => programToRun(program, root);
  const orDefault = async (name: string) => (await findProgram(root, name)) ?? `/usr/bin/${name}`;
  if (found.dpkg && found.aptGet !== null) {
    return AptExecutor.create({
      root,
      runner,
      aptGet: run(found.aptGet),
      aptMark: run(await orDefault("apt-mark")),
      // Always the host's dpkg: for another root it is told where to work with --root.
      dpkg: (await findProgram("/", "dpkg")) ?? "/usr/bin/dpkg",
    });
  }
  if (found.rpm !== null && found.zypper !== null) {
    return new ZypperExecutor({ root, runner, zypper: run(found.zypper), rpm: run(found.rpm) });
  }
  if (found.rpm !== null && found.dnf !== null) {
    const needsRestarting = await findProgram(root, "needs-restarting");
    return new DnfExecutor({
      root,
      runner,
      dnf: run(found.dnf),
      rpm: run(found.rpm),
      needsRestarting: needsRestarting === null ? null : run(needsRestarting),
    });
  }
  if (found.apk && found.apkProgram !== null)
    return new ApkExecutor({ root, runner, apk: run(found.apkProgram) });
  throw new PatchJobRefused(`no package manager the agent can patch with under ${root}`);
}
