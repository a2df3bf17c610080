import { createHash } from "node:crypto";
import { ASSIGNABLE_ROLES, type AssignableRole } from "@patchpilot/domain";
import { generateToken, hashToken, toWireInventory } from "@patchpilot/protocol";
import { signCheckpoints } from "../compliance/checkpoints/checkpoints.js";
import { EvidenceKeyStore } from "../compliance/evidence/evidence-key.js";
import type { Database } from "../db/database.js";
import { createDevicesCapability } from "../devices/capability.js";
import { queueJob } from "../devices/jobs.js";
import { JobRunner } from "../jobs/job-runner.js";
import { SecretBox } from "../secrets/secret-box.js";
import { createVulnsCapability } from "../vulns/capability.js";
import { recordDailyStats } from "../vulns/findings/daily-stats.js";
import {
  addTestMember,
  createTestOrg,
  TEST_SECRET_KEY,
  type TestOrg,
  type TestPerson,
  testConfig,
} from "./app.js";
import { SYSTEM_CONTEXT } from "./database.js";
import { createTestEnrollmentToken, enrollTestDevice, sampleInventory, type TestDevice } from "./devices.js";
import { type SeededMsp, seedIdentity, seedMsp } from "./identity-world.js";
import { createTestPolicy, createTestRollout, createTestWindow } from "./patching.js";
import { seedSso } from "./sso.js";
import { advisory, importTestAdvisories, opensslPackages } from "./vulns.js";

/** The knowledge base's one vulnerability: public, the same for both organisations. */
export const WORLD_VULNERABILITY = "CVE-2026-4242";

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
  /** The world's vulnerability (public) and this organisation's finding of it on `device`. */
  vulnerabilityId: string;
  findingId: string;
  /** A decision (a false positive on `otherDevice`), and its reason, which is the tenant's. */
  suppressionId: string;
  suppressionReason: string;
  /** A maintenance window, a patch policy and a rollout (to `groupId`), named after the tenant. */
  windowId: string;
  policyId: string;
  rolloutId: string;
  /** An Admin API token (id, name, secret) and the organisation's security settings. */
  apiTokenId: string;
  apiTokenName: string;
  apiToken: string;
  /** An alert rule with an open alert and a notice queued for it. */
  alertRuleId: string;
}

/** Two organisations, A and B, seeded alike: the cross-tenant tests call B's people against A's ids. */
export interface World {
  a: SeededOrg;
  b: SeededOrg;
  /** An MSP managing both, with a technician assigned to each and a member assigned to none. */
  msp: SeededMsp;
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
  const devices = await seedDevices(db, org.organizationId, name);
  await seedComplianceData(db, org.organizationId, name);
  await seedSso(db, org.organizationId, name);
  return {
    ...org,
    members,
    invitationId,
    sessionId: session.id,
    ...devices,
    ...(await seedVulnerabilityData(db, org.organizationId, name, devices)),
    windowId: await createTestWindow(db, org.organizationId, `${name} window`),
    policyId: await createTestPolicy(db, org.organizationId, `${name} policy`),
    rolloutId: await createTestRollout(db, org.organizationId, devices.groupId, `${name} rollout`),
    ...(await seedIdentity(db, org.organizationId, name)),
    alertRuleId: await seedAlerts(db, org.organizationId, name),
  };
}

/** An alert rule (named after the tenant), an alert it raised and the notice waiting to go out. */
async function seedAlerts(db: Database, organizationId: string, orgName: string): Promise<string> {
  return db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const slug = orgName.toLowerCase().replace(/\W/g, "");
    const rule = await tx.db
      .insertInto("alert_rules")
      .values({
        name: `${orgName} devices offline`,
        kind: "device_offline",
        threshold: 24,
        emails: [`ops@${slug}.example.test`],
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const alert = await tx.db
      .insertInto("alerts")
      .values({ rule_id: rule.id, kind: "device_offline", summary: `${orgName} has a device offline` })
      .returning("id")
      .executeTakeFirstOrThrow();
    await tx.db
      .insertInto("alert_deliveries")
      .values({ alert_id: alert.id, event: "raised", channel: "email" })
      .execute();
    tx.audit({ action: "alerts.raised", target: { type: "alert", id: alert.id } });
    return rule.id;
  });
}

/**
 * Compliance rows: a signed checkpoint, a SIEM destination (named after the tenant) with an event
 * queued for it, and a retention anchor (as the retention role would leave it after a purge).
 */
