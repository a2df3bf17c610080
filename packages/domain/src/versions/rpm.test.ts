import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { VersionSyntaxError } from "./errors.js";
import { compareRpmVersions, parseRpmEvr } from "./rpm.js";

/** RPMVERCMP(a, b, result) lines of rpm's tests/rpmvercmp.at; `dnl` lines are m4 comments. */
function rpmvercmpCases(commented: boolean): Array<[string, string, number]> {
  const text = readFileSync(new URL("./testdata/rpm/rpmvercmp.at", import.meta.url), "utf8");
  const pattern = commented ? /^dnl RPMVERCMP\((.*), (.*), (-?\d)\)$/ : /^RPMVERCMP\((.*), (.*), (-?\d)\)$/;
  return text
    .split("\n")
    .map((line) => pattern.exec(line))
    .filter((match) => match !== null)
    .map((match) => [match[1] ?? "", match[2] ?? "", Number(match[3])]);
}

describe("rpm tests/rpmvercmp.at", () => {
  it("agrees with all 69 active RPMVERCMP cases", () => {
    const cases = rpmvercmpCases(false);
    const problems = cases
      .filter(([a, b, expected]) => compareRpmVersions(a, b) !== expected)
      .map(([a, b, expected]) => `rpmvercmp(${a}, ${b}) = ${compareRpmVersions(a, b)}, expected ${expected}`);
    expect(problems).toEqual([]);
    expect(cases).toHaveLength(69);
  });

  it("keeps the oddities the file documents in its commented-out block (rpm 4.18 still has them)", () => {
    const oddities = rpmvercmpCases(true);
    expect(oddities).toHaveLength(12);
    for (const [a, b, expected] of oddities) expect(compareRpmVersions(a, b), `${a} vs ${b}`).toBe(expected);
  });
});

describe("rpm EVR handling", () => {
  it("splits epoch at the leading digits' colon and release at the last hyphen", () => {
    expect(parseRpmEvr("1:2.3-4.el9")).toEqual({ epoch: "1", version: "2.3", release: "4.el9" });
    expect(parseRpmEvr("2.3")).toEqual({ epoch: null, version: "2.3", release: null });
    expect(parseRpmEvr(":1")).toEqual({ epoch: "0", version: "1", release: null });
    expect(parseRpmEvr("a:1")).toEqual({ epoch: null, version: "a:1", release: null });
    expect(parseRpmEvr("1-2-3")).toEqual({ epoch: null, version: "1-2", release: "3" });
  });

  it("compares like rpm.vercmp: missing epoch is 0, a missing release sorts before any release", () => {
    expect(compareRpmVersions("0:1-1", "1-1")).toBe(0);
    expect(compareRpmVersions("013:5", "004:2")).toBe(1);
    expect(compareRpmVersions("1", "1-")).toBe(-1);
    expect(compareRpmVersions("1", "1-1")).toBe(-1);
    expect(compareRpmVersions("1:", "0:1")).toBe(1);
    expect(compareRpmVersions("1.0^", "1.0")).toBe(1);
    expect(compareRpmVersions("1.0~rc1", "1.0")).toBe(-1);
  });

  it("refuses only what rpm refuses: the empty string (and NUL, which cannot reach rpm)", () => {
    expect(() => compareRpmVersions("", "1")).toThrow(VersionSyntaxError);
    expect(() => parseRpmEvr("1\0")).toThrow(/NUL/);
    expect(compareRpmVersions("+", "_")).toBe(0);
  });
});
