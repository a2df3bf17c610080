import { readFileSync } from "node:fs";
import type { InventoryEntry } from "@patchpilot/protocol";
import { describe, expect, it } from "vitest";
import {
  collectDnfUpdates,
  DNF_CHECK_UPDATE_ARGS,
  DNF_SECURITY_ARGS,
  dnfUpdates,
  parseDnfCheckUpdate,
  parseDnfSecurityList,
} from "./dnf-updates.js";
import { replayRunner } from "./replay-runner.js";

const fixture = (path: string) => readFileSync(new URL(`./testdata/${path}`, import.meta.url), "utf8");
const checkUpdate = fixture("linux/dnf-check-update.rhel9.txt");
const securityList = fixture("linux/dnf-updateinfo-security.rhel9.txt");

const rpm = (name: string, version: string, arch = "x86_64"): InventoryEntry => ({
  kind: "package",
  ecosystem: "rpm",
  release: "rhel:9",
  name,
  version,
  arch,
});
const installed = [
  rpm("openssl", "1:3.0.7-24.el9"),
  rpm("kernel", "5.14.0-362.8.1.el9_3"),
  rpm("kernel", "5.14.0-362.18.1.el9_3"),
  rpm("tzdata", "2023c-1.el9", "noarch"),
];

describe("dnf check-update parsing", () => {
  const rows = parseDnfCheckUpdate(checkUpdate);

  it("reads every row, joins a wrapped long name and stops at Obsoleting Packages", () => {
    expect(rows.map((r) => `${r.name}.${r.arch}`)).toEqual([
      "NetworkManager.x86_64",
      "kernel.x86_64",
      "kernel-core.x86_64",
      "openssl.x86_64",
      "openssl-libs.x86_64",
      "python3-setuptools-wheel.noarch",
      "tzdata.noarch",
      "libreoffice-langpack-en-gb-extras.x86_64",
    ]);
    expect(rows[7]).toEqual({
      name: "libreoffice-langpack-en-gb-extras",
      arch: "x86_64",
      version: "1:7.1.8.1-12.el9",
      repo: "appstream",
    });
  });

  it("finds the packages of security advisories in dnf 4 and dnf 5 formats", () => {
    expect(parseDnfSecurityList(securityList)).toEqual(
      new Set(["kernel.x86_64", "kernel-core.x86_64", "openssl.x86_64", "openssl-libs.x86_64"]),
    );
    expect(parseDnfSecurityList(fixture("linux/dnf5-updateinfo-security.fedora40.txt"))).toEqual(
      new Set(["curl.x86_64", "libcurl.x86_64", "xz-libs.x86_64"]),
    );
  });

  it("takes the current version from the rpm inventory, null when several are installed", () => {
    const updates = dnfUpdates(rows, parseDnfSecurityList(securityList), installed);
    expect(updates.find((u) => u.name === "openssl")).toEqual({
      ecosystem: "rpm",
      name: "openssl",
      arch: "x86_64",
      currentVersion: "1:3.0.7-24.el9",
      availableVersion: "1:3.0.7-25.el9_3",
      origin: "baseos",
      security: true,
    });
    expect(updates.find((u) => u.name === "kernel")).toMatchObject({ currentVersion: null, security: true });
    expect(updates.find((u) => u.name === "tzdata")).toMatchObject({
      currentVersion: "2023c-1.el9",
      security: false,
    });
  });
});

describe("collectDnfUpdates", () => {
  it("treats exit code 100 as 'updates available'", async () => {
    const runner = replayRunner([
      { program: "dnf", args: DNF_CHECK_UPDATE_ARGS, result: { code: 100, stdout: checkUpdate } },
      { program: "dnf", args: DNF_SECURITY_ARGS, result: { stdout: securityList } },
    ]);
    const { updates, warnings } = await collectDnfUpdates(runner, installed, { program: "/usr/bin/dnf" });
    expect(warnings).toEqual([]);
    expect(updates).toHaveLength(8);
    expect(updates.filter((u) => u.security).map((u) => u.name)).toEqual([
      "kernel",
      "kernel-core",
      "openssl",
      "openssl-libs",
    ]);
  });

  it("does not ask for advisories when there is nothing to update", async () => {
    const runner = replayRunner([
      { program: "dnf", args: DNF_CHECK_UPDATE_ARGS, result: { code: 0, stdout: "\n" } },
    ]);
    expect(await collectDnfUpdates(runner, installed)).toEqual({ updates: [], warnings: [] });
    expect(runner.calls).toHaveLength(1);
  });

  it("fails on exit code 1 and passes --installroot for another root", async () => {
    const args = ["--installroot=/srv/image", ...DNF_CHECK_UPDATE_ARGS];
    const runner = replayRunner([
      { program: "yum", args, result: { code: 1, stderr: "Error: Failed to download metadata" } },
    ]);
    await expect(collectDnfUpdates(runner, [], { program: "yum", root: "/srv/image" })).rejects.toThrow(
      /metadata/,
    );
  });

  it("still lists updates, with a warning, when updateinfo fails", async () => {
    const runner = replayRunner([
      { program: "dnf", args: DNF_CHECK_UPDATE_ARGS, result: { code: 100, stdout: checkUpdate } },
      { program: "dnf", args: DNF_SECURITY_ARGS, result: { code: 1 } },
    ]);
    const { updates, warnings } = await collectDnfUpdates(runner, installed);
    expect(updates.every((u) => !u.security)).toBe(true);
    expect(warnings).toHaveLength(1);
  });
});
