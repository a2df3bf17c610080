import { describe, expect, it } from "vitest";
import { compareVersions, isValidVersion } from "./index.js";

describe("NuGet versions", () => {
  it("compares four numeric parts, a missing part being 0", () => {
    expect(compareVersions("nuget", "1.0", "1.0.0.0")).toBe(0);
    expect(compareVersions("nuget", "1.0.0.1", "1.0.0")).toBe(1);
    expect(compareVersions("nuget", "1.0.01", "1.0.1")).toBe(0);
  });

  it("compares pre-release labels case-insensitively, numbers before text, ignoring metadata", () => {
    expect(compareVersions("nuget", "1.0.0-BETA", "1.0.0-beta")).toBe(0);
    expect(compareVersions("nuget", "1.0.0-beta.2", "1.0.0-beta.10")).toBe(-1);
    expect(compareVersions("nuget", "1.0.0-1", "1.0.0-a")).toBe(-1);
    expect(compareVersions("nuget", "1.0.0-beta", "1.0.0")).toBe(-1);
    expect(compareVersions("nuget", "1.0.0+a", "1.0.0+b")).toBe(0);
  });

  it("refuses what NuGetVersion.TryParse refuses", () => {
    for (const version of ["", "1.2.3.4.5", "1.0-", "1.0+", "1.0.0-01", "1.0.0-a_b", "2147483648.0", "a.b"]) {
      expect(isValidVersion("nuget", version), version).toBe(false);
    }
    expect(isValidVersion("nuget", " 1.0.0-rc.1+build.007 ")).toBe(true);
  });
});
