import { randomBytes } from "node:crypto";
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

/**
 * An organisation's single sign-on rows for the cross-tenant tests: both providers configured but
 * turned off (so public sign-in routes reach no provider), a sign-in in flight, an assertion id seen.
 */
export async function seedSso(db: Database, organizationId: string, name: string): Promise<void> {
  await db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const common = { allowed_domains: ["example.test"], default_role: "auditor" as const, enabled: false };
    await tx.db
      .insertInto("sso_oidc_configs")
      .values({
        ...common,
        issuer: "https://login.example.test",
        client_id: `${name} client`,
        sealed_client_secret: "v1:sealed",
      })
      .execute();
    await tx.db
      .insertInto("sso_saml_configs")
      .values({
        ...common,
        idp_entity_id: `https://idp.example.test/${organizationId}`,
        idp_sso_url: "https://idp.example.test/sso",
        idp_certificates: ["-----BEGIN CERTIFICATE-----\nseeded\n-----END CERTIFICATE-----\n"],
      })
      .execute();
    await tx.db
      .insertInto("sso_flows")
      .values({
        protocol: "oidc",
        state_hash: randomBytes(32),
        browser_hash: randomBytes(32),
        sealed_secrets: null,
        expires_at: new Date(Date.now() + 600_000),
      })
      .execute();
    await tx.db
      .insertInto("sso_saml_assertions")
      .values({ assertion_id: `_seeded-${organizationId}`, expires_at: new Date(Date.now() + 3600_000) })
      .execute();
    tx.audit({ action: "sso.seeded" });
  });
}
