import { describe, expect, it } from "vitest";
import { generateToken, hashToken, isWellFormedToken, TOKEN_PREFIXES, type TokenKind } from "./tokens.js";

describe("tokens", () => {
  it("carries its prefix, at least 128 random bits and a valid checksum", () => {
    for (const kind of Object.keys(TOKEN_PREFIXES) as TokenKind[]) {
      const token = generateToken(kind);
      expect(token.startsWith(`${TOKEN_PREFIXES[kind]}_`)).toBe(true);
      expect(isWellFormedToken(kind, token)).toBe(true);
      // 33 base62 characters hold more than 192 bits.
      expect(token.length - TOKEN_PREFIXES[kind].length - 1 - 6).toBe(33);
    }
  });

  it("is different every time", () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateToken("session")));
    expect(seen.size).toBe(1000);
  });

  it("rejects a mistyped, truncated or foreign token without a lookup", () => {
    const token = generateToken("enrollment");
    const last = token.at(-1) === "A" ? "B" : "A";
    const middle = token[10] === "x" ? "y" : "x";
    expect(isWellFormedToken("enrollment", `${token.slice(0, -1)}${last}`)).toBe(false);
    expect(isWellFormedToken("enrollment", `${token.slice(0, 10)}${middle}${token.slice(11)}`)).toBe(false);
    expect(isWellFormedToken("enrollment", token.slice(0, -1))).toBe(false);
    expect(isWellFormedToken("device", token)).toBe(false);
    expect(isWellFormedToken("enrollment", `${token}!`)).toBe(false);
    expect(isWellFormedToken("enrollment", "")).toBe(false);
  });

  it("hashes to the SHA-256 of its UTF-8 text", () => {
    // FIPS 180-2 test vector for "abc".
    expect(hashToken("abc").toString("hex")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});
