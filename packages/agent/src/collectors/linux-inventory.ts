import type { AvailableUpdate } from "@patchpilot/protocol";
import { collectApkInventory } from "./apk-installed.js";
import { collectApkUpdates } from "./apk-updates.js";
import { collectAptUpdates } from "./apt-updates.js";
import { detectLinuxPackageManagers, programToRun } from "./detect.js";
import { collectDnfUpdates } from "./dnf-updates.js";
import { collectDpkgInventory } from "./dpkg-status.js";
import { distroRelease, readOsRelease } from "./os-release.js";
import { collectRpmInventory } from "./rpm.js";
import { errorMessage } from "./text.js";
import type { CollectorOutput, CommandRunner } from "./types.js";
import { collectZypperUpdates } from "./zypper-updates.js";

export interface LinuxInventoryOptions {
  root: string;
  runner: CommandRunner;
  /** false skips the available-update collectors (they can be slow, and dnf and zypper may go online). */
  updates: boolean;
}

const updatesOnly = (updates: AvailableUpdate[], warnings: string[] = []): CollectorOutput => ({
  packages: [],
  updates,
  warnings,
});

/**
 * Runs every Linux collector whose package manager is present. A failing collector becomes a
 * warning, except dpkg: a status file that exists and cannot be read is an error, because an
 * empty inventory from a broken database would read as "nothing installed".
 */
export async function collectLinuxInventory(options: LinuxInventoryOptions): Promise<CollectorOutput> {
  const { root, runner } = options;
  const out: CollectorOutput = { packages: [], updates: [], warnings: [] };
  const osRelease = await readOsRelease(root);
  const release = osRelease === null ? null : distroRelease(osRelease);
  if (release === null) {
    out.warnings.push("cannot tell the distribution release from os-release; no package inventory");
    return out;
  }
  const found = await detectLinuxPackageManagers(root);
  const add = (part: CollectorOutput) => {
    out.packages.push(...part.packages);
    out.updates.push(...part.updates);
    out.warnings.push(...part.warnings);
  };
  const attempt = async (label: string, collect: () => Promise<CollectorOutput>) => {
    try {
      add(await collect());
    } catch (error) {
      out.warnings.push(`${label} failed: ${errorMessage(error)}`);
    }
  };

  if (found.dpkg) add(await collectDpkgInventory(root, release));
  const { rpm, aptGet, dnf, zypper, apkProgram } = found;
  if (rpm !== null) {
    await attempt("rpm inventory", () =>
      collectRpmInventory({ runner, release, rpmPath: programToRun(rpm, root), root }),
    );
  }
  if (found.apk) await attempt("apk inventory", () => collectApkInventory(root, release));
  if (!options.updates) return out;

  const installed = [...out.packages];
  if (found.dpkg && aptGet !== null) {
    await attempt("apt-get -s", async () =>
      updatesOnly(await collectAptUpdates(runner, { program: programToRun(aptGet, root), root })),
    );
  }
  if (rpm !== null && zypper !== null) {
    await attempt("zypper", async () => {
      const result = await collectZypperUpdates(runner, { program: programToRun(zypper, root), root });
      return updatesOnly(result.updates, result.warnings);
    });
  } else if (rpm !== null && dnf !== null) {
    await attempt("dnf", async () => {
      const result = await collectDnfUpdates(runner, installed, { program: programToRun(dnf, root), root });
      return updatesOnly(result.updates, result.warnings);
    });
  }
  if (found.apk && apkProgram !== null) {
    await attempt("apk version", async () =>
      updatesOnly(
        await collectApkUpdates(runner, installed, { program: programToRun(apkProgram, root), root }),
      ),
    );
  }
  return out;
}
