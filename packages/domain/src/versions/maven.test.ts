import { describe, expect, it } from "vitest";
import { compareVersions, isValidVersion } from "./index.js";

// Expectations below were checked with Debian's maven-artifact 3.8.7 (ComparableVersion).
describe("Maven ComparableVersion ordering", () => {
  it("orders qualifiers alpha < beta < milestone < rc < snapshot < release < sp < unknown", () => {
    const ascending = [
      "1.0-alpha-1",
      "1.0-beta-1",
      "1.0-milestone-1",
      "1.0-rc-1",
      "1.0-SNAPSHOT",
      "1.0",
      "1.0-sp-1",
      "1.0-abc",
      "1.0-xyz",
      "1.0-1",
      "1.0.1",
    ];
    for (let i = 1; i < ascending.length; i++) {
      expect(compareVersions("maven", ascending[i - 1] ?? "", ascending[i] ?? "")).toBe(-1);
    }
  });

  it("treats aliases and trailing nulls as equal", () => {
    for (const [a, b] of [
      ["1", "1.0.0"],
      ["1-ga", "1"],
      ["1.final", "1"],
      ["1-RELEASE", "1"],
      ["1cr1", "1-rc-1"],
      ["1a1", "1-alpha-1"],
      ["1.0.0-foo.0.0", "1-foo"],
    ]) {
      expect(compareVersions("maven", a ?? "", b ?? ""), `${a} = ${b}`).toBe(0);
    }
  });

  it("follows Maven where its prose documentation says otherwise", () => {
    expect(compareVersions("maven", "1-ga-1", "1-1")).toBe(-1);
    expect(compareVersions("maven", "1.0.0.RC2", "1.0.0-RC3")).toBe(-1);
    expect(compareVersions("maven", "1.00000000000000000000000000000000000000000000000001", "1.1")).toBe(0);
  });

  it("refuses the empty string and non-printable or non-ASCII text", () => {
    expect(isValidVersion("maven", "")).toBe(false);
    expect(isValidVersion("maven", "1.0 beta")).toBe(false);
    expect(isValidVersion("maven", "1.0-é")).toBe(false);
  });
});
