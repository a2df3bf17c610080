import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { AvailableUpdate, InventoryEntry } from "@patchpilot/protocol";
import { findDuplicate, INVENTORY_LIMITS, Inventory } from "@patchpilot/protocol";
import { Value } from "typebox/value";
import { afterAll, describe, expect, it } from "vitest";
import { requirePeer } from "../../../server/src/testing/peers.js";
import { APT_SIMULATE_ARGS } from "./apt-updates.js";
import { collectInventory } from "./index.js";
import { enforceInventoryLimits } from "./limits.js";
import { replayRunner } from "./replay-runner.js";

const fixture = (path: string) => readFileSync(new URL(`./testdata/${path}`, import.meta.url), "utf8");
const ubuntuStatus = fixture("dpkg/valid.txtar").split("-- var/lib/dpkg/status --\n")[1] ?? "";
const aptOutput = fixture("linux/apt-get-s-dist-upgrade.debian12.txt");
const DEBIAN_OS = 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n';

/** The server's own check: the protocol schema, then its duplicate rule. */
function expectServerAccepts(inventory: Inventory) {
  const wire: unknown = JSON.parse(JSON.stringify(inventory));
  expect(Value.Check(Inventory, wire)).toBe(true);
  if (Value.Check(Inventory, wire)) expect(findDuplicate(wire)).toBeNull();
}

const roots: string[] = [];
afterAll(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));
async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "pp-inventory-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

describe("collectInventory on Linux", () => {
  it("runs the collectors present, drops over-long and duplicate entries by name, and passes the server's checks", async () => {
    const longVersion = "1.0-".padEnd(INVENTORY_LIMITS.maxVersionLength + 1, "x");
    const extra = [
      `Package: overlong\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${longVersion}`,
      // A second copy of an existing stanza, as a hand-edited status file might have.
      "Package: fdisk\nStatus: install ok installed\nArchitecture: amd64\nSource: util-linux\nVersion: 2.31.1-0.4ubuntu3.1",
    ].join("\n\n");
    const root = await fakeRoot({
      "etc/os-release": DEBIAN_OS,
      "var/lib/dpkg/status": `${ubuntuStatus.trimEnd()}\n\n${extra}\n`,
      "usr/bin/apt-get": "",
    });
    const runner = replayRunner([
      {
        program: "apt-get",
        args: ["-o", `Dir=${root}`, ...APT_SIMULATE_ARGS],
        result: { stdout: aptOutput },
      },
    ]);
    const { inventory, warnings } = await collectInventory({ root, runner, platform: "linux" });
    expect(inventory.packages).toHaveLength(90);
    expect(inventory.updates.length).toBeGreaterThan(100);
    expect(warnings).toEqual([
      `package dpkg "overlong" ${JSON.stringify(longVersion.slice(0, 40))} dropped: version is longer than 256 characters`,
      'package dpkg "fdisk" "2.31.1-0.4ubuntu3.1" listed twice; duplicate dropped',
    ]);
    // For a root other than /, the host's apt-get runs with Dir= pointing at it; nothing from the tree is executed.
    expect(runner.calls.map((c) => c.file)).toEqual(["apt-get"]);
    expectServerAccepts(inventory);
  });

  it("fails when the dpkg status file exists but cannot be read at all", async () => {
    const root = await fakeRoot({
      "etc/os-release": DEBIAN_OS,
      "var/lib/dpkg/status": "\u0000\u0001 not a status file",
    });
    await expect(collectInventory({ root, runner: replayRunner([]), platform: "linux" })).rejects.toThrow(
      /none of 1 stanzas/,
    );
  });

  it("turns a failing collector into a warning and keeps the others", async () => {
    const root = await fakeRoot({
      "etc/os-release": 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n',
      "var/lib/rpm/rpmdb.sqlite": "",
      "usr/bin/rpm": "",
      "lib/apk/db/installed": fixture("apk/installed"),
    });
    const { inventory, warnings } = await collectInventory({
      root,
      runner: replayRunner([]),
      platform: "linux",
    });
    expect(inventory.packages).toHaveLength(15);
    expect(warnings[0]).toMatch(/^rpm inventory failed: spawn rpm ENOENT/);
  });

  it("does not run rpm where there is an rpm program but no rpm database (rpm on Debian)", async () => {
    const root = await fakeRoot({
      "etc/os-release": DEBIAN_OS,
      "var/lib/dpkg/status": "",
      "usr/bin/rpm": "",
    });
    const runner = replayRunner([]);
    expect(await collectInventory({ root, runner, platform: "linux" })).toEqual({
      inventory: { packages: [], updates: [] },
      warnings: [],
    });
    expect(runner.calls).toEqual([]);
  });

  it("reports nothing, with a warning, when the release cannot be named", async () => {
    const root = await fakeRoot({ "etc/os-release": "ID=arch\n", "var/lib/dpkg/status": ubuntuStatus });
    const { inventory, warnings } = await collectInventory({
      root,
      runner: replayRunner([]),
      platform: "linux",
    });
    expect(inventory.packages).toEqual([]);
    expect(warnings).toEqual(["cannot tell the distribution release from os-release; no package inventory"]);
  });
});

