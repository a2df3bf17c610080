import { generateToken, hashToken } from "@patchpilot/protocol";
import type { Database } from "../db/database.js";
import { addTestMember, createTestOrg, type TestPerson } from "./app.js";
import { SYSTEM_CONTEXT } from "./database.js";

/** An organisation's identity rows for the cross-tenant tests: an Admin API token and security settings. */
export async function seedIdentity(db: Database, organizationId: string, orgName: string) {
  const apiToken = generateToken("apiToken");
  const apiTokenName = `${orgName} automation`;
  const apiTokenId = await db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const row = await tx.db
      .insertInto("api_tokens")
      .values({
        name: apiTokenName,
        role: "admin",
        token_hash: hashToken(apiToken),
        hint: apiToken.slice(0, 9),
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    await tx.db
      .insertInto("organization_security_settings")
      .values({ two_factor_required: "off" })
      .onConflict((oc) => oc.doNothing())
      .execute();
    tx.audit({ action: "api_tokens.created", target: { type: "api_token", id: row.id } });
    return row.id;
  });
  return { apiTokenId, apiTokenName, apiToken };
}

/** An MSP organisation managing A and B, for the isolation harness's MSP cases. */
export interface SeededMsp {
  organizationId: string;
  owner: TestPerson;
  /** Assigned to A only, and to B only. */
  technicianOfA: TestPerson;
  technicianOfB: TestPerson;
  /** A member of the MSP with no assignment: reaches no client. */
  unassigned: TestPerson;
}

export async function seedMsp(db: Database, clients: { a: string; b: string }): Promise<SeededMsp> {
  const msp = await createTestOrg(db, "Mike MSP");
  await db.withOrganization(msp.organizationId, SYSTEM_CONTEXT, async (tx) => {
    await tx.db
      .updateTable("organizations")
      .set({ plan: "msp" })
      .where("id", "=", msp.organizationId)
      .execute();
    tx.audit({ action: "organization.plan_changed", details: { plan: "msp" } });
  });
  const technicianOfA = await addTestMember(db, msp.organizationId, "operator", "msp-tech-a");
  const technicianOfB = await addTestMember(db, msp.organizationId, "operator", "msp-tech-b");
  const unassigned = await addTestMember(db, msp.organizationId, "admin", "msp-unassigned");
  await db.system(SYSTEM_CONTEXT, async (tx) => {
    for (const [clientId, tech] of [
      [clients.a, technicianOfA],
      [clients.b, technicianOfB],
    ] as const) {
      await tx.db
        .insertInto("msp_clients")
        .values({ organization_id: clientId, msp_organization_id: msp.organizationId })
        .execute();
      await tx.db
        .insertInto("msp_assignments")
        .values({ organization_id: clientId, msp_organization_id: msp.organizationId, user_id: tech.userId })
        .execute();
      tx.audit(clientId, { action: "msp.technician_assigned", target: { type: "user", id: tech.userId } });
    }
  });
  return { organizationId: msp.organizationId, owner: msp.owner, technicianOfA, technicianOfB, unassigned };
}
