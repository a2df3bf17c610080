/**
 * Version comparison per ecosystem, each following its packaging tool's own rules (see the file
 * per ecosystem). Resolve a comparator once with comparatorFor() for hot loops; compareVersions()
 * and isValidVersion() are the one-off forms.
 */
import { apkComparator } from "./apk.js";
import { dpkgComparator } from "./dpkg.js";
import { macosComparator } from "./macos.js";
import { mavenComparator } from "./maven.js";
import { nugetComparator } from "./nuget.js";
import { pep440Comparator } from "./pep440.js";
import { rpmComparator } from "./rpm.js";
import { semverComparator } from "./semver.js";
import type { Ordering, VersionComparator, VersionEcosystem } from "./types.js";
import { windowsComparator } from "./windows.js";
import { windowsKbComparator } from "./windows-kb.js";

export { type ApkVersion, compareApkVersions, parseApkVersion } from "./apk.js";
export { compareDpkgVersions, type DpkgMode, type DpkgVersion, parseDpkgVersion } from "./dpkg.js";
export { VersionSyntaxError } from "./errors.js";
export { type MacosVersion, parseMacosVersion } from "./macos.js";
export { type MavenVersion, parseMavenVersion } from "./maven.js";
export { type NuGetVersion, parseNuGetVersion } from "./nuget.js";
export { type Pep440Version, parsePep440Version } from "./pep440.js";
export { compareRpmVersions, parseRpmEvr, type RpmEvr } from "./rpm.js";
export { parseSemver, type SemverEcosystem, type SemverVersion } from "./semver.js";
export type { Ordering, PreparedVersion, VersionComparator, VersionEcosystem } from "./types.js";
export { parseWindowsVersion } from "./windows.js";
export { parseWindowsKb } from "./windows-kb.js";

const COMPARATORS: Readonly<Record<VersionEcosystem, VersionComparator>> = {
  dpkg: dpkgComparator,
  rpm: rpmComparator,
  apk: apkComparator,
  semver: semverComparator("semver"),
  npm: semverComparator("npm"),
  go: semverComparator("go"),
  cargo: semverComparator("cargo"),
  pep440: pep440Comparator("pep440"),
  pypi: pep440Comparator("pypi"),
  maven: mavenComparator,
  nuget: nugetComparator,
  windows: windowsComparator,
  "windows-kb": windowsKbComparator,
  macos: macosComparator,
};

/** Every ecosystem name, in a stable order (for help texts and error messages). */
export const VERSION_ECOSYSTEMS = Object.keys(COMPARATORS) as readonly VersionEcosystem[];

export function isVersionEcosystem(name: string): name is VersionEcosystem {
  return Object.hasOwn(COMPARATORS, name);
}

export function comparatorFor(ecosystem: VersionEcosystem): VersionComparator {
  return COMPARATORS[ecosystem];
}

/** -1, 0 or 1 as a is older than, the same as, or newer than b; VersionSyntaxError if either is invalid. */
export function compareVersions(ecosystem: VersionEcosystem, a: string, b: string): Ordering {
  return COMPARATORS[ecosystem].compare(a, b);
}

export function isValidVersion(ecosystem: VersionEcosystem, version: string): boolean {
  return COMPARATORS[ecosystem].isValid(version);
}
