import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { generate, generateSecret, generateURI } from "otplib";

/** RFC 6238 as authenticator apps implement it: HMAC-SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Codes of the step before and after are accepted too, for clocks a little apart. */
export const TOTP_WINDOW_STEPS = 1;

/** A new key: 160 random bits (RFC 4226's recommendation), base32 as apps expect it. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

export function totpStep(epochSeconds: number): number {
  return Math.floor(epochSeconds / TOTP_PERIOD_SECONDS);
}

/** The code for a time, with `digits` digits (8 for the RFC 6238 test vectors). */
export async function totpCode(secretBase32: string, epochSeconds: number, digits: 6 | 8 = TOTP_DIGITS) {
  return generate({ secret: secretBase32, epoch: epochSeconds, digits, period: TOTP_PERIOD_SECONDS });
}

/**
 * The time step a code belongs to, when it is the code of the current step or one next to it and
 * that step is later than `afterStep` (the last accepted one: a code is accepted only once).
 * Null otherwise.
 */
export async function matchTotp(
  secretBase32: string,
  code: string,
  nowSeconds: number,
  afterStep: number | null,
): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const current = totpStep(nowSeconds);
  let matched: number | null = null;
  // Every candidate is computed and compared in constant time, so timing tells nothing.
  for (let delta = -TOTP_WINDOW_STEPS; delta <= TOTP_WINDOW_STEPS; delta++) {
    const step = current + delta;
    const expected = await totpCode(secretBase32, step * TOTP_PERIOD_SECONDS);
    if (timingSafeEqual(Buffer.from(expected), Buffer.from(code)) && matched === null) matched = step;
  }
  if (matched === null || (afterStep !== null && matched <= afterStep)) return null;
  return matched;
}

export function otpauthUri(secretBase32: string, account: string): string {
  return generateURI({
    issuer: "PatchPilot",
    label: account,
    secret: secretBase32,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}

const RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
export const RECOVERY_CODE_COUNT = 10;

/** Ten codes like `k7m2p-x9qrt`: 50 random bits each, easy to read and type. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(10);
    const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]).join("");
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** Recovery codes are compared by their SHA-256, after dropping case, spaces and the dash. */
export function hashRecoveryCode(code: string): Buffer {
  const normalized = code.toLowerCase().replace(/[\s-]/g, "");
  return createHash("sha256").update(`patchpilot-recovery\0${normalized}`).digest();
}

export function looksLikeRecoveryCode(code: string): boolean {
  return /^[a-z0-9]{5}-?[a-z0-9]{5}$/i.test(code.trim());
}
