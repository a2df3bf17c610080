/**
 * The published comparison fixtures of google/osv-scanner (testdata/osv-scanner, see
 * testdata/SOURCES.md), read the way osv-scanner's own test reads them: `a <op> b` per line, blank
 * lines and lines starting "# " or "// " skipped, each pair checked both ways round.
 *
 * A few lines use strings the ecosystem's real tool refuses; those are listed per file with the
 * reason, and the test asserts that we refuse them (and that every listed line still exists).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareVersions, type VersionEcosystem, VersionSyntaxError } from "./index.js";

const FIXTURES = new URL("./testdata/osv-scanner/", import.meta.url);
const EXPECTED = { "<": -1, "=": 0, ">": 1 } as const;

interface Vector {
  line: number;
  text: string;
  a: string;
  b: string;
  expected: -1 | 0 | 1;
}

function readVectors(file: string): Vector[] {
  const vectors: Vector[] = [];
  readFileSync(new URL(file, FIXTURES), "utf8")
    .split("\n")
    .forEach((text, index) => {
      if (text === "" || text.startsWith("# ") || text.startsWith("// ")) return;
      const [a, op, b, ...rest] = text.split(" ");
      if (
        a === undefined ||
        b === undefined ||
        rest.length > 0 ||
        !(op === "<" || op === "=" || op === ">")
      ) {
        throw new Error(`${file}:${index + 1}: not "a <op> b": ${text}`);
      }
      vectors.push({ line: index + 1, text, a, b, expected: EXPECTED[op] });
    });
  return vectors;
}

/** Runs every vector; returns one line per disagreement so a failure shows all of them at once. */
function disagreements(ecosystem: VersionEcosystem, file: string, refused: Readonly<Record<string, string>>) {
  const problems: string[] = [];
  const seen = new Set<string>();
  const vectors = readVectors(file);
  for (const { line, text, a, b, expected } of vectors) {
    const where = `${file}:${line} ${text}`;
    if (text in refused) {
      seen.add(text);
      const accepted = [a, b].filter((v) => {
        try {
          compareVersions(ecosystem, v, v);
          return true;
        } catch (error) {
          if (error instanceof VersionSyntaxError && error.ecosystem === ecosystem) return false;
          throw error;
        }
      });
      if (accepted.length === 2) problems.push(`${where}: expected a refusal (${refused[text]})`);
      continue;
    }
    try {
      const forward = compareVersions(ecosystem, a, b);
      const backward = compareVersions(ecosystem, b, a);
      if (forward !== expected || backward !== -expected) {
        problems.push(`${where}: got ${forward} (and ${backward} reversed)`);
      }
    } catch (error) {
      problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  for (const text of Object.keys(refused)) {
    if (!seen.has(text)) problems.push(`${file}: listed refusal not found: ${text}`);
  }
  return { count: vectors.length, problems };
}

function expectAgreement(
  ecosystem: VersionEcosystem,
  file: string,
  refused: Readonly<Record<string, string>> = {},
) {
  const { count, problems } = disagreements(ecosystem, file, refused);
  expect(
    problems,
    `${problems.length} of ${count} vectors in ${file} disagree:\n${problems.join("\n")}`,
  ).toEqual([]);
  expect(count).toBeGreaterThan(0);
}

describe("osv-scanner fixtures", () => {
  it("debian: 30 hand-written and 14,442 dpkg-generated comparisons", () => {
    expectAgreement("dpkg", "debian-versions.txt");
    expectAgreement("dpkg", "debian-versions-generated.txt");
  });

  it("redhat: 153 EVR comparisons agree with rpm", () => {
    expectAgreement("rpm", "redhat-versions.txt");
  });

  it("alpine: apk-tools' version.data, the extra edge cases, and 13,979 apk-generated comparisons", () => {
    // apk-tools' validator (`apk version -c`, enforced by abuild) refuses every string on these
    // lines. The file records what `apk version -t` printed for them, and its own comments note
    // that apk-tools 2.10, 2.12+ and 3 print different answers; a vulnerability matcher should not
    // pick one of those guesses, so we refuse the string instead.
    const malformed = "malformed for apk-tools";
    const refused: Record<string, string> = {
      "1-r-0 < 1-r0": `${malformed}: '-r' followed by '-'`,
      "1-r-1 < 1-r0": `${malformed}: '-r' followed by '-'`,
      "1.2.0A < 1.2.0d": `${malformed}: uppercase letter`,
      "1.2.0D < 1.2.0d": `${malformed}: uppercase letter`,
      "1-r2 > 1-r-1": `${malformed}: '-r' followed by '-'`,
      "1 > 1-ruff": `${malformed}: letters after '-r'`,
      "1-r0-1 = 1-r-2": `${malformed}: a second '-'`,
      "1-r0-1 = 1-r0-2": `${malformed}: a second '-'`,
      "1-ruff2 = 1-ruff1": `${malformed}: letters after '-r'`,
      "1-ruff2 = 1--ruff1": `${malformed}: letters after '-r'`,
      "1-r0-ruff2 = 1-r0-ruff1": `${malformed}: a second '-'`,
      "1.2 > 1.2_blah": `${malformed}: unknown suffix _blah`,
      "1.2_svn1 > 1.2_csv2": `${malformed}: unknown suffix _csv`,
      "1.2_cvs1 > 1.2_blah": `${malformed}: unknown suffix _blah`,
      ".1 < 1": `${malformed}: does not start with a digit`,
      "1 > .1": `${malformed}: does not start with a digit`,
      ".2 > .1": `${malformed}: does not start with a digit`,
      "a < b": `${malformed}: does not start with a digit`,
      "c > b": `${malformed}: does not start with a digit`,
      "c = c": `${malformed}: does not start with a digit`,
      "23_foo > 4_beta": `${malformed}: unknown suffix _foo (the file says "this might be invalid")`,
      "1.0 < 1.0bc": `${malformed}: two letters (the file says "invalid")`,
    };
    expectAgreement("apk", "alpine-versions.txt", refused);
    expectAgreement("apk", "alpine-versions-generated.txt");
  });

  it("semver: all but one line hold under Go's rules (v prefix, v1 = v1.0.0, numbers beyond 2^53)", () => {
    // osv-scanner's lenient comparator reads extra components as build metadata; SemVer, Go,
    // node-semver and Cargo all refuse "1.1.3.4.5".
    expectAgreement("go", "semver-versions.txt", { "1.1.3.4.5 = 1.1.3.4.5": "five components" });
  });

  it("pypi: PEP 440 comparisons; legacy versions are refused as pip >= 24.1 refuses them", () => {
    // The file itself says these are legacy versions kept "because the generated fixtures may not
    // include them in future if run with a version of packaging that no longer supports them".
    const legacy = "legacy (non-PEP 440) version";
    const refused: Record<string, string> = {};
    for (const text of [
      "0.1-bulbasaur < 0.1-charmander",
      "0.1-charmander < 0.9-doduo",
      "0.9-doduo < 0.9-eevee",
      "0.9-eevee < 0.9-fearow",
      "0.9-fearow < 0.9-gyarados",
      "0.9-gyarados < 0.9-horsea",
      "0.9-horsea < 0.9-ivysaur",
      "0.9-ivysaur < 1.0",
      "-class.-jw.util.version.version-pre < 1.0",
      "-class.-jw.util.version.version-preview < 1.0",
      "-class.-jw.util.version.version-dev < 1.0",
    ]) {
      refused[text] = legacy;
    }
    expectAgreement("pypi", "pypi-versions.txt", refused);
  });

  it("maven: ComparableVersion ordering, except one line where Maven itself disagrees with the file", () => {
    const { problems } = disagreements("maven", "maven-versions.txt", {});
    // The file follows the version-order prose in Maven's POM reference, which trims "ga" before
    // every hyphen. Maven's ComparableVersion (3.8 and 3.9) does not: it orders 1-ga-1 before
    // 1-1, and so do we. Checked with Debian's maven-artifact 3.8.7 on this file and 20,000
    // generated pairs (zero disagreements besides this line).
    expect(problems).toEqual(["maven-versions.txt:100 1-1 = 1-ga-1: got 1 (and -1 reversed)"]);
  });

  it("nuget: NuGetVersion ordering; parts beyond Int32 are refused as NuGet refuses them", () => {
    const tooBig = "version part exceeds 2147483647 (System.Version uses Int32)";
    expectAgreement("nuget", "nuget-versions.txt", {
      "999999999999999999999999999991 < 999999999999999999999999999999": tooBig,
      "999999999999999999999999999991.999999999999999999999999999991.999999999999999999999999999991 < 999999999999999999999999999999.999999999999999999999999999991.999999999999999999999999999991":
        tooBig,
    });
  });
});
