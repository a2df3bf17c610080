/**
 * Just enough XML reading for zypper's `--xmlout` streams: find elements by name and read their
 * attributes. zypper writes flat, machine-generated XML whose data is all in attributes, so a full
 * XML parser (and a dependency) buys nothing here. Text content is not read.
 */

const ATTRIBUTE = /([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
const ENTITY = /&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function decodeXmlEntities(value: string): string {
  return value.replace(
    ENTITY,
    (_all, hex: string | undefined, dec: string | undefined, name: string | undefined) => {
      if (name !== undefined) return NAMED[name] ?? "";
      const code = Number.parseInt(hex ?? dec ?? "", hex !== undefined ? 16 : 10);
      return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : "";
    },
  );
}

/** The attributes of every start (or empty) tag `<name ...>` in `xml`, in document order. */
export function elementsNamed(xml: string, name: string): Map<string, string>[] {
  // Attribute values may contain '>', so a tag is matched attribute by attribute.
  const tag = new RegExp(`<${name}((?:\\s+[A-Za-z_][\\w:.-]*\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*/?>`, "g");
  const found: Map<string, string>[] = [];
  for (const match of xml.matchAll(tag)) {
    const attributes = new Map<string, string>();
    for (const a of (match[1] ?? "").matchAll(ATTRIBUTE)) {
      attributes.set(a[1]!, decodeXmlEntities(a[2] ?? a[3] ?? ""));
    }
    found.push(attributes);
  }
  return found;
}

/** The text between `<name ...>` and `</name>` for each such element (not nested in itself). */
export function elementBodies(xml: string, name: string): string[] {
  const body = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, "g");
  return [...xml.matchAll(body)].map((m) => m[1] ?? "");
}
