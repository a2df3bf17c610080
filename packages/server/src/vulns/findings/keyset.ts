import { AppError } from "../../http/errors.js";

type Kind = "number" | "string" | "uuid";
type ValueOf<K extends Kind> = K extends "number" ? number : string;
export type Key<K extends readonly Kind[]> = { -readonly [I in keyof K]: ValueOf<K[I]> };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Cursors are opaque to clients: base64url JSON of the last row's sort key. */
export function encodeKey(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function fits(kind: Kind, value: unknown): boolean {
  if (kind === "number") return typeof value === "number" && Number.isFinite(value);
  if (kind === "uuid") return typeof value === "string" && UUID.test(value);
  return typeof value === "string" && value.length <= 200;
}

/** The sort key a cursor carries, checked part by part; anything else is the client's error. */
export function decodeKey<const K extends readonly Kind[]>(cursor: string, kinds: K): Key<K> {
  let value: unknown = null;
  try {
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    // reported below
  }
  if (Array.isArray(value) && value.length === kinds.length && kinds.every((k, i) => fits(k, value[i]))) {
    return value as Key<K>;
  }
  throw new AppError("request.invalid", { field: "querystring/cursor", message: "The cursor is not valid." });
}
