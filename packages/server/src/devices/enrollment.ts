import { randomUUID } from "node:crypto";
import {
  type EnrollRequest,
  type EnrollResponse,
  generateToken,
  hashToken,
  isWellFormedToken,
} from "@patchpilot/protocol";
import { sql } from "kysely";
import { PLATFORM_ORGANIZATION_ID } from "../audit/chain.js";
import type { Database, OrganizationTransaction } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import { AppError, type ErrorCode } from "../http/errors.js";
import { hit, mayRecordPlatformRefusal, retryAfter } from "../identity/rate-limit.js";
import { assertDeviceCapacity } from "../organizations/plan-gate.js";
import { bootTime, factsColumns } from "./device-facts.js";
import { emitSignal } from "./signals.js";

/** Failed enrolments per client address before it must wait: mistyped tokens, or guessing. */
const FAILED_ENROLLMENT_LIMIT = { max: 30, windowSeconds: 15 * 60 };

export interface EnrollmentSettings {
  checkInIntervalSeconds: number;
}

interface TokenRow {
  id: string;
  organization_id: string;
  group_id: string | null;
  expires_at: Date | null;
  max_uses: number | null;
  uses: number;
  revoked_at: Date | null;
}

/**
 * First contact of an agent: the organisation's enrolment token makes the machine a device of
 * that organisation and the agent receives its own device token, the only credential it keeps.
 * A machine already enrolled (same hardware id) is taken over only if an Admin allowed it.
 */
export async function enroll(
  db: Database,
  settings: EnrollmentSettings,
  token: string | null,
  request: EnrollRequest,
  client: Omit<AuditContext, "actor">,
): Promise<EnrollResponse> {
  const failureKey = `enroll:ip:${client.ip ?? "unknown"}`;
  const wait = await retryAfter(db, failureKey, FAILED_ENROLLMENT_LIMIT);
  if (wait > 0) throw new AppError("enrollment.rate_limited", { retryAfterSeconds: wait });
  if (token === null || !isWellFormedToken("enrollment", token)) {
    await hit(db, failureKey, FAILED_ENROLLMENT_LIMIT);
    throw new AppError("enrollment.token_invalid");
  }
  const tokenRow = await db.systemReader
    .selectFrom("enrollment_tokens")
    .select(["id", "organization_id", "group_id", "expires_at", "max_uses", "uses", "revoked_at"])
    .where("token_hash", "=", hashToken(token))
    .executeTakeFirst();
  if (!tokenRow) {
    await hit(db, failureKey, FAILED_ENROLLMENT_LIMIT);
    // A token nobody holds goes to the platform chain, throttled per client address.
    if (await mayRecordPlatformRefusal(db, "enrollment_token", client.ip)) {
      await recordFailure(db, client, PLATFORM_ORGANIZATION_ID, null, "enrollment.token_invalid", request);
    }
    throw new AppError("enrollment.token_invalid");
  }
  const unusable = whyUnusable(tokenRow);
  if (unusable) {
    await hit(db, failureKey, FAILED_ENROLLMENT_LIMIT);
    await recordFailure(db, client, tokenRow.organization_id, tokenRow.id, unusable, request);
    throw new AppError(unusable);
  }

  // The device id is chosen first so the audit rows can name the new device as their actor.
  const existing = await db.withOrganization(tokenRow.organization_id, { ...client, actor: SYSTEM }, (tx) =>
    liveDeviceOn(tx, request.hardwareId),
  );
  const deviceId = existing?.id ?? randomUUID();
  const context: AuditContext = { ...client, actor: { type: "device", id: deviceId } };
  const deviceToken = generateToken("device");
  try {
    await db.withOrganization(tokenRow.organization_id, context, async (tx) => {
      const locked = await tx.db
        .selectFrom("enrollment_tokens")
        .select(["id", "organization_id", "group_id", "expires_at", "max_uses", "uses", "revoked_at"])
        .where("id", "=", tokenRow.id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const stillUnusable = whyUnusable(locked);
      if (stillUnusable) throw new AppError(stillUnusable);
      const live = await liveDeviceOn(tx, request.hardwareId);
      if (live && live.id !== deviceId) throw new AppError("devices.already_enrolled");
      if (live) {
        if (!live.reenrollment_allowed_until || live.reenrollment_allowed_until.getTime() <= Date.now()) {
          throw new AppError("devices.already_enrolled");
        }
        await takeOver(tx, deviceId, request);
      } else {
        await assertDeviceCapacity(tx);
        await createDevice(tx, deviceId, locked, request);
      }
      await tx.db
        .insertInto("device_tokens")
        .values({ device_id: deviceId, token_hash: hashToken(deviceToken), first_used_at: new Date() })
        .execute();
      await tx.db
        .updateTable("enrollment_tokens")
        .set({ uses: sql<number>`uses + 1`, last_used_at: new Date() })
        .where("id", "=", locked.id)
        .execute();
      const details = {
        hostname: request.facts.hostname,
        os: `${request.facts.os.name} ${request.facts.os.version}`,
        hardwareId: request.hardwareId,
        enrollmentTokenId: locked.id,
      };
      const verb = live ? "reenrolled" : "enrolled";
      tx.audit({ action: `devices.${verb}`, target: { type: "device", id: deviceId }, details });
      tx.deviceEvent({ eventType: `device.${verb}`, deviceId, details });
    });
  } catch (error) {
    if (
      error instanceof AppError &&
      (error.code === "devices.already_enrolled" || error.code === "plans.device_limit_reached")
    ) {
      await recordFailure(
        db,
        client,
        tokenRow.organization_id,
        tokenRow.id,
        error.code,
        request,
        existing?.id,
      );
    }
    throw error;
  }
  return {
    deviceId,
    organizationId: tokenRow.organization_id,
    deviceToken,
    checkInIntervalSeconds: settings.checkInIntervalSeconds,
    reenrolled: existing !== undefined,
  };
}

const SYSTEM = { type: "system", id: null } as const;

function whyUnusable(row: TokenRow): ErrorCode | null {
  if (row.revoked_at) return "enrollment.token_revoked";
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) return "enrollment.token_expired";
  if (row.max_uses !== null && row.uses >= row.max_uses) return "enrollment.token_used_up";
  return null;
}

