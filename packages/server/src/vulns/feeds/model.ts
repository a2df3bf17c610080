/**
 * The normalised shape every advisory feed is parsed into before it is stored. One advisory is one
 * source's record (a CVE in the Debian tracker, an OSV record, a DSA, an RHSA, an NVD CVE, a CSAF
 * document's vulnerability); `aliases` tie records of different sources to one vulnerability, so a
 * CVE is one thing whichever feed named it.
 */

/** Where a record came from. */
export type FeedSource =
  | "osv"
  | "debian-tracker"
  | "alpine-secdb"
  | "nvd"
  | "kev"
  | "epss"
  | "csaf"
  | "cvrf"
  | "trivy-fixture";

/** Version order an affected range is written in (the domain package's comparators). */
export type RangeEcosystem =
  | "dpkg"
  | "rpm"
  | "apk"
  | "npm"
  | "pypi"
  | "maven"
  | "go"
  | "cargo"
  | "nuget"
  | "windows"
  | "windows-kb"
  | "macos";

/** What the source says about this package in this release. */
export type RangeStatus =
  | "affected"
  | "fixed"
  | "not_affected"
  | "will_not_fix"
  | "fix_deferred"
  | "end_of_life"
  | "under_investigation";

export type Severity = "critical" | "high" | "medium" | "low" | "negligible" | "unknown";

export interface CvssScore {
  score: number;
  vector: string;
}

export interface AffectedRange {
  ecosystem: RangeEcosystem;
  /**
   * The distribution release the range is for, in the agent's spelling: `debian:12`,
   * `ubuntu:22.04`, `alpine:3.19`, `rhel:9`, `rocky:9`, `almalinux:9`, `sles:15.5`; null for
   * language ecosystems (npm, PyPI, …), which are the same everywhere.
   */
  release: string | null;
  /** The package the source names: the source package for Debian, Ubuntu and Alpine. */
  packageName: string;
  /** Whether `packageName` is a source package (dpkg Source:, apk origin) or a binary one. */
  packageScope: "source" | "binary";
  /** First affected version; null = every version before `fixed`. */
  introduced: string | null;
  /** First fixed version; null = no fix yet. */
  fixed: string | null;
  /** Last affected version, when the source gives that instead of a fix. */
  lastAffected: string | null;
  /** Individual affected versions the source lists (OSV `versions`), in addition to the range. */
  versions: string[];
  status: RangeStatus;
  /** The vendor advisory that carries this range (DSA-5555-1, RHSA-2024:1234, KB5034441). */
  advisoryId: string | null;
  /** The vendor's severity for this package, where it differs from the vulnerability's. */
  vendorSeverity: Severity | null;
  /** Windows: the KB updates this fix replaces (supersedence). */
  supersedes: string[];
}

export interface NormalizedAdvisory {
  source: FeedSource;
  /** The record's own id: CVE-2024-1234, GHSA-…, GO-2023-1989, DSA-5555-1, RHSA-2024:1234. */
  id: string;
  /** Other ids of the same vulnerability, CVE ids above all (without `id` itself). */
  aliases: string[];
  publishedAt: string | null;
  modifiedAt: string | null;
  /** Withdrawn records are removed from the knowledge base rather than kept. */
  withdrawn: boolean;
  summary: string | null;
  description: string | null;
  cvssV3: CvssScore | null;
  cvssV4: CvssScore | null;
  /** The source's own rating when it gives one (Debian urgency, Red Hat impact, NVD baseSeverity). */
  severity: Severity | null;
  cwes: string[];
  references: string[];
  affected: AffectedRange[];
  /**
   * NVD: CPE configurations, for third-party Windows and macOS software matched by vendor and
   * product name rather than by package manager.
   */
  cpeMatches: CpeMatch[];
}

export interface CpeMatch {
  /** `cpe:2.3:a:vendor:product:…` as given. */
  criteria: string;
  vendor: string;
  product: string;
  /** Exact version from the CPE string, or null when the range fields below apply (`*`). */
  version: string | null;
  versionStartIncluding: string | null;
  versionStartExcluding: string | null;
  versionEndIncluding: string | null;
  versionEndExcluding: string | null;
}

/** CISA Known Exploited Vulnerabilities catalogue entry. */
export interface KevEntry {
  cveId: string;
  vendorProject: string;
  product: string;
  name: string;
  dateAdded: string;
  dueDate: string | null;
  knownRansomware: boolean;
  notes: string;
}

/** FIRST EPSS: probability of exploitation in the next 30 days, and its percentile. */
export interface EpssScore {
  cveId: string;
  epss: number;
  percentile: number;
  /** The score date from the file's header line. */
  date: string;
}

/** A record that could not be used, and why (counted and logged, never fatal). */
export interface SkippedRecord {
  /** The record's id when it could be read, or its position (`#12`). */
  record: string;
  reason: string;
}

export interface ParseResult<T> {
  records: T[];
  skipped: SkippedRecord[];
}
