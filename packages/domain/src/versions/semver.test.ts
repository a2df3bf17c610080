import nodeSemver from "semver";
import { describe, expect, it } from "vitest";
import { compareVersions, isValidVersion, type VersionEcosystem } from "./index.js";

describe("SemVer precedence (semver.org §11)", () => {
  it("orders the specification's example chain", () => {
    const chain = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "2.0.0",
      "2.1.0",
      "2.1.1",
    ];
    for (const ecosystem of ["semver", "npm", "go", "cargo"] as const) {
      for (let i = 1; i < chain.length; i++) {
        expect(compareVersions(ecosystem, chain[i - 1] ?? "", chain[i] ?? "")).toBe(-1);
      }
    }
  });

  it("ignores build metadata and compares numbers beyond 2^53 exactly", () => {
    expect(compareVersions("semver", "1.0.0+a", "1.0.0+b")).toBe(0);
    expect(compareVersions("semver", "9007199254740993.0.0", "9007199254740992.0.0")).toBe(1);
    expect(compareVersions("semver", "1.0.0-99999999999999999999", "1.0.0-99999999999999999998")).toBe(1);
  });
});

describe("each ecosystem's parser refuses what its tool refuses", () => {
  const cases: Array<[string, Partial<Record<VersionEcosystem, boolean>>]> = [
    ["1.2.3", { semver: true, npm: true, go: true, cargo: true }],
    ["v1.2.3", { semver: false, npm: true, go: true, cargo: false }],
    [" 1.2.3 ", { semver: false, npm: true, go: false, cargo: false }],
    ["v1", { semver: false, npm: false, go: true, cargo: false }],
    ["v1.2", { semver: false, npm: false, go: true, cargo: false }],
    ["v1.2-pre", { go: false }],
    ["01.2.3", { semver: false, npm: false, go: false, cargo: false }],
    ["1.2.3-01", { semver: false, npm: false, go: false, cargo: false }],
    ["1.2.3-", { semver: false, npm: false, go: false, cargo: false }],
    ["1.2.3+", { semver: false, npm: false, go: false, cargo: false }],
    ["1.2.3+001", { semver: true, npm: true, go: true, cargo: true }],
    ["1.2.3-a_b", { semver: false, npm: false, go: false, cargo: false }],
    ["9007199254740992.0.0", { semver: true, npm: false, go: true, cargo: true }],
    ["18446744073709551616.0.0", { semver: true, cargo: false }],
    ["v1.0.0+incompatible", { go: true }],
  ];
  it.each(cases)("%j", (version, expectations) => {
    for (const [ecosystem, valid] of Object.entries(expectations)) {
      expect(isValidVersion(ecosystem as VersionEcosystem, version), ecosystem).toBe(valid);
    }
  });
});

/** mulberry32, a small seeded generator returning integers below n: the same cases on every run. */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe("the npm flavour agrees with node-semver (the parser npm itself uses)", () => {
  it("on validity and order for 20,000 generated pairs", () => {
    const random = seeded(20260101);
    const pick = (items: readonly string[]): string => items[random(items.length)] ?? "";
    // Mostly valid pieces, with an occasional one node-semver refuses, so both paths are covered.
    const maybeBad = (good: readonly string[], bad: readonly string[]): string =>
      random(12) === 0 ? pick(bad) : pick(good);
    const number = (): string =>
      maybeBad(["0", "1", "2", "10", "9007199254740991"], ["01", "9007199254740992"]);
    const identifier = (): string =>
      maybeBad(["alpha", "beta", "rc", "0", "1", "2", "11", "a1", "x-y", "A", "-"], ["01", "", "a_b"]);
    const version = (): string => {
      let text = `${maybeBad(["", "", "v", " "], ["=", "V"])}${number()}.${number()}.${number()}`;
      if (random(2) === 0) text += `-${Array.from({ length: 1 + random(3) }, identifier).join(".")}`;
      if (random(3) === 0) text += `+${maybeBad(["build", "001", "a.b"], ["", "x_y"])}`;
      return text;
    };
    const problems: string[] = [];
    let compared = 0;
    for (let i = 0; i < 20_000; i++) {
      const a = version();
      const b = version();
      const theirs =
        nodeSemver.valid(a) !== null && nodeSemver.valid(b) !== null ? nodeSemver.compare(a, b) : "invalid";
      const ours =
        isValidVersion("npm", a) && isValidVersion("npm", b) ? compareVersions("npm", a, b) : "invalid";
      if (ours !== "invalid") compared++;
      if (ours !== theirs) {
        problems.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: ours ${ours}, node-semver ${theirs}`);
      }
    }
    expect(problems.slice(0, 20), `${problems.length} disagreements`).toEqual([]);
    expect(compared).toBeGreaterThan(5_000);
  });
});
