import { createHash } from "node:crypto";
import { ASSIGNABLE_ROLES, type AssignableRole } from "@patchpilot/domain";
import { generateToken, hashToken } from "@patchpilot/protocol";
import type { Database } from "../db/database.js";
import { addTestMember, createTestOrg, type TestOrg, type TestPerson } from "./app.js";
import { SYSTEM_CONTEXT } from "./database.js";

/** One organisation with a member of every role and a row in every tenant table. */
export interface SeededOrg extends TestOrg {
  members: Record<AssignableRole, TestPerson>;
  invitationId: string;
  /** A session of one of its people, for routes that name a session. */
  sessionId: string;
}

/** Two organisations, A and B, seeded alike: the cross-tenant tests call B's people against A's ids. */
export interface World {
  a: SeededOrg;
  b: SeededOrg;
}

async function seedOrg(db: Database, name: string): Promise<SeededOrg> {
  const org = await createTestOrg(db, name);
  const members = { owner: org.owner } as Record<AssignableRole, TestPerson>;
  for (const role of ASSIGNABLE_ROLES) {
    if (role !== "owner") members[role] = await addTestMember(db, org.organizationId, role);
  }
  const invitationId = await db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
    const row = await tx.db
      .insertInto("invitations")
      .values({
        email: `invitee-${name.toLowerCase().replace(/\W/g, "")}@example.test`,
        role: "auditor",
        token_hash: hashToken(generateToken("invitation")),
        invited_by: org.owner.userId,
        expires_at: new Date(Date.now() + 86_400_000),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    tx.audit({ action: "invitations.created", target: { type: "invitation", id: row.id } });
    tx.deviceEvent({ eventType: "device.seeded", deviceId: crypto.randomUUID(), details: { by: "test" } });
    return row.id;
  });
  const session = await db.systemReader
    .selectFrom("sessions")
    .select("id")
    .where("user_id", "=", members.operator.userId)
    .executeTakeFirstOrThrow();
  return { ...org, members, invitationId, sessionId: session.id };
}

export async function seedWorld(db: Database): Promise<World> {
  return { a: await seedOrg(db, "Alpha Tenant"), b: await seedOrg(db, "Bravo Tenant") };
}

/** Values of A's that must never appear in an answer to one of B's people. */
export function secretsOf(org: SeededOrg): string[] {
  return [
    org.organizationId,
    org.name,
    org.invitationId,
    org.sessionId,
    ...Object.values(org.members).flatMap((m) => [m.userId, m.email]),
  ];
}

const TENANT_TABLES = [
  "organizations",
  "memberships",
  "invitations",
  "audit_chain_heads",
  "audit_events",
  "device_events",
];

/** A fingerprint of everything organisation `org` holds, read as the schema owner. */
export async function snapshotOrg(db: Database, org: SeededOrg): Promise<string> {
  const hash = createHash("sha256");
  for (const table of TENANT_TABLES) {
    const column = table === "organizations" ? "id" : "organization_id";
    const rows = await db.owner.query(`SELECT * FROM ${table} WHERE ${column} = $1 ORDER BY 1, 2`, [
      org.organizationId,
    ]);
    hash.update(`${table}:${JSON.stringify(rows)}`);
  }
  const userIds = Object.values(org.members).map((m) => m.userId);
  hash.update(
    JSON.stringify(
      await db.owner.query("SELECT * FROM users WHERE id = ANY($1::uuid[]) ORDER BY id", [userIds]),
    ),
  );
  hash.update(
    JSON.stringify(
      await db.owner.query(
        "SELECT id, user_id, revoked_at, idle_expires_at FROM sessions WHERE user_id = ANY($1::uuid[]) ORDER BY id",
        [userIds],
      ),
    ),
  );
  return hash.digest("hex");
}
