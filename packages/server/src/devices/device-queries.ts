import { type RawBuilder, sql } from "kysely";
import type { Database, OrganizationTransaction } from "../db/database.js";
import { AppError } from "../http/errors.js";
import type { Page } from "../http/pagination.js";
import { type RequestContext, scopeOf } from "../http/route.js";

export interface DeviceView {
  id: string;
  hostname: string;
  os: { family: string; name: string; version: string; build: string; release: string };
  kernel: string;
  arch: string;
  agentVersion: string;
  rebootRequired: boolean;
  patchSources: unknown[];
  tags: string[];
  criticality: string;
  groups: { id: string; name: string }[];
  status: "active" | "retired";
  /** Open findings on the device, and the highest risk among them (0 without any). */
  openFindings: number;
  risk: number;
  online: boolean;
  enrolledAt: string;
  lastSeenAt: string | null;
  lastIp: string | null;
  bootedAt: string | null;
  inventory: {
    packageCount: number;
    updateCount: number;
    securityUpdateCount: number;
    updatedAt: string;
  } | null;
}

export interface DeviceFilters {
  limit: number;
  cursor?: string;
  q?: string;
  osFamily?: "linux" | "windows" | "macos";
  release?: string;
  tag?: string;
  groupId?: string;
  criticality?: string;
  online?: boolean;
  lastSeenBefore?: string;
  lastSeenAfter?: string;
  includeRetired?: boolean;
  sort?: DeviceSort;
  order?: "asc" | "desc";
}

/** A device counts as online when it checked in within this many check-in intervals. */
export const ONLINE_INTERVALS = 3;

function deviceSelect(tx: OrganizationTransaction, onlineSeconds: number) {
  return tx.db
    .selectFrom("devices as d")
    .leftJoin("device_presence as p", "p.device_id", "d.id")
    .leftJoin("device_inventories as i", "i.device_id", "d.id")
    .select((eb) => [
      "d.id",
      "d.hostname",
      "d.os_family",
      "d.os_name",
      "d.os_version",
      "d.os_build",
      "d.os_release",
      "d.kernel",
      "d.arch",
      "d.agent_version",
      "d.reboot_required",
      "d.patch_sources",
      "d.tags",
      "d.criticality",
      "d.enrolled_at",
      "d.retired_at",
      "d.open_findings",
      "d.open_risk",
      "p.last_seen_at",
      "p.last_ip",
      "p.booted_at",
      "i.package_count",
      "i.updated_at as inventory_updated_at",
      sql<number>`coalesce(jsonb_array_length(i.updates), 0)`.as("update_count"),
      sql<number>`coalesce((SELECT count(*) FROM jsonb_array_elements(i.updates) u WHERE (u->>'security')::boolean), 0)::int`.as(
        "security_update_count",
      ),
      sql<boolean>`coalesce(p.last_seen_at > now() - make_interval(secs => ${onlineSeconds}), false)`.as(
        "online",
      ),
      eb
        .selectFrom("device_group_members as m")
        .innerJoin("device_groups as g", "g.id", "m.group_id")
        .select(
          sql<
            { id: string; name: string }[]
          >`coalesce(jsonb_agg(jsonb_build_object('id', g.id, 'name', g.name) ORDER BY g.name), '[]')`.as(
            "groups",
          ),
        )
        .whereRef("m.device_id", "=", "d.id")
        .as("groups"),
    ]);
}

type DeviceRow = Awaited<ReturnType<ReturnType<typeof deviceSelect>["executeTakeFirstOrThrow"]>>;

function view(r: DeviceRow): DeviceView {
  return {
    id: r.id,
    hostname: r.hostname,
    os: {
      family: r.os_family,
      name: r.os_name,
      version: r.os_version,
      build: r.os_build,
      release: r.os_release,
    },
    kernel: r.kernel,
    arch: r.arch,
    agentVersion: r.agent_version,
    rebootRequired: r.reboot_required,
    patchSources: r.patch_sources,
    tags: r.tags,
    criticality: r.criticality,
    groups: (r.groups ?? []) as { id: string; name: string }[],
    status: r.retired_at ? "retired" : "active",
    openFindings: r.open_findings,
    risk: Number(r.open_risk),
    online: Boolean(r.online) && !r.retired_at,
    enrolledAt: r.enrolled_at.toISOString(),
    lastSeenAt: r.last_seen_at?.toISOString() ?? null,
    lastIp: r.last_ip,
    bootedAt: r.booted_at?.toISOString() ?? null,
    inventory:
      r.package_count === null || !r.inventory_updated_at
        ? null
        : {
            packageCount: r.package_count,
            updateCount: Number(r.update_count),
            securityUpdateCount: Number(r.security_update_count),
            updatedAt: r.inventory_updated_at.toISOString(),
          },
  };
}

/** How the devices table may be sorted: an allow-list, each key backed by an index. */
export const DEVICE_SORTS = ["hostname", "lastSeen", "os", "risk", "online"] as const;
export type DeviceSort = (typeof DEVICE_SORTS)[number];

interface SortKey {
  /** The key's columns (with their SQL types), compared as one row value: the last makes it unique. */
  columns: [RawBuilder<unknown>, "text" | "uuid" | "float8" | "integer" | "timestamptz"][];
  /** The direction when none is asked for. */
  order: "asc" | "desc";
  /** Sorting by last seen reads devices from their presence rows (every enrolled device has one). */
  seen: boolean;
}

