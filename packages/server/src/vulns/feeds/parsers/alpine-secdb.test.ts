import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAlpineSecdb, parseAlpineSecdbFiles } from "./alpine-secdb.js";
import { FeedFormatError } from "./errors.js";

const TESTDATA = new URL("./testdata/vunnel/alpine/", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, TESTDATA), "utf8");

/** The fields of vunnel's OS schema the comparison reads. */
interface VunnelOsRecord {
  item: {
    Vulnerability: {
      Name: string;
      Link: string;
      FixedIn: { Name: string; NamespaceName: string; Version: string; VersionFormat: string }[];
    };
  };
}

function secdb(release: string, packages: string): string {
  return `distroversion: ${release}\nreponame: main\npackages:\n${packages}`;
}

describe("parseAlpineSecdbFiles against vunnel's snapshots (v3.15 main + community)", () => {
  const { records, skipped } = parseAlpineSecdbFiles([
    read("input/secdb/v3.15/main.yaml"),
    read("input/secdb/v3.15/community.yaml"),
  ]);
  const files = readdirSync(new URL("snapshots/3.15/", TESTDATA));

  it("gives one advisory for each of the 16 CVEs vunnel writes, and nothing else", () => {
    expect(skipped).toEqual([]);
    expect(files).toHaveLength(16);
    expect(records.map((r) => r.id.toLowerCase()).sort()).toEqual(
      files.map((f) => f.replace(/\.json$/, "")).sort(),
    );
  });

  it.each(files)("%s", (file) => {
    const snapshot: VunnelOsRecord = JSON.parse(read(`snapshots/3.15/${file}`));
    const v = snapshot.item.Vulnerability;
    const advisory = records.find((r) => r.id === v.Name);
    const [fixedIn] = v.FixedIn;
    expect(v.FixedIn).toHaveLength(1);
    expect(advisory?.affected).toEqual([
      {
        ecosystem: fixedIn?.VersionFormat,
        release: fixedIn?.NamespaceName,
        packageName: fixedIn?.Name,
        packageScope: "source",
        introduced: null,
        fixed: fixedIn?.Version,
        lastAffected: null,
        versions: [],
        status: "fixed",
        advisoryId: null,
        vendorSeverity: null,
        supersedes: [],
      },
    ]);
    // vunnel's Severity "Unknown" and empty Description: secdb carries neither, so ours are null.
    expect(advisory).toMatchObject({ source: "alpine-secdb", severity: null, description: null });
    expect(advisory?.references).toEqual([v.Link]);
  });
});

describe("parseAlpineSecdb edge cases", () => {
  it("reads version 0 as never affected, keeps versions as text, and gives non-CVE ids as aliases", () => {
    const { records, skipped } = parseAlpineSecdb(
      secdb(
        "v3.19",
        `- pkg:
    name: xen
    secfixes:
      '0':
        - CVE-2020-0001
      1.10-r0:
        - CVE-2018-1083 XSA-123
      4.17.2-r0:
        - XSA-999
      x1:
        - CVE-2020-0002
`,
      ),
    );
    expect(records.map((r) => [r.id, r.aliases, r.affected[0]?.status, r.affected[0]?.fixed])).toEqual([
      ["CVE-2020-0001", [], "not_affected", null],
      ["CVE-2018-1083", ["XSA-123"], "fixed", "1.10-r0"],
    ]);
    expect(skipped).toEqual([
      { record: "xen 4.17.2-r0 XSA-999", reason: "no CVE id on this line" },
      { record: "xen x1", reason: "version x1 is not a valid apk version" },
    ]);
  });

  it("merges one CVE across releases into one advisory", () => {
    const one = (release: string, version: string) =>
      secdb(release, `- pkg:\n    name: zlib\n    secfixes:\n      ${version}:\n        - CVE-2022-37434\n`);
    const { records } = parseAlpineSecdbFiles([one("v3.15", "1.2.12-r2"), one("v3.19", "1.2.12-r3")]);
    expect(records).toHaveLength(1);
    expect(records[0]?.affected.map((r) => [r.release, r.fixed])).toEqual([
      ["alpine:3.15", "1.2.12-r2"],
      ["alpine:3.19", "1.2.12-r3"],
    ]);
  });

  it("skips a malformed package entry and keeps the others", () => {
    const { records, skipped } = parseAlpineSecdb(
      secdb(
        "v3.18",
        "- pkg:\n    name: [not, a, name]\n- pkg:\n    name: musl\n    secfixes:\n      1.2.4-r2:\n        - CVE-2025-26519\n",
      ),
    );
    expect(records.map((r) => r.id)).toEqual(["CVE-2025-26519"]);
    expect(skipped).toEqual([
      { record: "alpine:3.18 packages[0]", reason: 'pkg.name ["not","a","name"] is not a package name' },
    ]);
  });

  it("refuses a file that is not secdb YAML", () => {
    expect(() => parseAlpineSecdb("packages: [unclosed")).toThrow(FeedFormatError);
    expect(() => parseAlpineSecdb("reponame: main\npackages: []\n")).toThrow(/distroversion/);
    expect(() => parseAlpineSecdb("distroversion: v3.19\n")).toThrow(/packages: expected a list/);
  });
});
