import { hash } from "node:crypto";
import canonicalizeModule from "canonicalize";

// The package is CommonJS whose typings declare an ES default export; at run time the default
// import is the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * The hash chain over audit rows. Each row's hash is
 *   SHA-256(previous row's hash ‖ seq as 8-byte big-endian ‖ SHA-256(RFC 8785 JSON of its content))
 * The database computes the outer hash while it takes the chain's head row lock (so concurrent
 * writers of one organisation are ordered); the content digest is computed here, from the same
 * fields an offline verifier reads back, so anyone can recompute the chain with a JCS library.
 */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/** Events that belong to no organisation (e.g. a sign-in attempt for an unknown address). */
export const PLATFORM_ORGANIZATION_ID = "00000000-0000-0000-0000-000000000000";

export type ChainName = "audit" | "device";

export interface AuditEventContent {
  organizationId: string;
  occurredAt: Date;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  result: "success" | "failure";
  errorCode: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

export interface DeviceEventContent {
  organizationId: string;
  occurredAt: Date;
  deviceId: string | null;
  actorType: string;
  actorId: string | null;
  eventType: string;
  result: "success" | "failure";
  errorCode: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

function digestOf(value: Record<string, unknown>): Buffer {
  const text = canonicalize(value);
  if (text === undefined) throw new Error("audit content is not serialisable");
  return hash("sha256", text, "buffer");
}

export function auditContentDigest(e: AuditEventContent): Buffer {
  return digestOf({ v: 1, chain: "audit", ...e, occurredAt: e.occurredAt.toISOString() });
}

export function deviceContentDigest(e: DeviceEventContent): Buffer {
  return digestOf({ v: 1, chain: "device", ...e, occurredAt: e.occurredAt.toISOString() });
}

export function chainHash(prevHash: Buffer, seq: number, contentDigest: Buffer): Buffer {
  // One-shot hashing of one buffer: the verifier does this for every row.
  const input = Buffer.allocUnsafe(prevHash.length + 8 + contentDigest.length);
  prevHash.copy(input, 0);
  input.writeBigInt64BE(BigInt(seq), prevHash.length);
  contentDigest.copy(input, prevHash.length + 8);
  return hash("sha256", input, "buffer");
}

const SECRET_KEY = /pass(word)?|secret|token|cookie|authorization|private|credential/i;
const MAX_DETAIL_STRING = 2000;

/**
 * Audit details never carry secrets, and must survive the trip through jsonb unchanged so the
 * digest can be recomputed: secret-looking keys are masked, NUL characters (which jsonb refuses)
 * are replaced, long strings are cut, and only JSON values remain.
 */
export function sanitizeDetails(details: Record<string, unknown>): Record<string, unknown> {
  const clean = (value: unknown, depth: number): unknown => {
    if (value === null || typeof value === "boolean") return value;
    if (typeof value === "number") return Number.isFinite(value) ? value : null;
    if (typeof value === "string") return value.replaceAll("\u0000", "\uFFFD").slice(0, MAX_DETAIL_STRING);
    if (depth > 6) return null;
    if (Array.isArray(value)) return value.slice(0, 100).map((v) => clean(v, depth + 1));
    if (typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        if (v === undefined) continue;
        out[key.replaceAll("\u0000", "\uFFFD")] = SECRET_KEY.test(key) ? "[masked]" : clean(v, depth + 1);
      }
      return out;
    }
    return null;
  };
  return clean(details, 0) as Record<string, unknown>;
}
