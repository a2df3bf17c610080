import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { apkEntries, parseApkInstalled } from "./apk-installed.js";
import { APK_VERSION_ARGS, collectApkUpdates, parseApkVersionList } from "./apk-updates.js";
import { replayRunner } from "./replay-runner.js";

const fixture = (path: string) => readFileSync(new URL(`./testdata/${path}`, import.meta.url), "utf8");
const installed = parseApkInstalled(fixture("apk/installed"));
const entries = apkEntries(installed.packages, "alpine:3.4");

describe("parseApkInstalled on a real apk database (trivy fixture)", () => {
  it("reads every package with a version and warns about the one without", () => {
    expect(installed.packages).toHaveLength(15);
    expect(installed.problems).toEqual([
      'apk: package "invalidPackageWithoutAVersion" has no version; skipped',
    ]);
  });

  it("maps P, V, A and o to name, version, arch and source", () => {
    expect(entries.find((e) => e.name === "libcrypto1.0")).toEqual({
      kind: "package",
      ecosystem: "apk",
      release: "alpine:3.4",
      name: "libcrypto1.0",
      version: "1.0.2h-r1",
      arch: "x86_64",
      sourceName: "openssl",
      sourceVersion: "1.0.2h-r1",
    });
    expect(entries.find((e) => e.name === "musl-utils")?.sourceName).toBe("musl");
  });
});

describe("apk version -l '<'", () => {
  const text = fixture("linux/apk-version-l-lt.alpine.txt");

  it("lists the newer versions, splitting name from version with the installed inventory", () => {
    const updates = parseApkVersionList(text, entries);
    expect(updates).toHaveLength(5);
    expect(updates[2]).toEqual({
      ecosystem: "apk",
      name: "libcrypto1.0",
      arch: "x86_64",
      currentVersion: "1.0.2h-r1",
      availableVersion: "1.0.2k-r0",
      security: false,
    });
    expect(updates.find((u) => u.name === "test")?.currentVersion).toBe("2.9.11_pre20061021-r2");
  });

  it("splits name and version by apk's -rN rule for a package the inventory does not know", () => {
    const [update] = parseApkVersionList("ca-certificates-bundle-20230506-r0  < 20240226-r0\n", []);
    expect(update).toMatchObject({ name: "ca-certificates-bundle", currentVersion: "20230506-r0" });
  });

  it("runs apk with the '<' filter as a plain argument", async () => {
    const runner = replayRunner([{ program: "apk", args: APK_VERSION_ARGS, result: { stdout: text } }]);
    expect(await collectApkUpdates(runner, entries)).toHaveLength(5);
    expect(runner.calls[0]?.args).toEqual(["version", "-l", "<"]);
  });
});
