import type { Database, OrganizationTransaction } from "../db/database.js";
import { AppError } from "../http/errors.js";
import { type RequestContext, scopeOf } from "../http/route.js";
import { revokeAllTokens } from "./device-tokens.js";
import { queueJob } from "./jobs.js";
import { emitSignal } from "./signals.js";

const REENROLLMENT_WINDOW_MS = 24 * 3600 * 1000;

async function liveDevice(
  tx: OrganizationTransaction,
  deviceId: string,
): Promise<{ id: string; hostname: string }> {
  const row = await tx.db
    .selectFrom("devices")
    .select(["id", "hostname"])
    .where("id", "=", deviceId)
    .where("retired_at", "is", null)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new AppError("devices.not_found");
  return row;
}

/** Told, inside the update's transaction, that a device's criticality changed (risk depends on it). */
export type CriticalityListener = (tx: OrganizationTransaction, deviceId: string) => Promise<void>;

export async function updateDevice(
  db: Database,
  ctx: RequestContext,
  deviceId: string,
  input: { tags?: string[]; criticality?: "low" | "medium" | "high" | "critical" },
  onCriticality: readonly CriticalityListener[] = [],
): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const before = await tx.db
      .selectFrom("devices")
      .select(["tags", "criticality"])
      .where("id", "=", deviceId)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw new AppError("devices.not_found");
    const tags = input.tags ? [...new Set(input.tags)].sort() : undefined;
    await tx.db
      .updateTable("devices")
      .set({
        ...(tags ? { tags } : {}),
        ...(input.criticality ? { criticality: input.criticality } : {}),
        updated_at: new Date(),
      })
      .where("id", "=", deviceId)
      .execute();
    tx.audit({
      action: "devices.updated",
      target: { type: "device", id: deviceId },
      details: {
        ...(tags ? { tags: { from: before.tags, to: tags } } : {}),
        ...(input.criticality ? { criticality: { from: before.criticality, to: input.criticality } } : {}),
      },
    });
    if (input.criticality && input.criticality !== before.criticality) {
      for (const listener of onCriticality) await listener(tx, deviceId);
    }
  });
}

/** Revokes the device's token: its agent gets 401 on its next request, in every server process. */
export async function revokeDeviceCredentials(
  db: Database,
  ctx: RequestContext,
  deviceId: string,
): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const device = await liveDevice(tx, deviceId);
    const revoked = await revokeAllTokens(tx, deviceId, "revoked");
    tx.audit({
      action: "devices.token_revoked",
      target: { type: "device", id: deviceId },
      details: { hostname: device.hostname, revoked },
    });
    tx.deviceEvent({ eventType: "device.token_revoked", deviceId, details: { revoked } });
  });
}

/** Retires a device: its credentials end, its open jobs are cancelled, its history stays. */
export async function retireDevice(db: Database, ctx: RequestContext, deviceId: string): Promise<void> {
  const { organizationId } = scopeOf(ctx);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    const device = await liveDevice(tx, deviceId);
    await tx.db
      .updateTable("devices")
      .set({ retired_at: new Date(), updated_at: new Date() })
      .where("id", "=", deviceId)
      .execute();
    const revoked = await revokeAllTokens(tx, deviceId, "retired");
    const cancelled = await tx.db
      .updateTable("device_jobs")
      .set({ state: "canceled", completed_at: new Date() })
      .where("device_id", "=", deviceId)
      .where("state", "in", ["queued", "delivered"])
      .returning("id")
      .execute();
    tx.audit({
      action: "devices.retired",
      target: { type: "device", id: deviceId },
      details: { hostname: device.hostname, revokedTokens: revoked, cancelledJobs: cancelled.length },
    });
    tx.deviceEvent({ eventType: "device.retired", deviceId, details: { cancelledJobs: cancelled.length } });
  });
}

/** Lets an agent on the same machine enrol again within a day and take this device over. */
export async function allowReenrollment(
  db: Database,
  ctx: RequestContext,
  deviceId: string,
): Promise<{ allowedUntil: string }> {
  const { organizationId } = scopeOf(ctx);
  const until = new Date(Date.now() + REENROLLMENT_WINDOW_MS);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    await liveDevice(tx, deviceId);
    await tx.db
      .updateTable("devices")
      .set({ reenrollment_allowed_until: until, updated_at: new Date() })
      .where("id", "=", deviceId)
      .execute();
    tx.audit({
      action: "devices.reenrollment_allowed",
      target: { type: "device", id: deviceId },
      details: { until: until.toISOString() },
    });
  });
  return { allowedUntil: until.toISOString() };
}

/** Asks the device for its full inventory now, as a job its agent receives within seconds. */
export async function requestInventory(
  db: Database,
  ctx: RequestContext,
  deviceId: string,
): Promise<{ jobId: string }> {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    await liveDevice(tx, deviceId);
    const jobId = await queueJob(tx, ctx.actor, deviceId, "inventory");
    await emitSignal(tx, deviceId, "inventory_requested");
    tx.audit({
      action: "devices.inventory_requested",
      target: { type: "device", id: deviceId },
      details: { jobId },
    });
    return { jobId };
  });
}
