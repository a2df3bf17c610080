import type { AvailableUpdate, InventoryEntry } from "@patchpilot/protocol";

export interface SoftwareUpdateItem {
  label: string;
  title: string;
  version: string;
  recommended: boolean;
  restart: boolean;
}

/**
 * Parses `softwareupdate --list` (macOS 10.15 and later):
 *
 *     * Label: macOS Sonoma 14.4.1-23E224
 *     \tTitle: macOS Sonoma 14.4.1, Version: 14.4.1, Size: 6735133KiB, Recommended: YES, Action: restart,
 *
 * "No new software available." (printed on stderr) gives an empty list.
 */
export function parseSoftwareUpdateList(text: string): SoftwareUpdateItem[] {
  const items: SoftwareUpdateItem[] = [];
  let label: string | null = null;
  for (const line of text.split("\n")) {
    const labelMatch = /^\s*\* Label: (.+?)\s*$/.exec(line);
    if (labelMatch) {
      label = labelMatch[1]!;
      continue;
    }
    const title = /^\s+Title: (.+?), Version: ([^,]+),/.exec(line);
    if (!title || label === null) continue;
    items.push({
      label,
      title: title[1]!.trim(),
      version: title[2]!.trim(),
      recommended: /\bRecommended: YES\b/.test(line),
      restart: /\bAction: restart\b/.test(line),
    });
    label = null;
  }
  return items;
}

/**
 * softwareupdate does not classify updates; only Apple's own naming says "security"
 * (`Security Update 2022-005`, `macOS Security Response 13.3.1 (a)`), so only those are marked.
 * The installed version comes from the OS version for macOS itself, else from an app of the same name.
 */
export function softwareUpdateToUpdates(
  items: readonly SoftwareUpdateItem[],
  osVersion: string,
  apps: readonly InventoryEntry[],
): AvailableUpdate[] {
  const appVersions = new Map(apps.map((a) => [a.name, a.version]));
  return items.map((item) => ({
    ecosystem: "macos",
    name: item.title,
    currentVersion: /^macOS\b/.test(item.title) ? osVersion || null : (appVersions.get(item.title) ?? null),
    availableVersion: item.version,
    security: /\bSecurity (Update|Response)\b|\bRapid Security\b/i.test(item.title),
  }));
}
