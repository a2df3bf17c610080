import { ASSIGNABLE_ROLES, type AssignableRole } from "@patchpilot/domain";
import type { Database } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import { AppError } from "../http/errors.js";
import { createUser } from "../organizations/create-organization.js";
import { replacePassword, revokeSessionsOf } from "./credentials.js";
import { assertPasswordAcceptable, hashPassword } from "./passwords.js";
import { normalizeEmail } from "./sign-in.js";
import { auditForPerson } from "./user-audit.js";

/** Instance-administration operations for the command line (the server's operator, not a tenant). */

export function parseRole(role: string): AssignableRole {
  const found = ASSIGNABLE_ROLES.find((r) => r === role);
  if (!found) throw new Error(`role must be one of ${ASSIGNABLE_ROLES.join(", ")}`);
  return found;
}

export async function listOrganizationMembers(db: Database, organizationId: string) {
  return db.systemReader
    .selectFrom("memberships as m")
    .innerJoin("users as u", "u.id", "m.user_id")
    .select(["u.id", "u.email", "u.name", "m.role", "u.last_login_at"])
    .where("m.organization_id", "=", organizationId)
    .orderBy("u.email")
    .execute();
}

/** Adds a person to an organisation, creating their account if it does not exist. */
export async function addMember(
  db: Database,
  context: AuditContext,
  input: {
    organizationId: string;
    email: string;
    name: string;
    role: AssignableRole;
    password: string | null;
  },
): Promise<string> {
  const email = normalizeEmail(input.email);
  const existing = await db.systemReader
    .selectFrom("users")
    .select("id")
    .where("email", "=", email)
    .executeTakeFirst();
  let passwordHash: string | null = null;
  if (!existing) {
    if (!input.password) throw new Error("a new account needs a password");
    assertPasswordAcceptable(input.password);
    passwordHash = await hashPassword(input.password);
  }
  return db.system(context, async (tx) => {
    const org = await tx.db
      .selectFrom("organizations")
      .select("id")
      .where("id", "=", input.organizationId)
      .executeTakeFirst();
    if (!org) throw new AppError("organization.not_found");
    const userId =
      existing?.id ?? (await createUser(tx, { email, name: input.name, passwordHash: passwordHash ?? "" }));
    await tx.db
      .insertInto("memberships")
      .values({ organization_id: input.organizationId, user_id: userId, role: input.role })
      .execute();
    tx.audit(input.organizationId, {
      action: "users.added",
      target: { type: "user", id: userId },
      details: { role: input.role },
    });
    return userId;
  });
}

/** Sets a person's password (account recovery) and ends all their sessions. */
export async function resetPassword(
  db: Database,
  context: AuditContext,
  emailInput: string,
  password: string,
): Promise<void> {
  const email = normalizeEmail(emailInput);
  assertPasswordAcceptable(password);
  const passwordHash = await hashPassword(password);
  await db.system(context, async (tx) => {
    const user = await tx.db.selectFrom("users").select("id").where("email", "=", email).executeTakeFirst();
    if (!user) throw new Error("there is no account with that email address");
    await replacePassword(tx, user.id, passwordHash, null);
    await auditForPerson(tx, user.id, {
      action: "auth.password_reset",
      target: { type: "user", id: user.id },
    });
  });
}

export async function revokeAllSessions(
  db: Database,
  context: AuditContext,
  emailInput: string,
): Promise<number> {
  const email = normalizeEmail(emailInput);
  return db.system(context, async (tx) => {
    const user = await tx.db.selectFrom("users").select("id").where("email", "=", email).executeTakeFirst();
    if (!user) throw new Error("there is no account with that email address");
    const revoked = await revokeSessionsOf(tx, user.id);
    await auditForPerson(tx, user.id, {
      action: "auth.sessions_revoked",
      target: { type: "user", id: user.id },
      details: { revoked },
    });
    return revoked;
  });
}
