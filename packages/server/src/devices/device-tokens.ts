import { generateToken, hashToken, type TokenRotationResponse } from "@patchpilot/protocol";
import type { Database, OrganizationTransaction } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import type { ClientInfo } from "../http/authenticate.js";
import type { AgentSession } from "./agent-sessions.js";
import { emitSignal } from "./signals.js";

/**
 * Issues the device a new token. The current one keeps working until the new one is first used,
 * so an agent that crashes before saving the new token is not locked out.
 */
export async function rotateDeviceToken(
  db: Database,
  session: AgentSession,
  ctx: AuditContext,
): Promise<TokenRotationResponse> {
  const token = generateToken("device");
  await db.withOrganization(session.organizationId, ctx, async (tx) => {
    // A rotation that was never completed is replaced by this one.
    await tx.db
      .updateTable("device_tokens")
      .set({ revoked_at: new Date(), revoked_reason: "rotated" })
      .where("device_id", "=", session.deviceId)
      .where("first_used_at", "is", null)
      .where("revoked_at", "is", null)
      .execute();
    const row = await tx.db
      .insertInto("device_tokens")
      .values({ device_id: session.deviceId, token_hash: hashToken(token) })
      .returning("id")
      .executeTakeFirstOrThrow();
    tx.deviceEvent({
      eventType: "device.token_issued",
      deviceId: session.deviceId,
      details: { tokenId: row.id },
    });
  });
  return { deviceToken: token };
}

/**
 * The first request with a rotated-in token: it becomes the device's token and the ones before it
 * stop working, in every server process.
 */
export async function completeRotation(
  db: Database,
  session: AgentSession,
  tokenId: string,
  client: ClientInfo,
): Promise<void> {
  const ctx: AuditContext = { ...client, actor: { type: "device", id: session.deviceId } };
  await db.withOrganization(session.organizationId, ctx, async (tx) => {
    await tx.db
      .updateTable("device_tokens")
      .set({ first_used_at: new Date() })
      .where("id", "=", tokenId)
      .where("first_used_at", "is", null)
      .execute();
    const retired = await tx.db
      .updateTable("device_tokens")
      .set({ revoked_at: new Date(), revoked_reason: "rotated" })
      .where("device_id", "=", session.deviceId)
      .where("id", "!=", tokenId)
      .where("revoked_at", "is", null)
      .returning("id")
      .execute();
    await emitSignal(tx, session.deviceId, "credentials_changed");
    tx.deviceEvent({
      eventType: "device.token_rotated",
      deviceId: session.deviceId,
      details: { tokenId, revokedTokenIds: retired.map((r) => r.id) },
    });
  });
}

/** Revokes every live token of a device inside the caller's transaction. */
export async function revokeAllTokens(
  tx: OrganizationTransaction,
  deviceId: string,
  reason: "revoked" | "retired",
): Promise<number> {
  const rows = await tx.db
    .updateTable("device_tokens")
    .set({ revoked_at: new Date(), revoked_reason: reason })
    .where("device_id", "=", deviceId)
    .where("revoked_at", "is", null)
    .returning("id")
    .execute();
  await emitSignal(tx, deviceId, "credentials_changed");
  return rows.length;
}

// A misbehaving agent could try other ids on every request: one event a minute per device is enough.
const MISUSE_EVENT_INTERVAL_MS = 60_000;

/**
 * Records a device token used for another device's id as a device event on the token's own
 * device (the operator sees that this agent, or whoever holds its token, reached for another).
 */
export function misuseRecorder(
  db: Database,
  onError: (error: unknown) => void,
): (session: AgentSession, attemptedDeviceId: string, client: ClientInfo) => Promise<void> {
  const lastRecorded = new Map<string, number>();
  return async (session, _attemptedDeviceId, client) => {
    const now = Date.now();
    if (now - (lastRecorded.get(session.deviceId) ?? 0) < MISUSE_EVENT_INTERVAL_MS) return;
    if (lastRecorded.size > 10_000) lastRecorded.clear();
    lastRecorded.set(session.deviceId, now);
    const ctx: AuditContext = { ...client, actor: { type: "device", id: session.deviceId } };
    await db
      .withOrganization(session.organizationId, ctx, async (tx) => {
        tx.deviceEvent({
          eventType: "device.token_misused",
          deviceId: session.deviceId,
          result: "failure",
          errorCode: "agent.wrong_device",
          // Not the id it tried: that may be another organisation's, and this record is this one's.
          details: { ip: client.ip, userAgent: client.userAgent },
        });
      })
      .catch(onError);
  };
}
