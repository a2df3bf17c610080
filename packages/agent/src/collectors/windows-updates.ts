import type { AvailableUpdate } from "@patchpilot/protocol";
import { asRecordList, numberField, stringField, stringListField } from "./json-fields.js";

const SECURITY_CATEGORIES = new Set(["security updates", "critical updates"]);

/**
 * Updates from the Windows Update Agent search (WINDOWS_UPDATE_SCRIPT). An update with a KB article
 * is ecosystem `windows-kb` with its first KB as `kb`; one without (drivers) is `windows`. The
 * title is the name (it is what an administrator recognises, and Defender's definition updates
 * share one KB). The version is the KB number or, failing that, the update's revision number.
 * Security: the Security Updates or Critical Updates classification, or any MSRC severity.
 */
export function parseWindowsUpdateSearch(json: unknown): AvailableUpdate[] {
  const updates: AvailableUpdate[] = [];
  for (const item of asRecordList(json)) {
    const title = stringField(item, "Title");
    if (title === "") continue;
    const kbNumber = stringListField(item, "KBArticleIDs")
      .map((id) => id.trim().replace(/^KB/i, ""))
      .find((id) => /^\d{4,10}$/.test(id));
    const revision = numberField(item, "RevisionNumber");
    const version = kbNumber ?? (revision !== null ? String(revision) : "");
    if (version === "") continue;
    const categories = stringListField(item, "Categories");
    const severity = stringField(item, "MsrcSeverity");
    const update: AvailableUpdate = {
      ecosystem: kbNumber !== undefined ? "windows-kb" : "windows",
      name: title,
      currentVersion: null,
      availableVersion: version,
      security: severity !== "" || categories.some((c) => SECURITY_CATEGORIES.has(c.toLowerCase())),
    };
    if (kbNumber !== undefined) update.kb = `KB${kbNumber}`;
    if (categories[0] !== undefined) update.origin = categories.join(", ");
    updates.push(update);
  }
  return updates;
}
