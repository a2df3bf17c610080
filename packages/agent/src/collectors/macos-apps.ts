import type { InventoryEntry } from "@patchpilot/protocol";
import { asRecordList, isRecord, stringField, stringListField } from "./json-fields.js";
import type { ParsedEntries } from "./windows-programs.js";

/**
 * The publisher: Apple for Apple's own apps, else the name in a Developer ID signature
 * (`Developer ID Application: Google LLC (EQHXZ8M8AV)` → `Google LLC`). App Store apps are signed by
 * Apple on the developer's behalf, so their signature names no vendor.
 */
function vendorOf(obtainedFrom: string, signedBy: string[]): string | null {
  if (obtainedFrom === "apple") return "Apple";
  return /^Developer ID Application: (.+?)(?: \([A-Z0-9]{10}\))?$/.exec(signedBy[0] ?? "")?.[1] ?? null;
}

/**
 * Parses `system_profiler SPApplicationsDataType -json`. Bundles without a version (helpers,
 * plug-ins) cannot be compared with anything and are skipped; one warning counts them.
 */
export function parseSystemProfilerApps(json: unknown, release: string): ParsedEntries {
  const apps = isRecord(json) ? asRecordList(json.SPApplicationsDataType) : [];
  const packages: InventoryEntry[] = [];
  let unversioned = 0;
  for (const app of apps) {
    const name = stringField(app, "_name");
    const version = stringField(app, "version");
    if (name === "") continue;
    if (version === "") {
      unversioned++;
      continue;
    }
    const entry: InventoryEntry = { kind: "application", ecosystem: "macos", release, name, version };
    const vendor = vendorOf(stringField(app, "obtained_from"), stringListField(app, "signed_by"));
    if (vendor !== null) entry.vendor = vendor;
    packages.push(entry);
  }
  const problems = unversioned > 0 ? [`macos: ${unversioned} application(s) without a version skipped`] : [];
  return { packages, problems };
}
