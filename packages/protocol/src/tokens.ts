import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * Recognisable secrets. Every token is `<prefix>_<random><checksum>`: 192 random bits in base62
 * (33 characters) and a CRC32 of prefix and random part (6 base62 characters). The prefix lets a
 * secret scanner spot a leaked token; the checksum lets the server reject a mistyped or truncated
 * one without a database lookup. The server stores only the SHA-256 of a token.
 */
export const TOKEN_PREFIXES = {
  enrollment: "ppk",
  device: "ppdt",
  session: "pps",
  invitation: "ppi",
  setup: "ppsu",
  apiToken: "ppat",
  /** Between a right password and the second factor of a two-step sign-in. */
  signInChallenge: "ppsc",
} as const;

export type TokenKind = keyof typeof TOKEN_PREFIXES;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_BYTES = 24;
const RANDOM_CHARS = 33;
const CHECKSUM_CHARS = 6;

function base62(value: bigint, width: number): string {
  let out = "";
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out;
}

function checksum(prefix: string, random: string): string {
  // A CRC32 fits in a double exactly, so this needs no BigInt (it runs on every agent request).
  let rest = crc32(`${prefix}_${random}`);
  let out = "";
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

export function generateToken(kind: TokenKind): string {
  const prefix = TOKEN_PREFIXES[kind];
  const random = base62(BigInt(`0x${randomBytes(RANDOM_BYTES).toString("hex")}`), RANDOM_CHARS);
  return `${prefix}_${random}${checksum(prefix, random)}`;
}

const TOKEN_BODY = new RegExp(`^[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);

/** True when `token` has the shape and checksum of a token of `kind`; no lookup involved. */
export function isWellFormedToken(kind: TokenKind, token: string): boolean {
  const prefix = TOKEN_PREFIXES[kind];
  if (!token.startsWith(`${prefix}_`)) return false;
  const body = token.slice(prefix.length + 1);
  if (!TOKEN_BODY.test(body)) return false;
  const random = body.slice(0, RANDOM_CHARS);
  const expected = Buffer.from(checksum(prefix, random));
  return timingSafeEqual(expected, Buffer.from(body.slice(RANDOM_CHARS)));
}

/** The only form of a token the server keeps. */
export function hashToken(token: string): Buffer {
  return hash("sha256", token, "buffer");
}

/** Maximum length of any token, for request schemas. */
export const MAX_TOKEN_LENGTH = 8 + RANDOM_CHARS + CHECKSUM_CHARS;
