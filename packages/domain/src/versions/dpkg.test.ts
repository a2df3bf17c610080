import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareDpkgVersions, parseDpkgVersion } from "./dpkg.js";
import { VersionSyntaxError } from "./errors.js";
import { compareVersions, isValidVersion } from "./index.js";

const DPKG_DATA = new URL("./testdata/dpkg/", import.meta.url);

/** Rows of a TSV vector file, comment lines dropped; `\t` in the first column stands for a tab. */
function rows(file: string): string[][] {
  return readFileSync(new URL(file, DPKG_DATA), "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split("\t"))
    .map(([input = "", ...rest]) => [input.replaceAll("\\t", "\t"), ...rest]);
}

function refusal(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    if (error instanceof VersionSyntaxError) return error.reason;
    throw error;
  }
}

describe("dpkg compare vectors (dpkg t-version.c, go-deb-version)", () => {
  it("agrees with every row, as dpkg --compare-versions reads them", () => {
    const problems: string[] = [];
    const table = rows("dpkg-compare-vectors.tsv");
    for (const [a = "", op = "", b = ""] of table) {
      const expected = op === "<" ? -1 : op === ">" ? 1 : 0;
      // Lax: one row compares "a-0" with "b-0", which dpkg only warns about.
      const forward = compareDpkgVersions(a, b, "lax");
      const backward = compareDpkgVersions(b, a, "lax");
      if (forward !== expected || backward !== -expected) {
        problems.push(`${a} ${op} ${b}: got ${forward}/${backward}`);
      }
    }
    expect(problems).toEqual([]);
    expect(table).toHaveLength(33);
  });

  it("orders ~ before the end, the end before letters, letters before other characters", () => {
    const ascending = ["0~~", "0~~a", "0~", "0", "0a", "0.", "0.1"];
    for (let i = 1; i < ascending.length; i++) {
      expect(compareVersions("dpkg", ascending[i - 1] ?? "", ascending[i] ?? "")).toBe(-1);
    }
  });
});

describe("dpkg parse vectors", () => {
  const table = rows("dpkg-parse-vectors.tsv");

  it.each(table.filter(([, result]) => result === "ok"))(
    "accepts %j",
    (input, _result, epoch, upstream, revision) => {
      if (input === "0:0-") {
        // t-version.c at the pinned commit (2014) still accepted an empty revision; dpkg 1.21 (Debian
        // 12, checked by the oracle test) refuses it: "revision number is empty". We follow dpkg.
        expect(refusal(() => parseDpkgVersion(input, "lax"))).toBe("revision number is empty");
        return;
      }
      const parsed = parseDpkgVersion(input, "lax");
      expect({ epoch: String(parsed.epoch), upstream: parsed.upstream, revision: parsed.revision }).toEqual({
        epoch,
        upstream,
        revision,
      });
      // go-deb-version accepts "_"; dpkg warns "invalid character in revision number" (checked).
      const expectedWarning = input === "6.0-4.el6.x86_64" ? "invalid character in revision number" : null;
      expect(parsed.warning).toBe(expectedWarning);
    },
  );

  it.each(table.filter(([, result]) => result === "error"))("refuses %j", (input, _result, ...rest) => {
    expect(refusal(() => parseDpkgVersion(input))).not.toBeNull();
    const source = rest[3] ?? "";
    // go-deb-version also refuses what dpkg only warns about; dpkg's own rows are hard errors.
    if (source.startsWith("guillemj/dpkg")) {
      expect(refusal(() => parseDpkgVersion(input, "lax"))).not.toBeNull();
    }
  });

  it.each(table.filter(([, result]) => result === "warn"))("warns about %j", (input) => {
    const reason = refusal(() => parseDpkgVersion(input));
    expect(reason).not.toBeNull();
    expect(parseDpkgVersion(input, "lax").warning).toBe(reason);
  });

  it("warns about each character t-version.c loops over, in upstream and in revision", () => {
    for (const c of "!#@$%&/|\\<>()[]{};,_=*^'") {
      expect(parseDpkgVersion(`0:0${c}-0`, "lax").warning).toBe("invalid character in version number");
      expect(isValidVersion("dpkg", `0:0${c}-0`)).toBe(false);
    }
    for (const c of "!#@$%&/|\\<>()[]{}:;,_=*^'") {
      expect(parseDpkgVersion(`0:0-${c}`, "lax").warning).toBe("invalid character in revision number");
    }
  });
});

describe("dpkg details beyond the vectors (each checked against dpkg 1.21.23)", () => {
  it("reads the epoch as strtol() does", () => {
    expect(parseDpkgVersion("+5:1").epoch).toBe(5);
    expect(parseDpkgVersion("-0:1").epoch).toBe(0);
    expect(parseDpkgVersion("\n1:0").epoch).toBe(1);
    expect(parseDpkgVersion("2147483647:1").epoch).toBe(2147483647);
    expect(refusal(() => parseDpkgVersion("2147483648:1"))).toBe("epoch in version is too big");
    expect(refusal(() => parseDpkgVersion(":1"))).toBe("epoch in version is empty");
    expect(refusal(() => parseDpkgVersion("1.0:2"))).toBe("epoch in version is not number");
  });

  it("names the reason dpkg gives", () => {
    expect(refusal(() => parseDpkgVersion("1-"))).toBe("revision number is empty");
    expect(refusal(() => parseDpkgVersion("1 0"))).toBe("version string has embedded spaces");
    expect(refusal(() => parseDpkgVersion(" "))).toBe("version string is empty");
    expect(refusal(() => parseDpkgVersion("1\0"))).toBe("version string contains a NUL character");
    expect(refusal(() => parseDpkgVersion("abc"))).toBe("version number does not start with digit");
  });

  it("orders non-ASCII bytes as dpkg on amd64 does (signed char): after letters, before punctuation", () => {
    expect(compareDpkgVersions("1.0é", "1.0z", "lax")).toBe(1);
    expect(compareDpkgVersions("1.0é", "1.0.", "lax")).toBe(-1);
    expect(compareDpkgVersions("1.0é", "1.0+", "lax")).toBe(-1);
    expect(compareDpkgVersions("1.0é", "1.0ÿ", "lax")).toBe(-1);
  });

  it("refuses warning-level versions by default, as dpkg-deb does, and names the ecosystem", () => {
    expect(() => compareVersions("dpkg", "1.0!", "1.0")).toThrow(
      new VersionSyntaxError("dpkg", "1.0!", "invalid character in version number"),
    );
    expect(compareDpkgVersions("1.0!", "1.0", "lax")).toBe(1);
  });
});
