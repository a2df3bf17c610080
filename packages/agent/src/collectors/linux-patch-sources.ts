import { lstat, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { PatchSource } from "@patchpilot/protocol";
import { readAptConfig } from "./apt-config.js";
import { parseDpkgStatus } from "./dpkg-status.js";
import { readOptionalFile } from "./os-release.js";

/** Whether apt.systemd.daily would run unattended-upgrade: a positive day count (or `always`) and periodic runs enabled. */
export function aptPeriodicInstalls(config: ReadonlyMap<string, string>): boolean {
  if (config.get("apt::periodic::enable") === "0") return false;
  const value = config.get("apt::periodic::unattended-upgrade") ?? "0";
  return value === "always" || (/^\d+$/.test(value) && Number(value) > 0);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A unit masked with `systemctl mask` is a symlink to /dev/null in /etc/systemd/system. */
async function isMasked(root: string, unit: string): Promise<boolean> {
  try {
    return (await readlink(join(root, "etc/systemd/system", unit))) === "/dev/null";
  } catch {
    return false;
  }
}

/** Enabled by `systemctl enable`: a link in the `WantedBy=` target's .wants directory. */
function isEnabled(root: string, target: string, unit: string): Promise<boolean> {
  return exists(join(root, "etc/systemd/system", `${target}.wants`, unit));
}

async function dpkgInstalled(root: string, name: string): Promise<boolean> {
  const text = await readOptionalFile(join(root, "var/lib/dpkg/status"));
  if (text === null) return false;
  return parseDpkgStatus(text).packages.some((p) => p.name === name);
}

/**
 * Debian and Ubuntu: unattended-upgrades installs updates when the package is installed, apt's
 * periodic job asks for it, and apt-daily-upgrade.timer (enabled by the apt package) is not masked.
 * Files only: no systemctl call.
 */
export async function detectUnattendedUpgrades(root: string): Promise<PatchSource> {
  const mechanism = "unattended-upgrades";
  if (!(await dpkgInstalled(root, "unattended-upgrades"))) {
    return { mechanism, automaticInstall: false, detail: "package not installed" };
  }
  if (!aptPeriodicInstalls(await readAptConfig(root))) {
    return { mechanism, automaticInstall: false, detail: "APT::Periodic::Unattended-Upgrade is not enabled" };
  }
  if (await isMasked(root, "apt-daily-upgrade.timer")) {
    return { mechanism, automaticInstall: false, detail: "apt-daily-upgrade.timer is masked" };
  }
  return { mechanism, automaticInstall: true, detail: 'APT::Periodic::Unattended-Upgrade "1"' };
}

/** `[section]` / `key = value` files as dnf and yum read them; `#` and `;` start comments. */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current = new Map<string, string>();
  sections.set("", current);
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = sections.get(section[1]!.trim()) ?? new Map();
      sections.set(section[1]!.trim(), current);
      continue;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (pair) current.set(pair[1]!.toLowerCase(), pair[2]!.trim());
  }
  return sections;
}

const truthy = (value: string | undefined) => /^(1|yes|true|on)$/i.test(value ?? "");

/**
 * RHEL and relatives: dnf-automatic. `dnf-automatic-install.timer` always installs; the plain
 * `dnf-automatic.timer` (or dnf5's) installs only with `apply_updates = yes` in automatic.conf.
 */
export async function detectDnfAutomatic(root: string): Promise<PatchSource> {
  const mechanism = "dnf-automatic";
  const text = await readOptionalFile(join(root, "etc/dnf/automatic.conf"));
  if (text === null) return { mechanism, automaticInstall: false, detail: "not installed" };
  if (await isEnabled(root, "timers.target", "dnf-automatic-install.timer")) {
    return { mechanism, automaticInstall: true, detail: "dnf-automatic-install.timer enabled" };
  }
  const plain = ["dnf-automatic.timer", "dnf5-automatic.timer"];
  const timers = await Promise.all(plain.map((t) => isEnabled(root, "timers.target", t)));
  if (!timers.some(Boolean)) return { mechanism, automaticInstall: false, detail: "timer not enabled" };
  const apply = truthy(parseIni(text).get("commands")?.get("apply_updates"));
  return apply
    ? { mechanism, automaticInstall: true, detail: "apply_updates = yes" }
    : {
        mechanism,
        automaticInstall: false,
        detail: "timer enabled; apply_updates = no (download or notify only)",
      };
}

/** CentOS 7 and older: yum-cron, with `apply_updates = yes` and its service enabled; null when not installed. */
export async function detectYumCron(root: string): Promise<PatchSource | null> {
  const mechanism = "yum-cron";
  let text: string;
  try {
    text = await readFile(join(root, "etc/yum/yum-cron.conf"), "utf8");
  } catch {
    return null;
  }
  if (!(await isEnabled(root, "multi-user.target", "yum-cron.service"))) {
    return { mechanism, automaticInstall: false, detail: "yum-cron.service not enabled" };
  }
  const apply = truthy(parseIni(text).get("commands")?.get("apply_updates"));
  return { mechanism, automaticInstall: apply, detail: `apply_updates = ${apply ? "yes" : "no"}` };
}
