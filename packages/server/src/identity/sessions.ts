import { createHash, timingSafeEqual } from "node:crypto";
import { isRole, type Role } from "@patchpilot/domain";
import { generateToken, hashToken, isWellFormedToken } from "@patchpilot/protocol";
import type { ExpressionBuilder } from "kysely";
import type { Database, SystemTransaction } from "../db/database.js";
import type { DB } from "../db/schema.js";

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
  /** Whether the person has a confirmed second factor. */
  secondFactor: boolean;
  /**
   * The organisation asked about opened this session through its own identity provider, which
   * authenticated the person: that satisfies the organisation's second-factor requirement.
   */
  identityProviderVerified: boolean;
  /** Who the organisation asked about requires to have a second factor. */
  twoFactorRequired: "off" | "admins" | "all";
  /**
   * Set when the role comes from an MSP assignment rather than a membership: the MSP organisation
   * the person acts for (still on the MSP plan, still their organisation, still managing this one).
   */
  msp: { id: string; name: string } | null;
  /** An MSP organisation the person belongs to, so that a refused client is recorded there. */
  mspHome: string | null;
}

/** Opens a session inside the caller's (audited) transaction; returns the cookie value. */
export async function openSession(
  tx: SystemTransaction,
  userId: string,
  client: { ip: string | null; userAgent: string | null },
  /** Single sign-on: the organisation whose identity provider vouched for the person, the only one the session reaches. */
  ssoOrganizationId: string | null = null,
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
      sso_organization_id: ssoOrganizationId,
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
      "s.sso_organization_id",
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
      eb
        .exists(
          eb
            .selectFrom("user_totp as t")
            .select("t.user_id")
            .whereRef("t.user_id", "=", "u.id")
            .where("t.confirmed_at", "is not", null),
        )
        .as("second_factor"),
      organizationId === null
        ? eb.val<string | null>(null).as("msp_id")
        : mspAssignment(eb, organizationId).select("mo.id").as("msp_id"),
      organizationId === null
        ? eb.val<string | null>(null).as("msp_name")
        : mspAssignment(eb, organizationId).select("mo.name").as("msp_name"),
      organizationId === null
        ? eb.val<string | null>(null).as("msp_home")
        : eb
            .selectFrom("memberships as hm")
            .innerJoin("organizations as ho", "ho.id", "hm.organization_id")
            .select("hm.organization_id")
            .whereRef("hm.user_id", "=", "u.id")
            .where("ho.plan", "=", "msp")
            .orderBy("hm.organization_id")
            .limit(1)
            .as("msp_home"),
      organizationId === null
        ? eb.val<string | null>(null).as("two_factor_required")
        : eb
            .selectFrom("organization_security_settings as oss")
            .select("oss.two_factor_required")
            .where("oss.organization_id", "=", organizationId)
            .as("two_factor_required"),
    ])
    .where("s.token_hash", "=", tokenHash)
    .where("s.revoked_at", "is", null)
    .executeTakeFirst();
  const now = Date.now();
  if (!row || row.idle_expires_at.getTime() <= now || row.absolute_expires_at.getTime() <= now) return null;
  if (now - row.last_seen_at.getTime() > TOUCH_INTERVAL_MS)
    await touchSession(db, row.id, row.absolute_expires_at);
  // A session an organisation's identity provider opened reaches that organisation only: another
  // organisation (or an MSP client) never trusted that provider.
  const bound = row.sso_organization_id;
  const reachable = bound === null || bound === organizationId;
  const member = reachable && row.role !== null && isRole(row.role) ? row.role : null;
  const msp =
    reachable && member === null && row.msp_id !== null ? { id: row.msp_id, name: row.msp_name ?? "" } : null;
  const role: Role | null = member ?? (msp ? "msp_tenant_admin" : null);
  const required = row.two_factor_required;
  return {
    id: row.id,
    tokenHash,
    user: { id: row.user_id, email: row.email, name: row.name },
    role,
    secondFactor: Boolean(row.second_factor),
    identityProviderVerified: bound !== null && bound === organizationId,
    twoFactorRequired: required === "admins" || required === "all" ? required : "off",
    msp,
    mspHome: row.msp_home,
  };
}

/**
 * The MSP a person may act for in `organizationId`: an assignment to it, from an MSP organisation
 * that still manages it, is still on the MSP plan, and of which the person is still a member.
 */
function mspAssignment(eb: ExpressionBuilder<DB & { u: DB["users"] }, "u">, organizationId: string) {
  return eb
    .selectFrom("msp_assignments as a")
    .innerJoin("msp_clients as c", (j) =>
      j
        .onRef("c.organization_id", "=", "a.organization_id")
        .onRef("c.msp_organization_id", "=", "a.msp_organization_id"),
    )
    .innerJoin("memberships as mm", (j) =>
      j.onRef("mm.organization_id", "=", "a.msp_organization_id").onRef("mm.user_id", "=", "a.user_id"),
    )
    .innerJoin("organizations as mo", "mo.id", "a.msp_organization_id")
    .whereRef("a.user_id", "=", "u.id")
    .where("a.organization_id", "=", organizationId)
    .where("mo.plan", "=", "msp");
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
