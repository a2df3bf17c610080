import { describe, expect, it } from "vitest";
import { compareVersions, isValidVersion } from "./index.js";

describe("windows build numbers", () => {
  it("compare numerically part by part, missing parts are 0", () => {
    expect(compareVersions("windows", "10.0.22631.3296", "10.0.22631.3155")).toBe(1);
    expect(compareVersions("windows", "10.0.22631.999", "10.0.22631.3296")).toBe(-1);
    expect(compareVersions("windows", "10.0", "10.0.0.0")).toBe(0);
    expect(isValidVersion("windows", "23H2")).toBe(false);
    expect(isValidVersion("windows", "10..0")).toBe(false);
  });
});

describe("windows KB numbers", () => {
  it("compare by number, with or without the KB prefix", () => {
    expect(compareVersions("windows-kb", "KB5034441", "KB5034122")).toBe(1);
    expect(compareVersions("windows-kb", "kb999999", "5034441")).toBe(-1);
    expect(compareVersions("windows-kb", "KB5034441", "5034441")).toBe(0);
    expect(isValidVersion("windows-kb", "KB")).toBe(false);
    expect(isValidVersion("windows-kb", "Q123456")).toBe(false);
  });
});

describe("macOS versions", () => {
  it("compare numbers, then pre-release tags, then rapid security responses", () => {
    const ascending = [
      "14.4",
      "14.4.1b1",
      "14.4.1-beta.2",
      "14.4.1rc1",
      "14.4.1",
      "14.4.1 (a)",
      "14.4.1 (c)",
      "14.5",
    ];
    for (let i = 1; i < ascending.length; i++) {
      expect(compareVersions("macos", ascending[i - 1] ?? "", ascending[i] ?? "")).toBe(-1);
    }
    expect(compareVersions("macos", "123.0.6312.86", "123.0.6312.105")).toBe(-1);
    expect(compareVersions("macos", "14.4", "14.4.0")).toBe(0);
  });

  it("refuses build numbers and free text rather than guessing", () => {
    for (const version of ["23E224", "14.4.1 (23E224)", "Version 14", "", "14.4.1-hotfix"]) {
      expect(isValidVersion("macos", version), version).toBe(false);
    }
  });
});
