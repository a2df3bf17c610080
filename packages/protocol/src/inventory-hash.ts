import { hash } from "node:crypto";
import Type from "typebox";
import type { AvailableUpdate, Inventory } from "./inventory.js";
import { entryLine, updateLine, type WireInventory } from "./inventory-lines.js";

/** SHA-256 of a line: an entry's identity and its share of the inventory hash. */
export function lineDigest(line: string): Buffer {
  return hash("sha256", line, "buffer");
}

const LANES = 8;
const LANE = 2 ** 32;

/**
 * The inventory hash an agent sends on every check-in: the sum, modulo 2^256, of the SHA-256 of
 * every entry's and update's line, as 64 hex digits. A sum does not depend on the order things
 * were collected in, and it moves with a change without rereading the rest: add what was added,
 * subtract what was removed. It detects change; it is not a signature (the agent that computes it
 * is the authority on its own inventory anyway). Kept as eight 32-bit lanes in doubles, which
 * stay exact for far more additions than an inventory can have; carries are settled on output.
 */
export class InventoryHash {
  readonly #lanes = new Float64Array(LANES);

  static fromHex(hex: string): InventoryHash {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error("an inventory hash is 64 lowercase hex digits");
    const result = new InventoryHash();
    for (let i = 0; i < LANES; i++) result.#lanes[i] = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
    return result;
  }

  add(digest: Buffer): this {
    for (let i = 0; i < LANES; i++) (this.#lanes[i] as number) += digest.readUInt32BE(i * 4);
    return this;
  }

  remove(digest: Buffer): this {
    for (let i = 0; i < LANES; i++) (this.#lanes[i] as number) -= digest.readUInt32BE(i * 4);
    return this;
  }

  toHex(): string {
    const lanes = Array.from(this.#lanes);
    let carry = 0;
    for (let i = LANES - 1; i >= 0; i--) {
      const total = (lanes[i] as number) + carry;
      const lane = ((total % LANE) + LANE) % LANE;
      carry = (total - lane) / LANE;
      lanes[i] = lane;
    }
    // The carry out of the top lane is the multiple of 2^256 the modulus drops.
    return lanes.map((l) => l.toString(16).padStart(8, "0")).join("");
  }
}

export function inventoryHash(inventory: Inventory): string {
  const result = new InventoryHash();
  for (const e of inventory.packages) result.add(lineDigest(entryLine(e)));
  for (const u of inventory.updates) result.add(lineDigest(updateLine(u)));
  return result.toHex();
}

export function wireInventoryHash(inventory: WireInventory): string {
  const result = new InventoryHash();
  for (const line of inventory.packages) result.add(lineDigest(line));
  for (const u of inventory.updates) result.add(updateDigest(u));
  return result.toHex();
}

export function updateDigest(u: AvailableUpdate): Buffer {
  return lineDigest(updateLine(u));
}

export const InventoryHashSchema = Type.String({ pattern: "^[0-9a-f]{64}$", minLength: 64, maxLength: 64 });
