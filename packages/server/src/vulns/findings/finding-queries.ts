import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import type { Page } from "../../http/pagination.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import {
  type FindingFilters,
  type FindingKey,
  type FindingRow,
  findingById,
  findingPage,
} from "./finding-rows.js";
import { type FindingView, findingView } from "./finding-view.js";
import { decodeKey, encodeKey } from "./keyset.js";

function keyOf(row: FindingRow): FindingKey {
  return { risk: row.risk_key, id: row.id };
}

function cursorKey(cursor: string | undefined): FindingKey | null {
  if (cursor === undefined) return null;
  const [risk, id] = decodeKey(cursor, ["string", "uuid"] as const);
  if (!/^\d{1,4}(\.\d)?$/.test(risk)) {
    throw new AppError("request.invalid", {
      field: "querystring/cursor",
      message: "The cursor is not valid.",
    });
  }
  return { risk, id };
}

/** Findings by risk, highest first, a keyset page at a time (stays fast deep into a large fleet). */
export async function listFindings(
  db: Database,
  ctx: RequestContext,
  query: FindingFilters & { limit: number; cursor?: string },
): Promise<Page<FindingView>> {
  const { organizationId } = scopeOf(ctx);
  const after = cursorKey(query.cursor);
  const rows = await db.withOrganization(organizationId, ctx, (tx) =>
    findingPage(tx, query, after, query.limit + 1),
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(findingView),
    nextCursor: rows.length > query.limit && last ? encodeKey([last.risk_key, last.id]) : null,
  };
}

export async function getFinding(db: Database, ctx: RequestContext, findingId: string): Promise<FindingView> {
  const { organizationId } = scopeOf(ctx);
  const row = await db.withOrganization(organizationId, ctx, (tx) => findingById(tx, findingId));
  if (!row) throw new AppError("findings.not_found");
  return findingView(row);
}

/**
 * Every finding matching the filters, a page (one short transaction) at a time, for exports: the
 * reader holds one page, and no transaction stays open while the client downloads.
 */
export async function* findingPages(
  db: Database,
  ctx: RequestContext,
  filters: FindingFilters,
  pageSize = 1000,
): AsyncGenerator<FindingRow[]> {
  const { organizationId } = scopeOf(ctx);
  let after: FindingKey | null = null;
  for (;;) {
    const key: FindingKey | null = after;
    const rows = await db.withOrganization(organizationId, ctx, (tx) =>
      findingPage(tx, filters, key, pageSize),
    );
    if (rows.length > 0) yield rows;
    const last = rows.at(-1);
    if (rows.length < pageSize || !last) return;
    after = keyOf(last);
  }
}
