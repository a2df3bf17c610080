import { describe, expect, it } from "vitest";
import { compareVersions, isValidVersion } from "./index.js";
import { parsePep440Version } from "./pep440.js";

describe("PEP 440 versions", () => {
  it("orders the PEP's own summary sequence", () => {
    const ascending = [
      "1.0.dev456",
      "1.0a1",
      "1.0a2.dev456",
      "1.0a12.dev456",
      "1.0a12",
      "1.0b1.dev456",
      "1.0b2",
      "1.0b2.post345.dev456",
      "1.0b2.post345",
      "1.0rc1.dev456",
      "1.0rc1",
      "1.0",
      "1.0+abc.5",
      "1.0+abc.7",
      "1.0+5",
      "1.0.post456.dev34",
      "1.0.post456",
      "1.0.15",
      "1.1.dev1",
    ];
    for (let i = 1; i < ascending.length; i++) {
      expect(compareVersions("pypi", ascending[i - 1] ?? "", ascending[i] ?? "")).toBe(-1);
    }
  });

  it("normalises spellings as packaging does", () => {
    expect(parsePep440Version(" v1.0-ALPHA.1_post-2.DEV3+Ubuntu-1 ")).toEqual({
      epoch: "0",
      release: ["1"],
      pre: { phase: 0, number: "1" },
      post: "2",
      dev: "3",
      local: ["ubuntu", "1"],
    });
    expect(compareVersions("pep440", "1.0.0", "1")).toBe(0);
    expect(compareVersions("pep440", "1.0-1", "1.0.post1")).toBe(0);
    expect(compareVersions("pep440", "2!1.0", "1!9.0")).toBe(1);
    expect(compareVersions("pep440", "1.0c1", "1.0rc1")).toBe(0);
  });

  it("refuses legacy versions", () => {
    expect(isValidVersion("pypi", "0.1-bulbasaur")).toBe(false);
    expect(isValidVersion("pypi", "1.0+")).toBe(false);
    expect(isValidVersion("pypi", "")).toBe(false);
  });
});
