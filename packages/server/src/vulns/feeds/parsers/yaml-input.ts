/**
 * YAML read with the failsafe schema: every scalar stays the string the file wrote, so a version
 * such as `1.10` is not turned into the number 1.1 and `0` is "0". Callers convert numbers
 * themselves where a number is meant.
 */
import { parseDocument } from "yaml";
import { FeedFormatError } from "./errors.js";

export function parseYamlInput(text: string, format: string): unknown {
  const document = parseDocument(text, { schema: "failsafe", uniqueKeys: false });
  const error = document.errors[0];
  if (error !== undefined)
    throw new FeedFormatError(format, `the text is not YAML (${error.message.split("\n")[0]})`);
  return document.toJS({ maxAliasCount: 100 });
}
