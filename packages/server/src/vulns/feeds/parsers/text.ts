/**
 * Cleaning of free text taken from feeds before it is stored: feeds are written by many hands and
 * sometimes carry broken encodings, NUL bytes (which PostgreSQL text refuses) or megabytes of text
 * in a field meant for a paragraph.
 */

export const MAX_DESCRIPTION = 8_000;
export const MAX_SUMMARY = 1_000;
/** Package, product and vendor names. */
export const MAX_NAME = 300;
const MAX_URL = 2_048;
const MAX_REFERENCES = 500;

// A high surrogate not followed by a low one, or a low one not preceded by a high one: what an
// invalid UTF-16 escape (`"\ud800"`) in JSON turns into. Replaced so the text can be encoded again.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// C0 controls other than tab and newline, and DEL; \r is dropped so line ends are \n only.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** Decodes feed bytes as UTF-8; malformed byte sequences become U+FFFD instead of failing the file. */
export function decodeFeedText(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: false }).decode(bytes);
}

/** Well-formed, control-free, trimmed text. */
export function cleanText(value: string): string {
  return value.replace(LONE_SURROGATE, "\ufffd").replace(CONTROL, "").trim();
}

/** Cuts text to at most `max` characters at a code point boundary, marking the cut with an ellipsis. */
export function boundText(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end).trimEnd()}…`;
}

/** Cleaned and bounded text, or null when nothing is left. */
export function textOrNull(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const text = boundText(cleanText(value), max);
  return text === "" ? null : text;
}

/** The http(s) URLs among `candidates`, each once, in order; anything else is dropped. */
export function httpUrls(candidates: Iterable<string>): string[] {
  const urls = new Set<string>();
  for (const candidate of candidates) {
    const text = cleanText(candidate);
    if (text.length > MAX_URL || !/^https?:\/\/\S+$/i.test(text)) continue;
    if (!URL.canParse(text)) continue;
    urls.add(text);
    if (urls.size >= MAX_REFERENCES) break;
  }
  return [...urls];
}
