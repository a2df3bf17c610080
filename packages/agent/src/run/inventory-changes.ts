import { entryLine, type Inventory, updateLine } from "@patchpilot/protocol";

/** What to send so the server's copy (`before`) becomes `after`: entries added and removed, whole. */
export function inventoryChanges(before: Inventory, after: Inventory) {
  return {
    packages: diffBy(before.packages, after.packages, entryLine),
    updates: diffBy(before.updates, after.updates, updateLine),
  };
}

function diffBy<T>(
  before: readonly T[],
  after: readonly T[],
  line: (t: T) => string,
): { added: T[]; removed: T[] } {
  const was = new Set(before.map(line));
  const now = new Set(after.map(line));
  return {
    added: after.filter((t) => !was.has(line(t))),
    removed: before.filter((t) => !now.has(line(t))),
  };
}
