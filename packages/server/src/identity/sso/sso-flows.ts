import { createHash, randomBytes } from "node:crypto";
import type { FastifyReply } from "fastify";
import { sql, type Transaction } from "kysely";
import type { OrganizationTransaction } from "../../db/database.js";
import type { DB } from "../../db/schema.js";

export type SsoProtocol = "oidc" | "saml";

/** How long a person has at the identity provider before the sign-in must start again. */
export const SSO_FLOW_TTL_MS = 10 * 60 * 1000;

/**
 * Binds a sign-in to the browser that started it, so a stranger's callback link or form (carrying
 * the stranger's own identity) cannot sign a victim in as the stranger. SameSite=None because the
 * SAML answer arrives as a cross-site form post; HttpOnly and __Host- like the session cookie.
 */
export const SSO_BROWSER_COOKIE = "__Host-pp_sso";

const sha256 = (value: string) => createHash("sha256").update(value).digest();

export function newBrowserBinding(): string {
  return randomBytes(32).toString("base64url");
}

export function setBrowserBindingCookie(reply: FastifyReply, value: string): void {
  reply.setCookie(SSO_BROWSER_COOKIE, value, {
    httpOnly: true,
    secure: true,
    sameSite: "none",
    path: "/",
    maxAge: SSO_FLOW_TTL_MS / 1000,
  });
}

export function clearBrowserBindingCookie(reply: FastifyReply): void {
  reply.clearCookie(SSO_BROWSER_COOKIE, { httpOnly: true, secure: true, sameSite: "none", path: "/" });
}

/** Records a sign-in sent to the identity provider (inside the caller's audited transaction). */
export async function beginFlow(
  tx: OrganizationTransaction,
  input: { protocol: SsoProtocol; state: string; browser: string; sealedSecrets: string | null },
): Promise<void> {
  // Finished and abandoned sign-ins are kept a day for the record, then dropped.
  await tx.db.deleteFrom("sso_flows").where("expires_at", "<", sql<Date>`now() - interval '1 day'`).execute();
  await tx.db
    .insertInto("sso_flows")
    .values({
      protocol: input.protocol,
      state_hash: sha256(input.state),
      browser_hash: sha256(input.browser),
      sealed_secrets: input.sealedSecrets,
      expires_at: new Date(Date.now() + SSO_FLOW_TTL_MS),
    })
    .execute();
}

/** A sign-in's sealed secrets (PKCE verifier, nonce), read without using it up: the exchange with the identity provider comes first. */
export async function peekFlow(
  tx: OrganizationTransaction,
  protocol: SsoProtocol,
  state: string,
): Promise<{ sealedSecrets: string | null; createdAt: Date } | null> {
  const row = await tx.db
    .selectFrom("sso_flows")
    .select(["sealed_secrets", "created_at"])
    .where("protocol", "=", protocol)
    .where("state_hash", "=", sha256(state))
    .where("used_at", "is", null)
    .executeTakeFirst();
  return row ? { sealedSecrets: row.sealed_secrets, createdAt: row.created_at } : null;
}

export type FlowOutcome =
  | { ok: true; flowId: string; sealedSecrets: string | null }
  | { ok: false; reason: "unknown_state" | "replayed_state" | "expired" | "other_browser" };

/**
 * Takes a sign-in's state once: the row is locked and marked used, so a replayed or concurrent
 * second answer finds it used. A state from another browser is refused without using it up.
 */
export async function consumeFlow(
  db: Transaction<DB>,
  organizationId: string,
  protocol: SsoProtocol,
  state: string,
  browser: string | undefined,
): Promise<FlowOutcome> {
  const row = await db
    .selectFrom("sso_flows")
    .select(["id", "browser_hash", "sealed_secrets", "expires_at", "used_at"])
    .where("organization_id", "=", organizationId)
    .where("protocol", "=", protocol)
    .where("state_hash", "=", sha256(state))
    .forUpdate()
    .executeTakeFirst();
  if (!row) return { ok: false, reason: "unknown_state" };
  if (row.used_at !== null) return { ok: false, reason: "replayed_state" };
  if (browser === undefined || !sha256(browser).equals(row.browser_hash))
    return { ok: false, reason: "other_browser" };
  await db.updateTable("sso_flows").set({ used_at: new Date() }).where("id", "=", row.id).execute();
  if (row.expires_at.getTime() <= Date.now()) return { ok: false, reason: "expired" };
  return { ok: true, flowId: row.id, sealedSecrets: row.sealed_secrets };
}
