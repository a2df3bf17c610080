/** Typed reads from parsed JSON of unknown shape. */

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** ConvertTo-Json prints one item as an object and several as an array; none is null here. */
export function asRecordList(value: unknown): JsonRecord[] {
  if (value === null || value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.filter(isRecord);
}

/** A string field; registry values written as numbers (some DisplayVersions are DWORDs) become strings. */
export function stringField(record: JsonRecord, key: string): string {
  const value = record[key];
  if (typeof value === "string") return value.trim();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return "";
}

export function numberField(record: JsonRecord, key: string): number | null {
  const value = record[key];
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^\d+$/.test(value.trim())) return Number(value.trim());
  return null;
}

/** A list of strings, also when a single string was printed instead of an array. */
export function stringListField(record: JsonRecord, key: string): string[] {
  const value = record[key];
  const items = Array.isArray(value) ? value : [value];
  return items
    .filter((v): v is string | number => typeof v === "string" || typeof v === "number")
    .map(String);
}
