import { sql } from "kysely";
import type { Database, SystemTransaction } from "../../db/database.js";
import type { AuditContext } from "../../db/unit-of-work.js";
import { AppError } from "../../http/errors.js";
import { openSession } from "../sessions.js";
import type { SignedIn } from "../sign-in.js";
import { normalizeEmail } from "../sign-in.js";
import { consumeFlow, type SsoProtocol } from "./sso-flows.js";

/** The person the identity provider vouched for, after its answer was verified. */
export interface VerifiedIdentity {
  email: string;
  emailVerified: boolean;
  name: string | null;
}

/** What the organisation's configuration says about who may come in through its provider. */
export interface SsoPolicy {
  organizationId: string;
  allowedDomains: readonly string[];
  defaultRole: "admin" | "operator" | "auditor";
}

export type SsoRefusalCode =
  | "sso.flow_invalid"
  | "sso.response_invalid"
  | "sso.email_not_verified"
  | "sso.domain_not_allowed"
  | "sso.not_member"
  | "sso.owner_uses_password";

export type VerificationOutcome =
  | { ok: true; identity: VerifiedIdentity; assertion?: { id: string; expiresAt: Date } }
  | { ok: false; code: SsoRefusalCode; reason: string };

type Finished = { kind: "session"; signedIn: SignedIn } | { kind: "refused"; code: SsoRefusalCode };

/**
 * Ends a single sign-on in one transaction: uses up the sign-in's state, refuses a replayed SAML
 * assertion, checks the email is verified and its domain allowed, finds the member or provisions
 * one with the configured default role, and opens a session bound to the organisation. Every
 * outcome is audited in the organisation's chain; a refusal creates nothing.
 */
export async function finishSsoSignIn(
  db: Database,
  context: AuditContext,
  input: {
    protocol: SsoProtocol;
    policy: SsoPolicy;
    state: string;
    browser: string | undefined;
    outcome: VerificationOutcome;
  },
): Promise<SignedIn> {
  const { protocol, policy } = input;
  const orgId = policy.organizationId;
  const anonymous: AuditContext = { ...context, actor: { type: "anonymous", id: null } };
  const finished = await db.system(anonymous, async (tx): Promise<Finished> => {
    const refuse = (code: SsoRefusalCode, reason: string, extra: Record<string, unknown> = {}): Finished => {
      tx.audit(orgId, {
        action: "auth.sign_in_failed",
        result: "failure",
        errorCode: code,
        details: { method: protocol, reason, ...extra },
      });
      return { kind: "refused", code };
    };
    const flow = await consumeFlow(tx.db, orgId, protocol, input.state, input.browser);
    if (!flow.ok) return refuse("sso.flow_invalid", flow.reason);
    const { outcome } = input;
    if (!outcome.ok) return refuse(outcome.code, outcome.reason);
    if (outcome.assertion && !(await recordAssertion(tx, orgId, outcome.assertion))) {
      return refuse("sso.response_invalid", "replayed_assertion");
    }
    const email = normalizeEmail(outcome.identity.email);
    const at = email.lastIndexOf("@");
    const domain = at > 0 ? email.slice(at + 1) : "";
    if (!outcome.identity.emailVerified)
      return refuse("sso.email_not_verified", "email_not_verified", { domain });
    if (email.length > 254 || at <= 0 || !policy.allowedDomains.includes(domain)) {
      return refuse("sso.domain_not_allowed", "domain_not_allowed", { domain: domain.slice(0, 253) });
    }
    const existing = await tx.db
      .selectFrom("users")
      .select("id")
      .where("email", "=", email)
      .executeTakeFirst();
    let userId: string;
    if (existing) {
      const membership = await tx.db
        .selectFrom("memberships")
        .select("role")
        .where("organization_id", "=", orgId)
        .where("user_id", "=", existing.id)
        .executeTakeFirst();
      // A person of another organisation is not this organisation's to vouch for; an Owner is
      // kept out of reach of whoever controls the provider's configuration.
      if (!membership) return refuse("sso.not_member", "account_not_member", { domain });
      if (membership.role === "owner")
        return refuse("sso.owner_uses_password", "owner", { userId: existing.id });
      userId = existing.id;
    } else {
      userId = await provision(tx, policy, email, outcome.identity.name, protocol);
    }
    const session = await openSession(tx, userId, context, orgId);
    await tx.db.updateTable("users").set({ last_login_at: new Date() }).where("id", "=", userId).execute();
    tx.audit(orgId, {
      action: "auth.signed_in",
      target: { type: "session", id: session.sessionId },
      actor: { type: "user", id: userId },
      details: { method: protocol },
    });
    return { kind: "session", signedIn: { kind: "session", ...session, userId } };
  });
  if (finished.kind === "refused") throw new AppError(finished.code);
  return finished.signedIn;
}

/** Just-in-time provisioning: a new person, a member with the configured role (never Owner). */
async function provision(
  tx: SystemTransaction,
  policy: SsoPolicy,
  email: string,
  name: string | null,
  protocol: SsoProtocol,
): Promise<string> {
  const cleaned = (name ?? "")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim()
    .slice(0, 200);
  const user = await tx.db
    .insertInto("users")
    .values({ email, name: cleaned || email.slice(0, email.indexOf("@")) || email })
    .returning("id")
    .executeTakeFirstOrThrow();
  await tx.db
    .insertInto("memberships")
    .values({ organization_id: policy.organizationId, user_id: user.id, role: policy.defaultRole })
    .execute();
  tx.audit(policy.organizationId, {
    action: "users.added",
    target: { type: "user", id: user.id },
    details: { role: policy.defaultRole, via: protocol, provisioned: "just_in_time" },
  });
  return user.id;
}

/** Keeps a SAML assertion's id until it expires; false when the id was seen before (a replay). */
async function recordAssertion(
  tx: SystemTransaction,
  organizationId: string,
  assertion: { id: string; expiresAt: Date },
): Promise<boolean> {
  await tx.db
    .deleteFrom("sso_saml_assertions")
    .where("organization_id", "=", organizationId)
    .where("expires_at", "<", sql<Date>`now()`)
    .execute();
  const row = await tx.db
    .insertInto("sso_saml_assertions")
    .values({ organization_id: organizationId, assertion_id: assertion.id, expires_at: assertion.expiresAt })
    .onConflict((oc) => oc.columns(["organization_id", "assertion_id"]).doNothing())
    .returning("assertion_id")
    .executeTakeFirst();
  return row !== undefined;
}
