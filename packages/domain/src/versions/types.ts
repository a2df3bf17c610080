/**
 * The version schemes PatchPilot compares. Aliases share rules: npm, go and cargo are flavours of
 * SemVer (each with its own tool's parsing limits), and pypi is PEP 440.
 */
export type VersionEcosystem =
  | "dpkg"
  | "rpm"
  | "apk"
  | "semver"
  | "npm"
  | "go"
  | "cargo"
  | "pep440"
  | "pypi"
  | "maven"
  | "nuget"
  | "windows"
  | "windows-kb"
  | "macos";

/** The result of a comparison: a < b, a = b, a > b. */
export type Ordering = -1 | 0 | 1;

/** One ecosystem's rules, resolved once so a hot loop does not switch on the ecosystem per call. */
export interface VersionComparator {
  readonly ecosystem: VersionEcosystem;
  /** Throws VersionSyntaxError when either side is not a version this ecosystem's tool accepts. */
  compare(a: string, b: string): Ordering;
  isValid(version: string): boolean;
  /** Throws VersionSyntaxError naming the ecosystem and why the string is refused. */
  assertValid(version: string): void;
  /**
   * The version parsed once, for a loop that compares it many times (throws VersionSyntaxError
   * like compare). What it returns is only for this comparator's comparePrepared.
   */
  prepare(version: string): PreparedVersion;
  comparePrepared(a: PreparedVersion, b: PreparedVersion): Ordering;
}

/** A version as one comparator parsed it; opaque to everyone else. */
export type PreparedVersion = unknown;

export function sign(n: number): Ordering {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}
