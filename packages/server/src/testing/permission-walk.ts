import { type Action, ASSIGNABLE_ROLES, type AssignableRole, isAction } from "@patchpilot/domain";
import type { Database } from "../db/database.js";
import type { App } from "../http/app.js";
import { addTestMember, call, freshSession } from "./app.js";
import { SYSTEM_CONTEXT } from "./database.js";
import { createTestEnrollmentToken, enrollTestDevice } from "./devices.js";
import { seedIdentity } from "./identity-world.js";
import { createTestPolicy, createTestRollout, createTestWindow } from "./patching.js";
import type { SeededOrg } from "./world.js";

export interface PermissionViolation {
  route: string;
  role: AssignableRole;
  problem: string;
}

/** What a role may do, written out independently of the matrix in the domain package. */
export type Policy = (role: AssignableRole, action: Action) => boolean;

async function ownIdentifier(db: Database, param: string, org: SeededOrg): Promise<string> {
  switch (param) {
    case "orgId":
      return org.organizationId;
    case "userId":
      // A member of its own, so a permitted removal does not take away one of the callers.
      return (await addTestMember(db, org.organizationId, "operator", "target")).userId;
    case "invitationId":
      return org.invitationId;
    // Fresh ones, so that a permitted retirement or deletion does not change what later routes see.
    case "deviceId":
      return (await enrollTestDevice(db, org.organizationId)).deviceId;
    case "tokenId":
      return (await createTestEnrollmentToken(db, org.organizationId)).id;
    case "groupId":
      return db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
        const row = await tx.db
          .insertInto("device_groups")
          .values({ name: `walk ${crypto.randomUUID()}` })
          .returning("id")
          .executeTakeFirstOrThrow();
        tx.audit({ action: "device_groups.created", target: { type: "device_group", id: row.id } });
        return row.id;
      });
    case "findingId":
      return org.findingId;
    case "vulnerabilityId":
      return org.vulnerabilityId;
    // A fresh one, as a permitted revocation leaves the seeded one revoked.
    case "suppressionId":
      return db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
        const row = await tx.db
          .insertInto("suppressions")
          .values({
            vulnerability_id: org.vulnerabilityId,
            scope_type: "organization",
            kind: "false_positive",
            reason: "walk",
            owner: "walk",
          })
          .returning("id")
          .executeTakeFirstOrThrow();
        tx.audit({ action: "suppressions.created", target: { type: "suppression", id: row.id } });
        return row.id;
      });
    // Fresh ones: a permitted deletion, cancellation or approval changes what later calls see.
    case "windowId":
      return createTestWindow(db, org.organizationId);
    case "policyId":
      return createTestPolicy(db, org.organizationId);
    case "rolloutId":
      return createTestRollout(db, org.organizationId, org.groupId);
    // A fresh one, as a permitted revocation leaves it revoked.
    case "apiTokenId":
      return (await seedIdentity(db, org.organizationId, `walk ${crypto.randomUUID()}`)).apiTokenId;
    // A fresh one, as a permitted deletion removes it.
    case "ruleId":
      return db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
        const row = await tx.db
          .insertInto("alert_rules")
          .values({ name: "walk", kind: "sla_breach", threshold: 1, emails: ["walk@example.test"] })
          .returning("id")
          .executeTakeFirstOrThrow();
        tx.audit({ action: "alert_rules.created", target: { type: "alert_rule", id: row.id } });
        return row.id;
      });
    // The organisation is no MSP, so any client id is refused after the permission check.
    case "clientId":
      return org.organizationId;
    default:
      throw new Error(`the permission walk has no identifier for :${param}; add it in permission-walk.ts`);
  }
}

/**
 * Calls every organisation route as each role of the organisation, on its own data, and reports
 * where the server's answer disagrees with the policy: a refused role that was let through, or
 * an allowed role that was refused by the permission check.
 */
export async function findPermissionViolations(
  app: App,
  db: Database,
  org: SeededOrg,
  policy: Policy,
): Promise<PermissionViolation[]> {
  const violations: PermissionViolation[] = [];
  for (const { route } of app.routeCatalog) {
    if (!isAction(route.permission)) continue;
    const action = route.permission;
    let url = route.url;
    for (const [, name] of route.url.matchAll(/:(\w+)/g)) {
      url = url.replace(`:${name}`, await ownIdentifier(db, name ?? "", org));
    }
    // Roles that should be refused go first, so an allowed DELETE cannot remove the target before.
    const roles = [...ASSIGNABLE_ROLES].sort((x, y) => Number(policy(x, action)) - Number(policy(y, action)));
    for (const role of roles) {
      const as = { ...org.members[role], ...(await freshSession(db, org.members[role].userId)) };
      const response = await call(app, {
        method: route.method,
        url,
        as,
        ...(route.schema.body ? { body: route.example ?? {} } : {}),
      });
      const refused = response.statusCode === 403 && response.json().error?.code === "auth.forbidden";
      const name = `${route.method} ${route.url}`;
      if (policy(role, action) && refused)
        violations.push({ route: name, role, problem: `refused ${action}` });
      if (!policy(role, action) && !refused) {
        violations.push({
          route: name,
          role,
          problem: `allowed ${action} (answered ${response.statusCode})`,
        });
      }
    }
  }
  return violations;
}