function liveDeviceOn(tx: OrganizationTransaction, hardwareId: string) {
  return tx.db
    .selectFrom("devices")
    .select(["id", "reenrollment_allowed_until"])
    .where("hardware_id", "=", hardwareId)
    .where("retired_at", "is", null)
    .executeTakeFirst();
}

async function createDevice(
  tx: OrganizationTransaction,
  deviceId: string,
  token: TokenRow,
  request: EnrollRequest,
): Promise<void> {
  await tx.db
    .insertInto("devices")
    .values({
      id: deviceId,
      hardware_id: request.hardwareId,
      enrolled_with: token.id,
      ...factsColumns(request.facts),
    })
    .execute();
  const now = Date.now();
  await tx.db
    .insertInto("device_presence")
    .values({
      device_id: deviceId,
      last_seen_at: new Date(now),
      booted_at: new Date(bootTime(request.facts, now)),
    })
    .execute();
  if (token.group_id) {
    await tx.db
      .insertInto("device_group_members")
      .values({ group_id: token.group_id, device_id: deviceId })
      .execute();
  }
}

/** A reinstalled agent takes over its machine's device: history kept, old credentials revoked. */
async function takeOver(
  tx: OrganizationTransaction,
  deviceId: string,
  request: EnrollRequest,
): Promise<void> {
  await tx.db
    .updateTable("devices")
    .set({ ...factsColumns(request.facts), reenrollment_allowed_until: null, updated_at: new Date() })
    .where("id", "=", deviceId)
    .execute();
  await tx.db
    .updateTable("device_tokens")
    .set({ revoked_at: new Date(), revoked_reason: "reenrolled" })
    .where("device_id", "=", deviceId)
    .where("revoked_at", "is", null)
    .execute();
  await emitSignal(tx, deviceId, "credentials_changed");
}

/** A refused enrolment is audited where someone can see it: the token's organisation, if known. */
async function recordFailure(
  db: Database,
  client: Omit<AuditContext, "actor">,
  organizationId: string,
  tokenId: string | null,
  code: ErrorCode,
  request: EnrollRequest,
  deviceId?: string,
): Promise<void> {
  await db.system({ ...client, actor: { type: "anonymous", id: null } }, async (tx) => {
    const details = {
      hostname: request.facts.hostname,
      hardwareId: request.hardwareId,
      enrollmentTokenId: tokenId,
    };
    tx.audit(organizationId, {
      action: "devices.enrollment_refused",
      ...(tokenId ? { target: { type: "enrollment_token", id: tokenId } } : {}),
      result: "failure",
      errorCode: code,
      details,
    });
    if (deviceId) {
      tx.deviceEvent(organizationId, {
        eventType: "device.enrollment_refused",
        deviceId,
        result: "failure",
        errorCode: code,
        details,
      });
    }
  });
}
