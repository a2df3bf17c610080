import { sql } from "kysely";
import Type from "typebox";
import { AppError } from "./errors.js";

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export const CursorQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200, description: "From the previous page's nextCursor." })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
};

export function pageOf<T extends import("typebox").TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
}

/**
 * A timestamp column as text with the database's full microsecond precision, for cursors:
 * a JavaScript Date keeps only milliseconds, and rows created within one millisecond would be
 * skipped or repeated.
 */
export function preciseTimestamp(column: string) {
  return sql<string>`to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodeCursor(cursor: string): Record<string, string> & { at: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      typeof value === "object" &&
      value !== null &&
      "at" in value &&
      "id" in value &&
      typeof value.at === "string" &&
      typeof value.id === "string" &&
      !Number.isNaN(Date.parse(value.at)) &&
      /^[0-9a-f-]{36}$/.test(value.id)
    ) {
      return { at: value.at, id: value.id };
    }
  } catch {
    // fall through: any undecodable cursor is the client's error
  }
  throw new AppError("request.invalid", { field: "cursor", message: "The cursor is not valid." });
}
