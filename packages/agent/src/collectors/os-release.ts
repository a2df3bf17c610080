import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** The fields of os-release(5) the agent uses; any may be missing. */
export interface OsRelease {
  id: string;
  idLike: string[];
  versionId: string;
  name: string;
  prettyName: string;
  version: string;
  versionCodename: string;
}

/**
 * Parses os-release(5): `KEY=value` lines where the value may be in double or single quotes and,
 * in double quotes, `\"`, `\\`, `\$` and `` \` `` are escapes (the file is shell-compatible but is
 * never given to a shell here).
 */
export function parseOsReleaseFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!match) continue;
    fields.set(match[1]!, unquote(match[2]!));
  }
  return fields;
}

function unquote(value: string): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    return value.slice(1, -1).replace(/\\(["\\$`])/g, "$1");
  }
  return value;
}

export function parseOsRelease(text: string): OsRelease {
  const f = parseOsReleaseFields(text);
  const get = (key: string) => f.get(key) ?? "";
  return {
    // os-release says ID defaults to "linux" when absent.
    id: get("ID") || "linux",
    idLike: get("ID_LIKE")
      .split(/\s+/)
      .filter((s) => s !== ""),
    versionId: get("VERSION_ID"),
    name: get("NAME") || get("PRETTY_NAME") || "Linux",
    prettyName: get("PRETTY_NAME"),
    version: get("VERSION"),
    versionCodename: get("VERSION_CODENAME"),
  };
}

/** /etc/os-release, else /usr/lib/os-release (the fallback os-release(5) names); null when neither exists. */
export async function readOsRelease(root: string): Promise<OsRelease | null> {
  for (const path of ["etc/os-release", "usr/lib/os-release"]) {
    const text = await readOptionalFile(join(root, path));
    if (text !== null) return parseOsRelease(text);
  }
  return null;
}

/** The file's text, or null when it does not exist; other errors (permission, I/O) are thrown. */
export async function readOptionalFile(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (isMissingFile(error)) return null;
    throw error;
  }
}

export function isMissingFile(error: unknown): boolean {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Which package manager's naming (architecture names, version format) the distribution uses. */
export type DistroFamily = "dpkg" | "rpm" | "apk" | "unknown";

export function distroFamily(os: OsRelease): DistroFamily {
  const ids = [os.id, ...os.idLike];
  if (ids.some((id) => id === "debian" || id === "ubuntu")) return "dpkg";
  if (ids.includes("alpine")) return "apk";
  if (ids.some((id) => RPM_IDS.has(id) || id.startsWith("opensuse") || id.startsWith("sle"))) return "rpm";
  return "unknown";
}

const RPM_IDS = new Set([
  "rhel",
  "centos",
  "fedora",
  "rocky",
  "almalinux",
  "ol",
  "amzn",
  "suse",
  "sles",
  "sled",
]);
/** Red Hat rebuilds publish advisories per major release only. */
const MAJOR_ONLY = new Set(["rhel", "centos", "rocky", "almalinux", "ol"]);

/**
 * The release advisories are published for: `debian:12`, `ubuntu:22.04`, `alpine:3.19` (major.minor),
 * `rhel:9` / `rocky:9` / `almalinux:9` / `centos:7` (major), `sles:15.5`, `opensuse-leap:15.5`,
 * `amzn:2023`; other distributions use their VERSION_ID as is. Null when os-release gives no version
 * (a rolling release such as Arch), because inventory entries must name a release.
 */
export function distroRelease(os: OsRelease): string | null {
  const id = os.id.toLowerCase();
  let version = os.versionId;
  if (MAJOR_ONLY.has(id)) version = /^\d+/.exec(version)?.[0] ?? "";
  else if (id === "alpine") version = /^\d+\.\d+/.exec(version)?.[0] ?? "";
  // Debian testing and unstable have no VERSION_ID; their codename is what the tracker uses.
  if (version === "" && id === "debian") version = os.versionCodename;
  const release = `${id}:${version}`;
  return version !== "" && RELEASE_PATTERN.test(release) ? release : null;
}

/** The protocol's Release pattern; a release that does not match would make the server refuse the inventory. */
export const RELEASE_PATTERN = /^[a-z][a-z0-9._-]*:[A-Za-z0-9._~+-]+$/;
