/**
 * CPE names: the 2.3 formatted string (`cpe:2.3:a:vendor:product:version:…`, NISTIR 7695 §6.2)
 * with its backslash quoting, and the older 2.2 URI (`cpe:/a:vendor:product:version`) that CSAF
 * and Red Hat still use, with its percent-encoding.
 */

export interface CpeName {
  part: "a" | "o" | "h";
  vendor: string;
  product: string;
  /** Null when the CPE says any (`*`, or empty in a URI) or not applicable (`-`). */
  version: string | null;
  /** The fields after version (update, edition, …), unquoted; absent ones are "". */
  rest: string[];
}

/** Splits on colons that are not quoted with a backslash, and removes the quoting. */
function splitFormatted(text: string): string[] | null {
  const fields: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") {
      const next = text[i + 1];
      if (next === undefined) return null;
      current += next;
      i++;
    } else if (c === ":") {
      fields.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  fields.push(current);
  return fields;
}

function isPart(value: string | undefined): value is CpeName["part"] {
  return value === "a" || value === "o" || value === "h";
}

function versionOrNull(value: string): string | null {
  return value === "*" || value === "-" || value === "" ? null : value;
}

/** A CPE 2.3 formatted string or 2.2 URI, or null when `text` is neither. */
export function parseCpe(text: string): CpeName | null {
  const value = text.trim();
  if (value.startsWith("cpe:2.3:")) {
    const fields = splitFormatted(value.slice("cpe:2.3:".length));
    if (fields === null || fields.length !== 11) return null;
    const [part, vendor, product, version, ...rest] = fields;
    if (!isPart(part) || vendor === undefined || product === undefined || version === undefined) return null;
    if (vendor === "" || product === "" || vendor === "*" || product === "*") return null;
    return { part, vendor, product, version: versionOrNull(version), rest };
  }
  if (value.startsWith("cpe:/")) {
    const fields = value.slice("cpe:/".length).split(":");
    const [part, vendor, product, version = "", ...rest] = fields;
    if (!isPart(part) || vendor === undefined || product === undefined || vendor === "" || product === "")
      return null;
    try {
      return {
        part,
        vendor: decodeURIComponent(vendor),
        product: decodeURIComponent(product),
        version: versionOrNull(decodeURIComponent(version)),
        rest: rest.map((field) => decodeURIComponent(field)),
      };
    } catch {
      return null; // malformed percent-encoding
    }
  }
  return null;
}