describe("collectInventory on other platforms", () => {
  it("turns a Windows collector failure into a warning", async () => {
    const { inventory, warnings } = await collectInventory({ runner: replayRunner([]), platform: "win32" });
    expect(inventory).toEqual({ packages: [], updates: [] });
    expect(warnings[0]).toMatch(/^win32 inventory failed: spawn .*powershell\.exe ENOENT/);
  });
});

const hasDpkg = requirePeer("dpkg-query", "dpkg");

describe.skipIf(!hasDpkg)("collectInventory on this machine", () => {
  it("produces an inventory the server accepts", async () => {
    const { inventory, warnings } = await collectInventory({ updates: false });
    expect(inventory.packages.length).toBeGreaterThan(100);
    expect(inventory.packages.every((p) => p.ecosystem === "dpkg")).toBe(true);
    expect(warnings).toEqual([]);
    expectServerAccepts(inventory);
  });
});

describe("enforceInventoryLimits", () => {
  const entry = (over: Partial<InventoryEntry>): InventoryEntry => ({
    kind: "package",
    ecosystem: "dpkg",
    release: "debian:12",
    name: "pkg",
    version: "1.0",
    ...over,
  });
  const update = (over: Partial<AvailableUpdate>): AvailableUpdate => ({
    ecosystem: "windows-kb",
    name: "Update",
    currentVersion: null,
    availableVersion: "5035853",
    security: true,
    ...over,
  });

  it("drops entries and updates that break a field rule, naming them", () => {
    const { inventory, warnings } = enforceInventoryLimits({
      packages: [
        entry({ name: "ok" }),
        entry({ name: "evil\nname" }),
        entry({ name: "wide", arch: "x".repeat(INVENTORY_LIMITS.maxArchLength + 1) }),
        entry({ name: "norelease", release: "Debian 12" }),
        entry({ name: "novendor", vendor: "" }),
      ],
      updates: [
        update({}),
        update({ kb: "KB12" }),
        update({ name: "x".repeat(INVENTORY_LIMITS.maxNameLength + 1) }),
      ],
    });
    expect(inventory.packages.map((p) => p.name)).toEqual(["ok"]);
    expect(inventory.updates).toHaveLength(1);
    expect(warnings).toEqual([
      'package dpkg "evil\\nname" "1.0" dropped: name contains control characters',
      'package dpkg "wide" "1.0" dropped: arch is longer than 32 characters',
      'package dpkg "norelease" "1.0" dropped: release is malformed',
      'package dpkg "novendor" "1.0" dropped: vendor is empty',
      'update windows-kb "Update" "5035853" dropped: kb is malformed',
      `update windows-kb ${JSON.stringify("x".repeat(80))} "5035853" dropped: name is longer than 256 characters`,
    ]);
  });

  it("keeps entries that differ only in arch or release, and drops exact duplicate updates", () => {
    const { inventory, warnings } = enforceInventoryLimits({
      packages: [entry({ arch: "amd64" }), entry({ arch: "i386" }), entry({ release: "debian:11" })],
      updates: [update({}), update({ origin: "other origin, same update" })],
    });
    expect(inventory.packages).toHaveLength(3);
    expect(inventory.updates).toHaveLength(1);
    expect(warnings).toEqual(['update windows-kb "Update" "5035853" listed twice; duplicate dropped']);
    expectServerAccepts(inventory);
  });

  it("cuts a list longer than the protocol allows", () => {
    const packages = Array.from({ length: INVENTORY_LIMITS.maxPackages + 3 }, (_, i) =>
      entry({ name: `p${i}` }),
    );
    const { inventory, warnings } = enforceInventoryLimits({ packages, updates: [] });
    expect(inventory.packages).toHaveLength(INVENTORY_LIMITS.maxPackages);
    expect(warnings).toEqual([`3 package entries over the limit of ${INVENTORY_LIMITS.maxPackages} dropped`]);
  });
});
