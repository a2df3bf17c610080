import { describe, expect, it } from "vitest";
import type { Inventory, InventoryEntry } from "./inventory.js";
import { InventoryHash, inventoryHash, lineDigest, wireInventoryHash } from "./inventory-hash.js";
import {
  duplicateLine,
  ENTRY_LINE_PATTERN,
  entryLine,
  parseEntryLine,
  toWireInventory,
} from "./inventory-lines.js";

const entry = (name: string, version: string, extra: Partial<InventoryEntry> = {}): InventoryEntry => ({
  kind: "package",
  ecosystem: "dpkg",
  release: "debian:12",
  name,
  version,
  ...extra,
});

const inventory: Inventory = {
  packages: [
    entry("openssl", "3.0.11-1~deb12u2", {
      arch: "amd64",
      sourceName: "openssl",
      sourceVersion: "3.0.11-1~deb12u2",
    }),
    entry("bash", "5.2.15-2+b2", { arch: "amd64" }),
    entry("tzdata", "2024a-0+deb12u1", { arch: "all", vendor: "Debian" }),
  ],
  updates: [
    {
      ecosystem: "dpkg",
      name: "openssl",
      arch: "amd64",
      currentVersion: "3.0.11-1~deb12u2",
      availableVersion: "3.0.13-1~deb12u1",
      security: true,
    },
  ],
};

describe("inventory lines", () => {
  it("round-trip every field, and match the pattern the server checks", () => {
    const pattern = new RegExp(ENTRY_LINE_PATTERN);
    for (const e of inventory.packages) {
      const line = entryLine(e);
      expect(line).toMatch(pattern);
      expect(parseEntryLine(line)).toEqual(e);
    }
  });

  it("cannot carry a tab, a newline or an empty required field", () => {
    const pattern = new RegExp(ENTRY_LINE_PATTERN);
    expect(entryLine(entry("a\tb", "1"))).not.toMatch(pattern);
    expect(entryLine(entry("a\nb", "1"))).not.toMatch(pattern);
    expect(entryLine(entry("a", ""))).not.toMatch(pattern);
    expect(entryLine({ ...entry("a", "1"), release: "debian 12" })).not.toMatch(pattern);
  });

  it("finds a package listed twice, even with other source fields", () => {
    const lines = toWireInventory(inventory).packages;
    expect(duplicateLine(lines)).toBe(-1);
    expect(
      duplicateLine([
        ...lines,
        entryLine({ ...(inventory.packages[1] as InventoryEntry), sourceName: "other" }),
      ]),
    ).toBe(3);
  });
});

describe("inventory hash", () => {
  it("does not depend on order, and agrees between the object and wire forms", () => {
    const reversed = { packages: [...inventory.packages].reverse(), updates: inventory.updates };
    expect(inventoryHash(reversed)).toBe(inventoryHash(inventory));
    expect(wireInventoryHash(toWireInventory(inventory))).toBe(inventoryHash(inventory));
    expect(inventoryHash({ packages: [], updates: [] })).toBe("0".repeat(64));
  });

  it("moves with a change exactly as recomputing it would, wrapping around 2^256", () => {
    const added = entry("curl", "7.88.1-10+deb12u5", { arch: "amd64" });
    const removed = inventory.packages[1] as InventoryEntry;
    const after = {
      packages: [...inventory.packages.filter((p) => p !== removed), added],
      updates: inventory.updates,
    };
    const moved = InventoryHash.fromHex(inventoryHash(inventory))
      .add(lineDigest(entryLine(added)))
      .remove(lineDigest(entryLine(removed)))
      .toHex();
    expect(moved).toBe(inventoryHash(after));
    // Subtracting from zero wraps to 2^256 − d; adding it back returns to zero.
    const digest = lineDigest("x");
    const negative = InventoryHash.fromHex("0".repeat(64)).remove(digest).toHex();
    expect(BigInt(`0x${negative}`)).toBe((1n << 256n) - BigInt(`0x${digest.toString("hex")}`));
    expect(InventoryHash.fromHex(negative).add(digest).toHex()).toBe("0".repeat(64));
  });

  it("is the 256-bit sum of the lines' SHA-256", () => {
    const lines = toWireInventory(inventory).packages;
    let sum = 0n;
    for (const line of lines) sum += BigInt(`0x${lineDigest(line).toString("hex")}`);
    const noUpdates = { packages: inventory.packages, updates: [] };
    expect(inventoryHash(noUpdates)).toBe((sum % (1n << 256n)).toString(16).padStart(64, "0"));
  });
});
