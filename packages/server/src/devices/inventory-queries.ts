import { compareVersions, isValidVersion, type VersionEcosystem } from "@patchpilot/domain";
import type { AvailableUpdate } from "@patchpilot/protocol";
import { sql } from "kysely";
import type { Database, OrganizationTransaction } from "../db/database.js";
import { AppError } from "../http/errors.js";
import type { Page } from "../http/pagination.js";
import { type RequestContext, scopeOf } from "../http/route.js";
import { installationsOf } from "./installations.js";

export interface InstalledEntry {
  kind: string;
  ecosystem: string;
  release: string;
  name: string;
  version: string;
  arch: string;
  sourceName: string | null;
  sourceVersion: string | null;
  vendor: string | null;
}

/** The software ids a device has now: its base set, plus what it added, minus what it removed. */
export function deviceSoftwareIds(deviceId: string) {
  return sql`(
    SELECT unnest(ps.software_ids) FROM device_inventories di JOIN package_sets ps ON ps.id = di.base_set_id
     WHERE di.device_id = ${deviceId}
    EXCEPT SELECT unnest(removed) FROM device_inventories WHERE device_id = ${deviceId}
    UNION SELECT unnest(added) FROM device_inventories WHERE device_id = ${deviceId})`;
}

async function assertDevice(tx: OrganizationTransaction, deviceId: string): Promise<void> {
  const row = await tx.db.selectFrom("devices").select("id").where("id", "=", deviceId).executeTakeFirst();
  if (!row) throw new AppError("devices.not_found");
}

function cursorOf(cursor: string | undefined): { name: string; id: number } | null {
  if (cursor === undefined) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(v) && typeof v[0] === "string" && Number.isInteger(v[1]))
      return { name: v[0], id: v[1] };
  } catch {
    // fall through
  }
  throw new AppError("request.invalid", { field: "querystring/cursor", message: "The cursor is not valid." });
}

/** A device's installed software, by name, a page at a time. */
export async function listDeviceInventory(
  db: Database,
  ctx: RequestContext,
  deviceId: string,
  query: { limit: number; cursor?: string; q?: string; kind?: string },
): Promise<Page<InstalledEntry>> {
  const { organizationId } = scopeOf(ctx);
  const after = cursorOf(query.cursor);
  const rows = await db.withOrganization(organizationId, ctx, async (tx) => {
    await assertDevice(tx, deviceId);
    let q = tx.db
      .selectFrom("software as s")
      .select([
        "s.id",
        "s.kind",
        "s.ecosystem",
        "s.release",
        "s.name",
        "s.version",
        "s.arch",
        "s.source_name",
        "s.source_version",
        "s.vendor",
      ])
      .where(sql<boolean>`s.id IN ${deviceSoftwareIds(deviceId)}`)
      .orderBy("s.name")
      .orderBy("s.id")
      .limit(query.limit + 1);
    if (after) {
      q = q.where((eb) =>
        eb.or([
          eb("s.name", ">", after.name),
          eb.and([eb("s.name", "=", after.name), eb("s.id", ">", after.id)]),
        ]),
      );
    }
    if (query.q) q = q.where("s.name", "ilike", `%${query.q.replace(/[\\%_]/g, "\\$&")}%`);
    if (query.kind) q = q.where("s.kind", "=", query.kind);
    return q.execute();
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(entryView),
    nextCursor:
      rows.length > query.limit && last
        ? Buffer.from(JSON.stringify([last.name, last.id])).toString("base64url")
        : null,
  };
}

export async function listDeviceUpdates(
  db: Database,
  ctx: RequestContext,
  deviceId: string,
): Promise<AvailableUpdate[]> {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    await assertDevice(tx, deviceId);
    const row = await tx.db
      .selectFrom("device_inventories")
      .select("updates")
      .where("device_id", "=", deviceId)
      .executeTakeFirst();
    return (row?.updates ?? []) as AvailableUpdate[];
  });
}

function entryView(r: {
  kind: string;
  ecosystem: string;
  release: string;
  name: string;
  version: string;
  arch: string;
  source_name: string | null;
  source_version: string | null;
  vendor: string | null;
}): InstalledEntry {
  return {
    kind: r.kind,
    ecosystem: r.ecosystem,
    release: r.release,
    name: r.name,
    version: r.version,
    arch: r.arch,
    sourceName: r.source_name,
    sourceVersion: r.source_version,
    vendor: r.vendor,
  };
}

export interface Installation extends InstalledEntry {
  deviceId: string;
  hostname: string;
}

const MAX_INSTALLATIONS = 10_000;

/**
 * Which devices have package P (by binary or source name) below version V, compared with the
 * ecosystem's own version order — the question behind every finding.
 */
export async function findInstallations(
  db: Database,
  ctx: RequestContext,
  query: { name: string; ecosystem: VersionEcosystem; below?: string; release?: string; bySource?: boolean },
): Promise<{ items: Installation[]; truncated: boolean }> {
  const { organizationId } = scopeOf(ctx);
  if (query.below !== undefined && !isValidVersion(query.ecosystem, query.below)) {
    throw new AppError("request.invalid", {
      field: "querystring/below",
      message: `querystring/below is not a valid ${query.ecosystem} version.`,
    });
  }
  return db.withOrganization(organizationId, ctx, async (tx) => {
    let candidates = tx.db
      .selectFrom("software")
      .select([
        "id",
        "kind",
        "ecosystem",
        "release",
        "name",
        "version",
        "arch",
        "source_name",
        "source_version",
        "vendor",
      ])
      .where(query.bySource ? "source_name" : "name", "=", query.name)
      .where("ecosystem", "=", query.ecosystem);
    if (query.release) candidates = candidates.where("release", "=", query.release);
    const below = query.below;
    const matching = (await candidates.execute()).filter((s) => {
      if (below === undefined) return true;
      const version = query.bySource ? (s.source_version ?? s.version) : s.version;
      // A version the comparator cannot read cannot be said to be below anything.
      return isValidVersion(query.ecosystem, version) && compareVersions(query.ecosystem, version, below) < 0;
    });
    if (matching.length === 0) return { items: [], truncated: false };
    const ids = matching.map((s) => s.id);
    const bySoftware = new Map(matching.map((s) => [s.id, s]));
    const rows = await sql<{ device_id: string; software_id: number; hostname: string }>`
      SELECT i.device_id, i.software_id, d.hostname
        FROM ${installationsOf(ids)} AS i JOIN devices d ON d.id = i.device_id
       ORDER BY d.hostname, d.id, i.software_id
       LIMIT ${MAX_INSTALLATIONS + 1}`.execute(tx.db);
    const items = rows.rows.slice(0, MAX_INSTALLATIONS).map((r) => {
      const s = bySoftware.get(r.software_id);
      if (!s) throw new Error("an installation names software outside the query");
      return { deviceId: r.device_id, hostname: r.hostname, ...entryView(s) };
    });
    return { items, truncated: rows.rows.length > MAX_INSTALLATIONS };
  });
}
