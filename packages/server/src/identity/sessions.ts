import { createHash, timingSafeEqual } from "node:crypto";
import { isRole, type Role } from "@patchpilot/domain";
import { generateToken, hashToken, isWellFormedToken } from "@patchpilot/protocol";
import type { Database, SystemTransaction } from "../db/database.js";

// The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain, so no other host can set it.
export const SESSION_COOKIE = "__Host-pp_session";
export const SESSION_IDLE_MS = 7 * 24 * 3600 * 1000;
export const SESSION_ABSOLUTE_MS = 30 * 24 * 3600 * 1000;
// Sliding the idle expiry on every request would turn every read into a write.
const TOUCH_INTERVAL_MS = 60 * 1000;

export interface ActiveSession {
  id: string;
  tokenHash: Buffer;
  user: { id: string; email: string; name: string };
  /** The caller's role in the organisation asked about, or null when not a member. */
  role: Role | null;
}

/** Opens a session inside the caller's (audited) transaction; returns the cookie value. */
export async function openSession(
  tx: SystemTransaction,
  userId: string,
  client: { ip: string | null; userAgent: string | null },
): Promise<{ token: string; sessionId: string }> {
  const token = generateToken("session");
  const now = Date.now();
  const row = await tx.db
    .insertInto("sessions")
    .values({
      user_id: userId,
      token_hash: hashToken(token),
      idle_expires_at: new Date(now + SESSION_IDLE_MS),
      absolute_expires_at: new Date(now + SESSION_ABSOLUTE_MS),
      ip: client.ip,
      user_agent: client.userAgent?.slice(0, 500) ?? null,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return { token, sessionId: row.id };
}

/**
 * The session a cookie names, with its person and their role in `organizationId`, in one query;
 * null when the token is malformed, unknown, revoked or expired.
 */
export async function findActiveSession(
  db: Database,
  token: string,
  organizationId: string | null,
): Promise<ActiveSession | null> {
  if (!isWellFormedToken("session", token)) return null;
  const tokenHash = hashToken(token);
  const row = await db.systemReader
    .selectFrom("sessions as s")
    .innerJoin("users as u", "u.id", "s.user_id")
    .select((eb) => [
      "s.id",
      "s.last_seen_at",
      "s.idle_expires_at",
      "s.absolute_expires_at",
      "u.id as user_id",
      "u.email",
      "u.name",
      organizationId === null
        ? eb.val<string | null>(null).as("role")
        : eb
            .selectFrom("memberships as m")
            .select("m.role")
            .whereRef("m.user_id", "=", "u.id")
            .where("m.organization_id", "=", organizationId)
            .as("role"),
    ])
    .where("s.token_hash", "=", tokenHash)
    .where("s.revoked_at", "is", null)
    .executeTakeFirst();
  const now = Date.now();
  if (!row || row.idle_expires_at.getTime() <= now || row.absolute_expires_at.getTime() <= now) return null;
  if (now - row.last_seen_at.getTime() > TOUCH_INTERVAL_MS)
    await touchSession(db, row.id, row.absolute_expires_at);
  const role = row.role !== null && isRole(row.role) ? row.role : null;
  return { id: row.id, tokenHash, user: { id: row.user_id, email: row.email, name: row.name }, role };
}

async function touchSession(db: Database, sessionId: string, absoluteExpiry: Date): Promise<void> {
  const now = Date.now();
  await db.system(
    { actor: { type: "system", id: null }, requestId: null, ip: null, userAgent: null },
    async (tx) => {
      await tx.db
        .updateTable("sessions")
        .set({
          last_seen_at: new Date(now),
          idle_expires_at: new Date(Math.min(now + SESSION_IDLE_MS, absoluteExpiry.getTime())),
        })
        .where("id", "=", sessionId)
        .execute();
    },
    { unaudited: "sliding a session's idle expiry is bookkeeping, not an action" },
  );
}

/**
 * The CSRF token of a session: a hash of its secret. Only someone who holds the session cookie
 * (which scripts cannot read) can know it, so no copy needs storing.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash("sha256").update(`patchpilot-csrf\0${sessionToken}`).digest("base64url");
}

export function csrfTokenMatches(sessionToken: string, presented: string | undefined): boolean {
  if (!presented) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
