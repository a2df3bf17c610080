/**
 * Reading untyped JSON (and YAML/XML turned into the same shapes) without casts: each reader
 * either returns the value in the expected type or throws a RecordError naming the field and what
 * was found, which the calling parser turns into a counted skip of that record.
 */
import { FeedFormatError, RecordError } from "./errors.js";
import { cleanText } from "./text.js";

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** "a string", "an array", … for error messages. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/** Text is parsed as JSON (FeedFormatError when it is not JSON); anything else is taken as parsed. */
export function parseJsonInput(input: unknown, format: string): unknown {
  if (typeof input !== "string") return input;
  try {
    return JSON.parse(input.charCodeAt(0) === 0xfeff ? input.slice(1) : input);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new FeedFormatError(format, `the text is not JSON (${detail})`);
  }
}

function own(object: JsonObject, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** A cleaned string, or null when the field is absent or null. */
export function optionalString(object: JsonObject, key: string, path = key): string | null {
  const value = own(object, key);
  if (value === undefined || value === null) return null;
  if (typeof value !== "string")
    throw new RecordError(`${path}: expected a string, found ${describeType(value)}`);
  return cleanText(value);
}

export function requiredString(object: JsonObject, key: string, path = key): string {
  const value = optionalString(object, key, path);
  if (value === null || value === "") throw new RecordError(`${path}: missing`);
  return value;
}

/** A finite number (numeric strings are not accepted: the JSON feeds write numbers as numbers). */
export function optionalNumber(object: JsonObject, key: string, path = key): number | null {
  const value = own(object, key);
  if (value === undefined || value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new RecordError(`${path}: expected a number, found ${describeType(value)}`);
  }
  return value;
}

export function optionalBoolean(object: JsonObject, key: string, path = key): boolean | null {
  const value = own(object, key);
  if (value === undefined || value === null) return null;
  if (typeof value !== "boolean")
    throw new RecordError(`${path}: expected true or false, found ${describeType(value)}`);
  return value;
}

/** The array, [] when absent or null. */
export function optionalArray(object: JsonObject, key: string, path = key): readonly unknown[] {
  const value = own(object, key);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new RecordError(`${path}: expected an array, found ${describeType(value)}`);
  return value;
}

export function optionalObject(object: JsonObject, key: string, path = key): JsonObject | null {
  const value = own(object, key);
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new RecordError(`${path}: expected an object, found ${describeType(value)}`);
  return value;
}

/** An array of strings, each cleaned; empty strings dropped. */
export function stringArray(object: JsonObject, key: string, path = key): string[] {
  return optionalArray(object, key, path).flatMap((item, index) => {
    if (typeof item !== "string") {
      throw new RecordError(`${path}[${index}]: expected a string, found ${describeType(item)}`);
    }
    const text = cleanText(item);
    return text === "" ? [] : [text];
  });
}

/** The elements of an array that are objects; a non-object element is a RecordError. */
export function objectArray(object: JsonObject, key: string, path = key): JsonObject[] {
  return optionalArray(object, key, path).map((item, index) => {
    if (!isObject(item))
      throw new RecordError(`${path}[${index}]: expected an object, found ${describeType(item)}`);
    return item;
  });
}

/** The message of a RecordError; anything else is a bug and is thrown on. */
export function recordErrorMessage(error: unknown): string {
  if (error instanceof RecordError) return error.message;
  throw error;
}
