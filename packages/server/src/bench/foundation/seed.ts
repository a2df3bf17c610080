import { randomBytes } from "node:crypto";
import type { AssignableRole } from "@patchpilot/domain";
import { sql } from "kysely";
import { verifyChain } from "../../audit/verify.js";
import { anyOf } from "../../db/any-of.js";
import type { Database } from "../../db/database.js";
import type { AuditContext } from "../../db/unit-of-work.js";
import { hashPassword } from "../../identity/passwords.js";
import { csrfTokenFor, openSession } from "../../identity/sessions.js";
import { createOrganization, createUser } from "../../organizations/create-organization.js";

export const BENCH_CONTEXT: AuditContext = {
  actor: { type: "system", id: null },
  requestId: null,
  ip: null,
  userAgent: null,
};

/** The two roles the write scenario toggles between; neither needs an Owner to grant it. */
export type ToggledRole = Extract<AssignableRole, "operator" | "auditor">;

export interface BenchMember {
  userId: string;
  role: ToggledRole;
}

export interface BenchOrg {
  organizationId: string;
  owner: { userId: string; token: string; csrf: string };
  members: BenchMember[];
}

/**
 * One organisation with its Owner (signed in) and `memberCount` other members, made through the
 * same functions setup and the test fixtures use, so the rows and audit chain are the real ones.
 */
export async function seedOrganization(db: Database, memberCount: number): Promise<BenchOrg> {
  // Nobody signs in with it; one hash for everyone keeps seeding fast.
  const passwordHash = await hashPassword(randomBytes(24).toString("base64url"));
  const tag = randomBytes(4).toString("hex");
  return db.system(BENCH_CONTEXT, async (tx) => {
    const ownerId = await createUser(tx, {
      email: `owner-${tag}@bench.example`,
      name: "Bench Owner",
      passwordHash,
    });
    const organizationId = await createOrganization(tx, { name: `Bench ${tag}`, ownerUserId: ownerId });
    const members: BenchMember[] = [];
    for (let i = 0; i < memberCount; i++) {
      const role: ToggledRole = i % 2 === 0 ? "operator" : "auditor";
      const userId = await createUser(tx, {
        email: `member-${i}-${tag}@bench.example`,
        name: `Bench Member ${i}`,
        passwordHash,
      });
      await tx.db
        .insertInto("memberships")
        .values({ organization_id: organizationId, user_id: userId, role })
        .execute();
      tx.audit(organizationId, {
        action: "users.added",
        target: { type: "user", id: userId },
        details: { role },
      });
      members.push({ userId, role });
    }
    // Opened directly rather than through sign-in, which the bench does not measure.
    const { token } = await openSession(tx, ownerId, { ip: "127.0.0.1", userAgent: "patchpilot-bench" });
    return { organizationId, owner: { userId: ownerId, token, csrf: csrfTokenFor(token) }, members };
  });
}

/** The members' roles as the database has them now (a run may end with requests still in flight). */
export async function currentRoles(db: Database, org: BenchOrg): Promise<BenchMember[]> {
  const rows = await db.systemReader
    .selectFrom("memberships")
    .select(["user_id", "role"])
    .where("organization_id", "=", org.organizationId)
    .where(
      anyOf(
        "user_id",
        org.members.map((m) => m.userId),
        "uuid",
      ),
    )
    .execute();
  const byId = new Map(rows.map((r) => [r.user_id, r.role]));
  return org.members.map((m) => {
    const role = byId.get(m.userId);
    if (role !== "operator" && role !== "auditor") {
      throw new Error(`member ${m.userId} has role ${String(role)}, expected operator or auditor`);
    }
    return { userId: m.userId, role };
  });
}

export interface WriteAudit {
  /** `users.role_changed` rows in the organisation's chain. */
  roleChanges: number;
  /** Of those, changes whose old and new role were the same (should be none). */
  noOpChanges: number;
  chainValid: boolean;
  chainRows: number;
}

/** Checks the write scenario's effect: one audit row per change, and an intact hash chain. */
export async function auditWrites(db: Database, organizationId: string): Promise<WriteAudit> {
  const counts = await db.systemReader
    .selectFrom("audit_events")
    .select((eb) => [
      eb.fn.countAll<number>().as("total"),
      sql<number>`count(*) filter (where details->>'from' = details->>'to')`.as("noop"),
    ])
    .where("organization_id", "=", organizationId)
    .where("action", "=", "users.role_changed")
    .executeTakeFirstOrThrow();
  const chain = await verifyChain(db.systemReader, organizationId, "audit");
  return {
    roleChanges: Number(counts.total),
    noOpChanges: Number(counts.noop),
    chainValid: chain.valid,
    chainRows: chain.checkedRows,
  };
}
