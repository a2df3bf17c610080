import { describe, expect, it } from "vitest";
import { compareApkVersions, parseApkVersion } from "./apk.js";
import { VersionSyntaxError } from "./errors.js";

describe("apk versions", () => {
  it("orders suffixes alpha < beta < pre < rc < release < cvs < svn < git < hg < p", () => {
    const ascending = [
      "1.2_alpha",
      "1.2_beta",
      "1.2_pre",
      "1.2_rc",
      "1.2",
      "1.2_cvs",
      "1.2_svn",
      "1.2_git",
      "1.2_hg",
      "1.2_p",
    ];
    for (let i = 1; i < ascending.length; i++) {
      expect(compareApkVersions(ascending[i - 1] ?? "", ascending[i] ?? "")).toBe(-1);
    }
  });

  it("compares revisions, letters, and leading-zero components as apk-tools does", () => {
    expect(compareApkVersions("1.2.3-r9", "1.2.3-r10")).toBe(-1);
    expect(compareApkVersions("1.2.3", "1.2.3-r0")).toBe(-1);
    expect(compareApkVersions("1.2.3a", "1.2.3")).toBe(1);
    expect(compareApkVersions("1.2.3a", "1.2.4")).toBe(-1);
    // A leading zero makes the component a string: 1.02 < 1.1, but 1.010 > 1.01.
    expect(compareApkVersions("1.02", "1.1")).toBe(-1);
    expect(compareApkVersions("1.010", "1.01")).toBe(1);
    expect(compareApkVersions("1.0.0_pre20191002222144-r0", "1.0.0_pre20210530193627-r0")).toBe(-1);
  });

  it("accepts apk-tools 3's ~hash and the legacy readings real Alpine data carries", () => {
    expect(compareApkVersions("1.0~abc123-r0", "1.0~abc124-r0")).toBe(-1);
    expect(compareApkVersions("6.6.1p1-r0", "6.6.1p1-r1")).toBe(-1);
    expect(compareApkVersions("6.6.2p1", "6.6.2_p1")).toBe(1);
    expect(compareApkVersions("1-r", "1-r0")).toBe(0);
  });

  it("refuses what apk-tools' validator refuses, saying why", () => {
    const reason = (version: string): string => {
      try {
        parseApkVersion(version);
        return "accepted";
      } catch (error) {
        if (error instanceof VersionSyntaxError) return error.reason;
        throw error;
      }
    };
    expect(reason("")).toBe("version string is empty");
    expect(reason("a1")).toBe("must start with a digit");
    expect(reason("1.2_blah")).toMatch(/unknown suffix "_blah"/);
    expect(reason("1.2-r1-r2")).toMatch(/revision must be the last part/);
    expect(reason("1.2.0A")).toMatch(/unexpected character "A"/);
    expect(reason("1.0bc")).toMatch(/unexpected letter 'c'/);
    expect(reason("1.")).toMatch(/must be followed by digits/);
  });
});
