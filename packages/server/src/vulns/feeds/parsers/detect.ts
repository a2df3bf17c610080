/**
 * Which feed format a file is, from its name and its first few kilobytes, for an offline importer
 * given a directory of mixed files. The head may be cut anywhere, so it is matched by its leading
 * structure and a few format-specific keys, never parsed whole. Returns null when no format fits;
 * the parser for the answer still validates the whole file.
 */

export type FeedFormat =
  | "osv"
  | "nvd"
  | "debian-tracker"
  | "alpine-secdb"
  | "kev-json"
  | "kev-csv"
  | "epss-csv"
  | "csaf"
  | "cvrf"
  | "trivy-fixture";

const has = (text: string, pattern: RegExp): boolean => pattern.test(text);

function detectJson(head: string): FeedFormat | null {
  if (
    has(head, /"format"\s*:\s*"NVD_CVE"/) ||
    (has(head, /"resultsPerPage"\s*:/) && has(head, /"vulnerabilities"\s*:/))
  ) {
    return "nvd";
  }
  if (has(head, /"catalogVersion"\s*:/) && has(head, /"cveID"\s*:|"vulnerabilities"\s*:/)) return "kev-json";
  if (has(head, /"csaf_version"\s*:/)) return "csaf";
  // Debian tracker: the first key is a source package whose first key is a CVE or TEMP id.
  if (
    /^\{\s*"[a-z0-9][a-z0-9+.-]*"\s*:\s*\{\s*"(?:CVE-\d{4}-\d{4,}|TEMP-\d{7}-[0-9A-F]{6})"\s*:\s*\{/.test(
      head,
    )
  ) {
    return "debian-tracker";
  }
  // OSV: an id and a modified time, plus one of the record's own keys.
  if (
    has(head, /"id"\s*:\s*"[A-Za-z]/) &&
    has(head, /"modified"\s*:/) &&
    has(head, /"affected"\s*:|"schema_version"\s*:|"aliases"\s*:|"withdrawn"\s*:/)
  ) {
    return "osv";
  }
  return null;
}

export function detectFeedFormat(fileName: string, head: string): FeedFormat | null {
  const text = head.charCodeAt(0) === 0xfeff ? head.slice(1) : head;
  const start = text.trimStart();
  const name = fileName.toLowerCase();
  const firstLine = (start.split(/\r?\n/, 1)[0] ?? "").trim();

  if (start.startsWith("<")) return /<(?:\w+:)?cvrfdoc\b/.test(start) ? "cvrf" : null;
  if (start.startsWith("{") || start.startsWith("[")) return detectJson(start);
  if (firstLine.startsWith("#model_version") || firstLine.toLowerCase() === "cve,epss,percentile")
    return "epss-csv";
  if (firstLine.startsWith("cveID,vendorProject,product")) return "kev-csv";
  if (/^- bucket:/m.test(start)) return "trivy-fixture";
  if (/^distroversion:/m.test(start) || (/^packages:/m.test(start) && /^\s+secfixes:/m.test(start)))
    return "alpine-secdb";
  // A secdb file whose head shows only package entries still names itself main.yaml/community.yaml.
  if (/(?:^|\/)(?:main|community|testing)\.ya?ml$/.test(name) && /^\s*- pkg:/m.test(start))
    return "alpine-secdb";
  return null;
}
