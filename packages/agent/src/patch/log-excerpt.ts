/** The protocol's bound on a step's log. */
export const LOG_EXCERPT_BYTES = 4096;

// Credentials written into repository addresses (https://user:secret@host/...).
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi;

/** Replaces the password part of `scheme://user:password@` with `***`. */
export function redactCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, "$1***@");
}

/**
 * The end of a command's output, at most `LOG_EXCERPT_BYTES` of UTF-8 (the end says what went wrong),
 * with credentials in URLs masked, carriage-return progress redraws reduced to their last state and
 * control characters other than newline and tab dropped. Never cuts a character in half.
 */
export function logExcerpt(text: string, maxBytes = LOG_EXCERPT_BYTES): string {
  const cleaned = redactCredentials(text)
    .split("\n")
    .map(
      (line) =>
        line
          .split("\r")
          .filter((part) => part !== "")
          .pop() ?? "",
    )
    .join("\n")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
  const bytes = Buffer.from(cleaned, "utf8");
  if (bytes.length <= maxBytes) return cleaned;
  const marker = "…\n";
  let start = bytes.length - (maxBytes - Buffer.byteLength(marker));
  // Skip UTF-8 continuation bytes so the excerpt starts on a character boundary.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return marker + bytes.subarray(start).toString("utf8");
}

/** Joins the output of several commands into one log, each introduced by its command line. */
export function joinLogs(parts: readonly { command: string; output: string }[]): string {
  return parts.map((p) => `$ ${p.command}\n${p.output}`.trimEnd()).join("\n");
}
