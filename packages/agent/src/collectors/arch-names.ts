import type { DistroFamily } from "./os-release.js";

/** Node's `os.arch()` in the naming each package manager and OS uses for the same machine. */
const DPKG: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  ia32: "i386",
  arm: "armhf",
  ppc64: "ppc64el",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
};
const RPM: Record<string, string> = {
  x64: "x86_64",
  arm64: "aarch64",
  ia32: "i686",
  arm: "armv7hl",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loongarch64",
};
const APK: Record<string, string> = { ...RPM, ia32: "x86", arm: "armv7" };
const MACOS: Record<string, string> = { x64: "x86_64", arm64: "arm64" };
const WINDOWS: Record<string, string> = { x64: "x64", arm64: "arm64", ia32: "x86" };

export type ArchNaming = DistroFamily | "macos" | "windows";

const TABLES: Record<ArchNaming, Record<string, string>> = {
  dpkg: DPKG,
  rpm: RPM,
  apk: APK,
  // A distribution the agent does not know: the kernel's (uname -m) names are the least surprising.
  unknown: RPM,
  macos: MACOS,
  windows: WINDOWS,
};

export function archName(nodeArch: string, naming: ArchNaming): string {
  return TABLES[naming][nodeArch] ?? nodeArch;
}
