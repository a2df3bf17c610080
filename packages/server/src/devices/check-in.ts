import type { CheckInRequest, CheckInResponse, DeviceFacts, InventoryRequest } from "@patchpilot/protocol";
import type { Database } from "../db/database.js";
import type { RequestContext } from "../http/route.js";
import type { AgentSession } from "./agent-sessions.js";
import { bootTime, factsColumns, factsFingerprint } from "./device-facts.js";
import { deliverJobs } from "./jobs.js";
import type { PresenceRecorder } from "./presence.js";

export interface CheckInSettings {
  checkInIntervalSeconds: number;
  /** Age after which the server asks an agent to rotate its device token. */
  tokenRotationDays: number;
}

// A clock that moves this much between two boot-time readings is a reboot, not drift or jitter.
const REBOOT_TOLERANCE_MS = 120_000;

/**
 * A check-in. The common case — same facts, same inventory, nothing queued — is answered from
 * memory: the only database work is the batched last-seen write. Anything that changed is written
 * with its device event before the answer.
 */
export async function checkIn(
  db: Database,
  presence: PresenceRecorder,
  settings: CheckInSettings,
  session: AgentSession,
  ctx: RequestContext,
  body: CheckInRequest,
): Promise<CheckInResponse> {
  const now = Date.now();
  const bootedAt = bootTime(body.facts, now);
  const rebooted = session.bootedAt !== null && Math.abs(bootedAt - session.bootedAt) > REBOOT_TOLERANCE_MS;
  const fingerprint = factsFingerprint(body.facts).toString("base64");
  if (fingerprint !== session.factsHash || rebooted) {
    await recordFactsChange(
      db,
      session,
      ctx,
      body.facts,
      rebooted ? { from: session.bootedAt, to: bootedAt } : null,
    );
    session.factsHash = fingerprint;
  }
  if (session.bootedAt === null || rebooted) session.bootedAt = bootedAt;
  presence.seen(session.deviceId, {
    organizationId: session.organizationId,
    seenAt: now,
    ip: ctx.ip,
    bootedAt: session.bootedAt,
  });

  const inventory = await inventoryRequest(db, session, ctx, body.inventoryHash);
  const jobs = session.jobsPending ? await deliverJobs(db, session, ctx) : [];
  return {
    serverTime: new Date(now).toISOString(),
    nextCheckInSeconds: settings.checkInIntervalSeconds,
    inventory,
    knownInventoryHash: session.inventoryHash,
    jobs,
    rotateToken: now - session.tokenIssuedAt > settings.tokenRotationDays * 86_400_000,
  };
}

async function inventoryRequest(
  db: Database,
  session: AgentSession,
  ctx: RequestContext,
  agentHash: string,
): Promise<InventoryRequest> {
  if (session.inventoryRequested) return "send_full";
  if (agentHash === session.inventoryHash) return "current";
  // Another server process may have stored it: ask the database before asking the agent.
  const row = await db.withOrganization(session.organizationId, ctx, (tx) =>
    tx.db
      .selectFrom("device_inventories")
      .select("inventory_hash")
      .where("device_id", "=", session.deviceId)
      .executeTakeFirst(),
  );
  session.inventoryHash = row?.inventory_hash ?? null;
  if (agentHash === session.inventoryHash) return "current";
  return session.inventoryHash === null ? "send_full" : "send_changes";
}

const WATCHED: { label: string; read: (f: DeviceFacts) => unknown }[] = [
  { label: "hostname", read: (f) => f.hostname },
  { label: "os", read: (f) => `${f.os.name} ${f.os.version} ${f.os.build}`.trim() },
  { label: "release", read: (f) => f.os.release },
  { label: "kernel", read: (f) => f.kernel },
  { label: "arch", read: (f) => f.arch },
  { label: "agentVersion", read: (f) => f.agentVersion },
  { label: "rebootRequired", read: (f) => f.rebootRequired },
  { label: "patchSources", read: (f) => f.patchSources },
];

async function recordFactsChange(
  db: Database,
  session: AgentSession,
  ctx: RequestContext,
  facts: DeviceFacts,
  reboot: { from: number | null; to: number } | null,
): Promise<void> {
  await db.withOrganization(session.organizationId, ctx, async (tx) => {
    const before = await tx.db
      .selectFrom("devices")
      .select([
        "hostname",
        "os_name",
        "os_version",
        "os_build",
        "os_release",
        "kernel",
        "arch",
        "agent_version",
        "reboot_required",
        "patch_sources",
      ])
      .where("id", "=", session.deviceId)
      .executeTakeFirstOrThrow();
    const previous: DeviceFacts = {
      hostname: before.hostname,
      os: {
        family: facts.os.family,
        name: before.os_name,
        version: before.os_version,
        build: before.os_build,
        release: before.os_release,
      },
      kernel: before.kernel,
      arch: before.arch,
      uptimeSeconds: 0,
      rebootRequired: before.reboot_required,
      agentVersion: before.agent_version,
      patchSources: before.patch_sources as DeviceFacts["patchSources"],
    };
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const w of WATCHED) {
      const from = w.read(previous);
      const to = w.read(facts);
      if (JSON.stringify(from) !== JSON.stringify(to)) changes[w.label] = { from, to };
    }
    if (Object.keys(changes).length > 0) {
      await tx.db
        .updateTable("devices")
        .set({ ...factsColumns(facts), updated_at: new Date() })
        .where("id", "=", session.deviceId)
        .execute();
      tx.deviceEvent({ eventType: "device.facts_changed", deviceId: session.deviceId, details: { changes } });
    }
    if (reboot) {
      tx.deviceEvent({
        eventType: "device.rebooted",
        deviceId: session.deviceId,
        details: {
          bootedAt: new Date(reboot.to).toISOString(),
          previousBootedAt: reboot.from === null ? null : new Date(reboot.from).toISOString(),
        },
      });
    }
  });
  session.release = facts.os.release;
}
