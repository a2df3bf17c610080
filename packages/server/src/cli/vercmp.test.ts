import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "../testing/cli.js";

const DEBIAN_FIXTURE = new URL(
  "../../../domain/src/versions/testdata/osv-scanner/debian-versions-generated.txt",
  import.meta.url,
);

// Each run is a fresh Node process compiling TypeScript on the fly, so the test makes only three.
describe("patchpilot vercmp", { timeout: 120_000 }, () => {
  it("prints the order of one pair", async () => {
    const result = await runCli(["vercmp", "dpkg", "1:2.30-1", "2.31-1"], {});
    expect(result).toEqual({ code: 0, stdout: ">\n", stderr: "" });
  });

  it("compares a batch line by line, marking bad lines with ! and naming them on stderr", async () => {
    const vectors = readFileSync(DEBIAN_FIXTURE, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .slice(0, 2000)
      .map((line) => line.split(" "));
    const lines = vectors.map(([a, , b]) => `${a}\t${b}`);
    const expected = vectors.map(([, op]) => op ?? "?");
    // Line 1001 holds a version dpkg refuses, line 1501 only one field; both keep their place.
    lines.splice(1000, 0, "1.0\t1.0 beta");
    expected.splice(1000, 0, "!");
    lines.splice(1500, 0, "1.0");
    expected.splice(1500, 0, "!");

    const result = await runCli(["vercmp", "dpkg", "--batch"], {}, `${lines.join("\r\n")}\r\n`);
    expect(result.code).toBe(1);
    expect(result.stdout.split("\n")).toEqual([...expected, ""]);
    expect(result.stderr).toContain(
      'line 1001: invalid dpkg version "1.0 beta": version string has embedded spaces',
    );
    expect(result.stderr).toContain("line 1501: expected two tab-separated versions, got 1 field(s)");
  });

  it("refuses an unknown ecosystem with exit status 2, listing the known ones", async () => {
    const result = await runCli(["vercmp", "debian", "1", "2"], {});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/unknown ecosystem "debian"; known: dpkg, rpm, apk, .*windows-kb, macos/);
  });
});
