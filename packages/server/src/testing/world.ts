import { createHash } from "node:crypto";
import { ASSIGNABLE_ROLES, type AssignableRole } from "@patchpilot/domain";
import { generateToken, hashToken, toWireInventory } from "@patchpilot/protocol";
import type { Database } from "../db/database.js";
import { createDevicesCapability } from "../devices/capability.js";
import { queueJob } from "../devices/jobs.js";
import { addTestMember, createTestOrg, type TestOrg, type TestPerson } from "./app.js";
import { SYSTEM_CONTEXT } from "./database.js";
import { createTestEnrollmentToken, enrollTestDevice, sampleInventory, type TestDevice } from "./devices.js";

/** One organisation with a member of every role and a row in every tenant table. */
export interface SeededOrg extends TestOrg {
  members: Record<AssignableRole, TestPerson>;
  invitationId: string;
  /** A session of one of its people, for routes that name a session. */
  sessionId: string;
  enrollmentTokenId: string;
  /** The secret of that enrolment token (B's is used to try enrolling into A). */
  enrollmentToken: string;
  groupId: string;
  /** Two enrolled devices: the first has an inventory and a job; the second calls as the first. */
  device: TestDevice;
  otherDevice: TestDevice;
  /** A package name only this organisation has installed. */
  packageName: string;
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
  return {
    ...org,
    members,
    invitationId,
    sessionId: session.id,
    ...(await seedDevices(db, org.organizationId, name)),
  };
}

/** Devices, an inventory, a group and a job, made through the same services agents reach. */
async function seedDevices(db: Database, organizationId: string, orgName: string) {
  const slug = orgName.toLowerCase().replace(/\W/g, "");
  const groupId = await db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const row = await tx.db
      .insertInto("device_groups")
      .values({ name: `${slug} servers` })
      .returning("id")
      .executeTakeFirstOrThrow();
    tx.audit({ action: "device_groups.created", target: { type: "device_group", id: row.id } });
    return row.id;
  });
  const enrollment = await createTestEnrollmentToken(db, organizationId, { groupId });
  const device = await enrollTestDevice(db, organizationId, {
    hostname: `${slug}-web.example.test`,
    enrollmentToken: enrollment.token,
  });
  const otherDevice = await enrollTestDevice(db, organizationId, {
    hostname: `${slug}-db.example.test`,
    enrollmentToken: enrollment.token,
  });
  const packageName = `${slug}-secret-pkg`;
  const devices = createDevicesCapability(db);
  const client = { requestId: null, ip: "127.0.0.1", userAgent: "test" };
  const session = await devices.sessions.authenticate(device.token, device.deviceId, client);
  await devices.ingest.full(
    session,
    { ...client, actor: { type: "device", id: device.deviceId } },
    {
      reportId: crypto.randomUUID(),
      inventory: toWireInventory(sampleInventory(12, packageName)),
    },
  );
  await db.withOrganization(organizationId, SYSTEM_CONTEXT, (tx) =>
    queueJob(tx, SYSTEM_CONTEXT.actor, device.deviceId, "inventory"),
  );
  return {
    enrollmentTokenId: enrollment.id,
    enrollmentToken: enrollment.token,
    groupId,
    device,
    otherDevice,
    packageName,
  };
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
    org.enrollmentTokenId,
    org.groupId,
    org.packageName,
    ...[org.device, org.otherDevice].flatMap((d) => [d.deviceId, d.hostname, d.hardwareId]),
    ...Object.values(org.members).flatMap((m) => [m.userId, m.email]),
  ];
}

/** Every table with an organization_id: a new tenant table is in the fingerprint without a change here. */
async function tenantTables(db: Database): Promise<string[]> {
  const rows = await db.owner.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name = 'organization_id' ORDER BY table_name`,
  );
  // Signals are delivery notices that expire; what they announce is in the other tables.
  return rows.map((r) => r.table_name).filter((t) => t !== "agent_signals");
}

/** A fingerprint of everything organisation `org` holds, read as the schema owner. */
export async function snapshotOrg(db: Database, org: SeededOrg): Promise<string> {
  const hash = createHash("sha256");
  const own = await db.owner.query("SELECT * FROM organizations WHERE id = $1", [org.organizationId]);
  hash.update(`organizations:${JSON.stringify(own)}`);
  for (const table of await tenantTables(db)) {
    const rows = await db.owner.query(`SELECT * FROM ${table} WHERE organization_id = $1 ORDER BY 1, 2`, [
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

/** A fingerprint of what one device holds: its row, credentials, inventory, jobs, reports and events. */
export async function snapshotDevice(db: Database, deviceId: string): Promise<string> {
  const hash = createHash("sha256");
  for (const [table, column] of [
    ["devices", "id"],
    ["device_tokens", "device_id"],
    ["device_inventories", "device_id"],
    ["device_jobs", "device_id"],
    ["agent_reports", "device_id"],
    ["device_events", "device_id"],
    ["device_group_members", "device_id"],
  ] as const) {
    const rows = await db.owner.query(`SELECT * FROM ${table} WHERE ${column} = $1 ORDER BY 1, 2`, [
      deviceId,
    ]);
    hash.update(`${table}:${JSON.stringify(rows)}`);
  }
  return hash.digest("hex");
}
