import type { InventoryEntry } from "@patchpilot/protocol";
import { asRecordList, numberField, stringField } from "./json-fields.js";

export interface ParsedEntries {
  packages: InventoryEntry[];
  problems: string[];
}

/**
 * Programs from the Uninstall registry keys, as PROGRAMS_SCRIPT prints them. Skipped, as Windows'
 * own "Installed apps" list skips them: keys without DisplayName (patches, leftovers) and
 * SystemComponent=1 (parts of another product). A program without DisplayVersion is skipped with a
 * warning: without a version it cannot be compared with anything. The 32-bit view
 * (WOW6432Node) is marked arch `x86`; the others are left without an arch, as the registry does not say.
 */
export function parseUninstallEntries(json: unknown, release: string): ParsedEntries {
  const packages: InventoryEntry[] = [];
  const problems: string[] = [];
  for (const item of asRecordList(json)) {
    const name = stringField(item, "DisplayName");
    if (name === "" || numberField(item, "SystemComponent") === 1) continue;
    const version = stringField(item, "DisplayVersion");
    if (version === "") {
      problems.push(`windows: program "${name}" has no DisplayVersion; skipped`);
      continue;
    }
    const entry: InventoryEntry = { kind: "application", ecosystem: "windows", release, name, version };
    if (stringField(item, "Scope") === "HKLM32") entry.arch = "x86";
    const publisher = stringField(item, "Publisher");
    if (publisher !== "") entry.vendor = publisher;
    packages.push(entry);
  }
  return { packages, problems };
}

/**
 * Installed updates from Get-HotFix: the KB id is the name and its number the version, so the
 * server can compare "is KB5034441 or a later cumulative update installed". Entries without a KB
 * id (old systems list `File 1` and the like) are skipped with a warning.
 */
export function parseHotFixes(json: unknown, release: string): ParsedEntries {
  const packages: InventoryEntry[] = [];
  const problems: string[] = [];
  for (const item of asRecordList(json)) {
    const id = stringField(item, "HotFixID").toUpperCase();
    const match = /^KB(\d{4,10})$/.exec(id);
    if (!match) {
      problems.push(`windows: hotfix ${JSON.stringify(id)} is not a KB id; skipped`);
      continue;
    }
    packages.push({ kind: "hotfix", ecosystem: "windows-kb", release, name: id, version: match[1]! });
  }
  return { packages, problems };
}
