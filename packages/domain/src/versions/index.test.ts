import { describe, expect, it } from "vitest";
import {
  comparatorFor,
  compareVersions,
  isValidVersion,
  isVersionEcosystem,
  VERSION_ECOSYSTEMS,
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
});
