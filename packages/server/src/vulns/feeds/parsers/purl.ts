/**
 * Package URLs (https://github.com/package-url/purl-spec): `pkg:type/namespace/name@version?k=v#sub`.
 * Only what the CSAF mapping needs: type, namespace, name, version and qualifiers, percent-decoded.
 */

export interface PackageUrl {
  type: string;
  namespace: string | null;
  name: string;
  version: string | null;
  qualifiers: ReadonlyMap<string, string>;
}

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export function parsePurl(text: string): PackageUrl | null {
  const value = text.trim();
  if (!value.startsWith("pkg:")) return null;
  let rest = value.slice(4).replace(/^\/+/, "");
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const qualifiers = new Map<string, string>();
  const question = rest.indexOf("?");
  if (question >= 0) {
    for (const pair of rest.slice(question + 1).split("&")) {
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const v = decode(pair.slice(eq + 1));
      if (v !== null) qualifiers.set(pair.slice(0, eq).toLowerCase(), v);
    }
    rest = rest.slice(0, question);
  }
  let version: string | null = null;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    version = decode(rest.slice(at + 1));
    if (version === null) return null;
    rest = rest.slice(0, at);
  }
  const segments = rest.split("/").filter((s) => s !== "");
  const type = segments.shift()?.toLowerCase();
  const rawName = segments.pop();
  if (type === undefined || rawName === undefined || !/^[a-z][a-z0-9.+-]*$/.test(type)) return null;
  const name = decode(rawName);
  const namespaceParts = segments.map(decode);
  if (name === null || name === "" || namespaceParts.some((p) => p === null)) return null;
  const namespace = namespaceParts.length === 0 ? null : namespaceParts.join("/");
  return { type, namespace, name, version: version === "" ? null : version, qualifiers };
}
