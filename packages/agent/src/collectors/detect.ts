import { stat } from "node:fs/promises";
import { join } from "node:path";

const BIN_DIRS = ["usr/bin", "bin", "usr/sbin", "sbin"];
const RPM_DB_FILES = ["rpmdb.sqlite", "Packages.db", "Packages"];
const RPM_DB_DIRS = ["var/lib/rpm", "usr/lib/sysimage/rpm"];

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Where a program lives under `root`, as a path inside that root (`/usr/bin/apt-get`), or null.
 * Looking in fixed system directories rather than PATH means a program placed earlier on PATH is
 * never taken for the package manager.
 */
export async function findProgram(root: string, name: string): Promise<string | null> {
  for (const dir of BIN_DIRS) {
    if (await isFile(join(root, dir, name))) return `/${dir}/${name}`;
  }
  return null;
}

/**
 * On the live system (`/`) a program runs by the absolute path it was found at; for another root
 * the host's program of that name runs (with the tool's own root option where it has one), so no
 * program from that tree is ever executed.
 */
export function programToRun(found: string, root: string): string {
  return root === "/" ? found : (found.split("/").pop() ?? found);
}

export interface LinuxPackageManagers {
  dpkg: boolean;
  /** The rpm program, when there is also an rpm database (Debian can have rpm installed with no database). */
  rpm: string | null;
  apk: boolean;
  aptGet: string | null;
  dnf: string | null;
  zypper: string | null;
  apkProgram: string | null;
}

export async function detectLinuxPackageManagers(root: string): Promise<LinuxPackageManagers> {
  const rpmDb = (
    await Promise.all(RPM_DB_DIRS.flatMap((d) => RPM_DB_FILES.map((f) => isFile(join(root, d, f)))))
  ).some(Boolean);
  const [rpm, aptGet, dnf, yum, zypper, apkProgram] = await Promise.all(
    ["rpm", "apt-get", "dnf", "yum", "zypper", "apk"].map((p) => findProgram(root, p)),
  );
  return {
    dpkg: await isFile(join(root, "var/lib/dpkg/status")),
    rpm: rpmDb ? (rpm ?? null) : null,
    apk: await isFile(join(root, "lib/apk/db/installed")),
    aptGet: aptGet ?? null,
    // yum on CentOS 7 and older prints the same formats as dnf.
    dnf: dnf ?? yum ?? null,
    zypper: zypper ?? null,
    apkProgram: apkProgram ?? null,
  };
}