async function seedComplianceData(db: Database, organizationId: string, orgName: string) {
  const key = await new EvidenceKeyStore(db, new SecretBox(Buffer.from(TEST_SECRET_KEY, "base64"))).current();
  await signCheckpoints(db, organizationId, SYSTEM_CONTEXT, key);
  await db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const host = `siem.${orgName.toLowerCase().replace(/\W/g, "")}.example.test`;
    await tx.db.insertInto("siem_configs").values({ host, port: 6514, transport: "tcp" }).execute();
    tx.audit({ action: "siem.configured", details: { host } });
  });
  await db.owner.query(
    "INSERT INTO audit_chain_anchors (organization_id, chain, seq, hash) VALUES ($1, 'device', 0, $2)",
    [organizationId, Buffer.alloc(32)],
  );
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
  // Inventory changes reach the matcher through the vulnerability capability's listener.
  const vulns = createVulnsCapability(db, devices, new JobRunner(db, () => {}), testConfig());
  const client = { requestId: null, ip: "127.0.0.1", userAgent: "test" };
  const session = await devices.sessions.authenticate(device.token, device.deviceId, client);
  await devices.ingest.full(
    session,
    { ...client, actor: { type: "device", id: device.deviceId } },
    {
      reportId: crypto.randomUUID(),
      inventory: toWireInventory(withOpenssl(sampleInventory(12, packageName))),
    },
  );
  await vulns.matcher.drain();
  await vulns.stop();
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

function withOpenssl(inventory: ReturnType<typeof sampleInventory>) {
  return { ...inventory, packages: [...inventory.packages, ...opensslPackages("3.0.11-1~deb12u1")] };
}

/**
 * What vulnerability management keeps per organisation: the matcher's findings of the world's
 * advisory, a decision, SLA settings and a day's figures.
 */
async function seedVulnerabilityData(
  db: Database,
  organizationId: string,
  orgName: string,
  seeded: { device: TestDevice; otherDevice: TestDevice },
) {
  const suppressionReason = `${orgName} keeps this reason to itself`;
  const ids = await db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const finding = await tx.db
      .selectFrom("findings")
      .select("id")
      .where("device_id", "=", seeded.device.deviceId)
      .where("vulnerability_id", "=", WORLD_VULNERABILITY)
      .orderBy("package_name")
      .executeTakeFirstOrThrow();
    const suppression = await tx.db
      .insertInto("suppressions")
      .values({
        vulnerability_id: WORLD_VULNERABILITY,
        scope_type: "device",
        scope_id: seeded.otherDevice.deviceId,
        kind: "false_positive",
        justification: "component_not_present",
        reason: suppressionReason,
        owner: "Security",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await tx.db.insertInto("vulnerability_settings").values({ sla_critical_days: 7 }).execute();
    tx.audit({ action: "suppressions.created", target: { type: "suppression", id: suppression.id } });
    return { findingId: finding.id, suppressionId: suppression.id };
  });
  await recordDailyStats(db, organizationId, new Date().toISOString().slice(0, 10));
  return { vulnerabilityId: WORLD_VULNERABILITY, suppressionReason, ...ids };
}

export async function seedWorld(db: Database): Promise<World> {
  await importTestAdvisories(db, [
    advisory(WORLD_VULNERABILITY, [{ fixed: "3.0.11-1~deb12u2" }], { aliases: ["DSA-4242-1"] }),
  ]);
  const a = await seedOrg(db, "Alpha Tenant");
  const b = await seedOrg(db, "Bravo Tenant");
  const world = { a, b, msp: await seedMsp(db, { a: a.organizationId, b: b.organizationId }) };
  for (const org of [world.a, world.b]) await queueUnmatchedChange(db, org);
  return world;
}

/**
 * An inventory change the matcher has not taken yet. Queued last: seeding matches every queued
 * change, and the cross-tenant harness runs without background work, so this one stays queued.
 */
async function queueUnmatchedChange(db: Database, org: SeededOrg): Promise<void> {
  await db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
    const finding = await tx.db
      .selectFrom("findings")
      .select("software_id")
      .where("id", "=", org.findingId)
      .executeTakeFirstOrThrow();
    await tx.db
      .insertInto("inventory_changes")
      .values({ device_id: org.device.deviceId, added: [finding.software_id], removed: [] })
      .execute();
    tx.audit({ action: "inventory.changed", target: { type: "device", id: org.device.deviceId } });
  });
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
    org.findingId,
    org.suppressionId,
    org.suppressionReason,
    org.apiTokenId,
    org.apiTokenName,
    org.alertRuleId,
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
