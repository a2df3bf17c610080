import type { SystemTransaction } from "../db/database.js";

/**
 * Creates an organisation with its two audit chains and its first Owner, inside the caller's
 * transaction. Creating organisations is cross-tenant by nature, so it runs as the system.
 */
export async function createOrganization(
  tx: SystemTransaction,
  input: { name: string; ownerUserId: string },
): Promise<string> {
  const org = await tx.db
    .insertInto("organizations")
    .values({ name: input.name })
    .returning("id")
    .executeTakeFirstOrThrow();
  await tx.db
    .insertInto("audit_chain_heads")
    .values([
      { organization_id: org.id, chain: "audit" },
      { organization_id: org.id, chain: "device" },
    ])
    .execute();
  await tx.db
    .insertInto("memberships")
    .values({ organization_id: org.id, user_id: input.ownerUserId, role: "owner" })
    .execute();
  tx.audit(org.id, { action: "organization.created", target: { type: "organization", id: org.id } });
  tx.audit(org.id, {
    action: "users.added",
    target: { type: "user", id: input.ownerUserId },
    details: { role: "owner" },
  });
  return org.id;
}

/** Creates a person's account inside the caller's transaction; the password is already hashed. */
export async function createUser(
  tx: SystemTransaction,
  input: { email: string; name: string; passwordHash: string },
): Promise<string> {
  const user = await tx.db
    .insertInto("users")
    .values({
      email: input.email,
      name: input.name,
      password_hash: input.passwordHash,
      password_changed_at: new Date(),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return user.id;
}
