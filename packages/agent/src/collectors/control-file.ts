/** One stanza of a Debian control-format file, field names lower-cased, continuation lines kept. */
export interface ControlStanza {
  fields: Map<string, string>;
  /** The first line that is neither `Field: value`, a continuation, nor blank; null when none. */
  badLine: string | null;
}

/**
 * Splits a deb822 control file (dpkg's status database uses it) into stanzas separated by blank
 * lines. A field runs from `Name:` to the next line that does not start with a space or tab.
 */
export function parseControlStanzas(text: string): ControlStanza[] {
  const stanzas: ControlStanza[] = [];
  let current: ControlStanza | null = null;
  let lastField: string | null = null;
  for (const line of text.replace(/\r\n/g, "\n").split("\n")) {
    if (line.trim() === "") {
      if (current) stanzas.push(current);
      current = null;
      lastField = null;
      continue;
    }
    current ??= { fields: new Map(), badLine: null };
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (lastField === null) current.badLine ??= line;
      else current.fields.set(lastField, `${current.fields.get(lastField) ?? ""}\n${line.trim()}`);
      continue;
    }
    const match = /^([!-9;-~][!-9;-~]*):(.*)$/.exec(line);
    if (!match) {
      current.badLine ??= line;
      lastField = null;
      continue;
    }
    lastField = match[1]!.toLowerCase();
    current.fields.set(lastField, match[2]!.trim());
  }
  if (current) stanzas.push(current);
  return stanzas;
}