const SORT_KEYS: Record<DeviceSort, SortKey> = {
  hostname: {
    columns: [
      [sql`d.hostname`, "text"],
      [sql`d.id`, "uuid"],
    ],
    order: "asc",
    seen: false,
  },
  os: {
    columns: [
      [sql`d.os_name`, "text"],
      [sql`d.os_version`, "text"],
      [sql`d.hostname`, "text"],
      [sql`d.id`, "uuid"],
    ],
    order: "asc",
    seen: false,
  },
  risk: {
    columns: [
      [sql`d.open_risk`, "float8"],
      [sql`d.open_findings`, "integer"],
      [sql`d.id`, "uuid"],
    ],
    order: "desc",
    seen: false,
  },
  lastSeen: {
    columns: [
      [sql`p.last_seen_at`, "timestamptz"],
      [sql`p.device_id`, "uuid"],
    ],
    order: "desc",
    seen: true,
  },
  // Online means seen within the last few check-ins, so most recently seen first is online first.
  online: {
    columns: [
      [sql`p.last_seen_at`, "timestamptz"],
      [sql`p.device_id`, "uuid"],
    ],
    order: "desc",
    seen: true,
  },
};

/** Keyset cursor over the sort key: stays fast on the last page of a 100,000-device fleet. */
function decodeCursor(cursor: string, sort: DeviceSort, order: "asc" | "desc"): string[] {
  const width = SORT_KEYS[sort].columns.length;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      Array.isArray(v) &&
      v.length === width + 2 &&
      v[0] === sort &&
      v[1] === order &&
      v.slice(2).every((k) => typeof k === "string" && k.length <= 1000) &&
      /^[0-9a-f-]{36}$/.test(String(v.at(-1)))
    ) {
      return v.slice(2).map(String);
    }
  } catch {
    // fall through
  }
  throw new AppError("request.invalid", {
    field: "querystring/cursor",
    message: "The cursor is not valid (or was made for another sort order).",
  });
}

export async function listDevices(
  db: Database,
  ctx: RequestContext,
  f: DeviceFilters,
  onlineSeconds: number,
): Promise<Page<DeviceView>> {
  const { organizationId } = scopeOf(ctx);
  const sort = f.sort ?? "hostname";
  const key = SORT_KEYS[sort];
  const order = f.order ?? key.order;
  const after = f.cursor ? decodeCursor(f.cursor, sort, order) : null;
  const rows = await db.withOrganization(organizationId, ctx, async (tx) => {
    let q = deviceSelect(tx, onlineSeconds)
      // The key as text, for the next page's cursor (text keeps a timestamp's microseconds).
      .select(sql<string[]>`ARRAY[${sql.join(key.columns.map(([c]) => sql`${c}::text`))}]`.as("sort_key"))
      .limit(f.limit + 1);
    for (const [column] of key.columns) q = q.orderBy(column, order);
    // A strict condition on the presence row: PostgreSQL then reads devices from its index.
    if (key.seen) q = q.where("p.last_seen_at", "is not", null);
    if (!f.includeRetired) q = q.where("d.retired_at", "is", null);
    if (after) {
      const columns = sql.join(key.columns.map(([c]) => c));
      const values = sql.join(key.columns.map(([, type], i) => sql`${after[i]}::${sql.raw(type)}`));
      q = q.where(sql<boolean>`(${columns}) ${sql.raw(order === "asc" ? ">" : "<")} (${values})`);
    }
    if (f.q) q = q.where("d.hostname", "ilike", `%${f.q.replace(/[\\%_]/g, "\\$&")}%`);
    if (f.osFamily) q = q.where("d.os_family", "=", f.osFamily);
    if (f.release) q = q.where("d.os_release", "=", f.release);
    if (f.tag) q = q.where(sql<boolean>`d.tags @> ARRAY[${f.tag}]::text[]`);
    if (f.criticality) q = q.where("d.criticality", "=", f.criticality);
    if (f.groupId) {
      const groupId = f.groupId;
      q = q.where((eb) =>
        eb.exists(
          eb
            .selectFrom("device_group_members as gm")
            .select("gm.device_id")
            .whereRef("gm.device_id", "=", "d.id")
            .where("gm.group_id", "=", groupId),
        ),
      );
    }
    if (f.online !== undefined) {
      const recent = sql<boolean>`coalesce(p.last_seen_at > now() - make_interval(secs => ${onlineSeconds}), false)`;
      q = q.where(f.online ? recent : sql<boolean>`NOT ${recent}`);
    }
    if (f.lastSeenBefore) q = q.where("p.last_seen_at", "<", new Date(f.lastSeenBefore));
    if (f.lastSeenAfter) q = q.where("p.last_seen_at", ">=", new Date(f.lastSeenAfter));
    return q.execute();
  });
  const page = rows.slice(0, f.limit);
  const last = page.at(-1);
  return {
    items: page.map(view),
    nextCursor:
      rows.length > f.limit && last
        ? Buffer.from(JSON.stringify([sort, order, ...last.sort_key])).toString("base64url")
        : null,
  };
}

export async function getDevice(
  db: Database,
  ctx: RequestContext,
  deviceId: string,
  onlineSeconds: number,
): Promise<DeviceView> {
  const { organizationId } = scopeOf(ctx);
  const row = await db.withOrganization(organizationId, ctx, (tx) =>
    deviceSelect(tx, onlineSeconds).where("d.id", "=", deviceId).executeTakeFirst(),
  );
  if (!row) throw new AppError("devices.not_found");
  return view(row);
}
