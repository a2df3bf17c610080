import { describe, expect, it } from "vitest";
import {
  comparatorFor,
  compareVersions,
  isValidVersion,
  isVersionEcosystem,
  VERSION_ECOSYSTEMS,
  type VersionEcosystem,
  VersionSyntaxError,
} from "./index.js";

describe("version comparison entry points", () => {
  it("knows exactly the documented ecosystems", () => {
    expect([...VERSION_ECOSYSTEMS].sort()).toEqual(
      [
        "apk",
        "cargo",
        "dpkg",
        "go",
        "macos",
        "maven",
        "npm",
        "nuget",
        "pep440",
        "pypi",
        "rpm",
        "semver",
        "windows",
        "windows-kb",
      ].sort(),
    );
    expect(isVersionEcosystem("debian")).toBe(false);
    expect(isVersionEcosystem("toString")).toBe(false);
  });

  it("resolves one comparator per ecosystem, named after it", () => {
    for (const ecosystem of VERSION_ECOSYSTEMS) {
      const comparator = comparatorFor(ecosystem);
      expect(comparator.ecosystem).toBe(ecosystem);
      expect(comparatorFor(ecosystem)).toBe(comparator);
    }
  });

  it("maps npm, go and cargo to SemVer and pypi to PEP 440", () => {
    expect(compareVersions("npm", "1.0.0-rc.1", "1.0.0")).toBe(-1);
    expect(compareVersions("go", "v1.2", "1.2.0")).toBe(0);
    expect(compareVersions("cargo", "1.10.0", "1.9.0")).toBe(1);
    expect(compareVersions("pypi", "1.0rc1", "1.0")).toBe(-1);
  });

  it("throws a VersionSyntaxError carrying the ecosystem, the input and the reason", () => {
    try {
      compareVersions("pypi", "1.0", "not a version");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(VersionSyntaxError);
      expect(error).toMatchObject({ ecosystem: "pypi", version: "not a version" });
      expect(String(error)).toMatch(/^VersionSyntaxError: invalid pypi version "not a version": /);
    }
    for (const ecosystem of VERSION_ECOSYSTEMS) expect(isValidVersion(ecosystem, ""), ecosystem).toBe(false);
  });

  it("keeps answering correctly after the parse cache has been refilled many times", () => {
    for (let i = 0; i < 20_000; i++) {
      expect(compareVersions("dpkg", `1.${i}-1`, `1.${i + 1}-1`)).toBe(-1);
    }
  });

  it("compares prepared versions exactly as it compares strings, in every ecosystem", () => {
    const samples: Record<VersionEcosystem, string[]> = {
      dpkg: ["1:1.2-1", "1.2-1", "1.2~rc1-1", "1.2-1+deb12u1", "2.0"],
      rpm: ["1.2-1.el9", "1:1.0-1", "1.2~rc1-1", "1.2^20240101-1", "1.10-1"],
      apk: ["1.2.3-r0", "1.2.3-r1", "1.2.3_rc1-r0", "1.10-r0", "2.0_p1-r0"],
      semver: ["1.2.3", "1.2.3-alpha.1", "1.10.0", "2.0.0-rc.1", "0.9.9"],
      npm: ["1.2.3", "1.2.3-beta", "1.10.0", "v2.0.0", "0.0.1"],
      go: ["1.2.3", "1.2.3-rc.1", "1.10.0", "2.0.0", "0.1.0"],
      cargo: ["1.2.3", "1.2.3-rc.1", "1.10.0", "2.0.0", "0.1.0"],
      pep440: ["1.2", "1.2.post1", "1.2rc1", "1!0.1", "1.10"],
      pypi: ["1.2", "1.2.post1", "1.2rc1", "1!0.1", "1.10"],
      maven: ["1.2", "1.2-SNAPSHOT", "1.2.1", "1.10", "1.2-beta-1"],
      nuget: ["1.2.3", "1.2.3-beta", "1.10.0", "2.0.0.1", "1.2"],
      windows: ["10.0.22631.3007", "10.0.22631.2861", "10.0.19045.3930", "6.3.9600.1", "10.0.22631.10000"],
      "windows-kb": ["KB5034123", "KB5034441", "KB890830", "5035853", "KB5001716"],
      macos: ["14.4.1", "14.4", "13.6.5", "14.10", "10.15.7"],
    };
    for (const ecosystem of VERSION_ECOSYSTEMS) {
      const comparator = comparatorFor(ecosystem);
      const versions = samples[ecosystem];
      for (const a of versions) {
        for (const b of versions) {
          expect(
            comparator.comparePrepared(comparator.prepare(a), comparator.prepare(b)),
            `${ecosystem} ${a} ${b}`,
          ).toBe(comparator.compare(a, b));
        }
      }
      expect(() => comparator.prepare("")).toThrow(VersionSyntaxError);
    }
  });
});
