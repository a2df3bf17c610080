import type { Plan } from "@patchpilot/domain";
import type { Database } from "../db/database.js";
import { SYSTEM_CONTEXT } from "./database.js";

/** Puts an organisation on a plan, as billing would. */
export async function setTestPlan(db: Database, organizationId: string, plan: Plan): Promise<void> {
  await db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    await tx.db.updateTable("organizations").set({ plan }).where("id", "=", organizationId).execute();
    tx.audit({ action: "organization.plan_changed", details: { plan } });
  });
}

/** Audit rows of one organisation with the given action, oldest first. */
export async function auditRows(
  db: Database,
  organizationId: string,
  action: string,
): Promise<
  {
    result: string;
    error_code: string | null;
    actor_type: string;
    actor_id: string | null;
    details: Record<string, unknown>;
  }[]
> {
  return db.owner.query(
    "SELECT result, error_code, actor_type, actor_id, details FROM audit_events WHERE organization_id = $1 AND action = $2 ORDER BY seq",
    [organizationId, action],
  );
}

export async function userCount(db: Database): Promise<number> {
  const rows = await db.owner.query<{ n: number }>("SELECT count(*)::int AS n FROM users");
  return rows[0]?.n ?? 0;
}

/** The value a Set-Cookie header of an answer gives a cookie, if any. */
export function cookieFrom(headers: Record<string, unknown>, name: string): string | undefined {
  const raw = headers["set-cookie"];
  const lines = Array.isArray(raw) ? raw : typeof raw === "string" ? [raw] : [];
  for (const line of lines) {
    const [pair] = String(line).split(";");
    if (pair?.startsWith(`${name}=`)) return pair.slice(name.length + 1);
  }
  return undefined;
}
