import { randomUUID } from "node:crypto";
import { entryLine, hashToken, inventoryHash, toWireInventory } from "@patchpilot/protocol";
import { sql } from "kysely";
import Type from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueSetupToken } from "../organizations/setup.js";
import {
  addTestMember,
  call,
  freshSession,
  startTestApp,
  TEST_PASSWORD,
  type TestApp,
  type TestPerson,
} from "../testing/app.js";
import { findUnauditedRoutes, type Scenarios } from "../testing/audit-walk.js";
import { createTestDatabase, SYSTEM_CONTEXT, type TestDatabase } from "../testing/database.js";
import {
  callAsAgent,
  checkInBody,
  createTestEnrollmentToken,
  debPackage,
  enrollTestDevice,
  sampleFacts,
  sampleInventory,
} from "../testing/devices.js";
import { identityScenarios } from "../testing/identity-scenarios.js";
import { createTestPolicy, createTestRollout, createTestWindow } from "../testing/patching.js";
import { ssoScenarios } from "../testing/sso-scenarios.js";
import { advisory, importTestAdvisories, opensslPackages, seedFindings } from "../testing/vulns.js";
import { defineRoute, type RouteDefinition } from "./route.js";

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb.drop());

/** Happy paths for every state-changing route; the walk runs them in the router's order. */
function scenarios(t: TestApp): Scenarios {
  const db = t.db;
  let orgId = "";
  let owner: TestPerson | null = null;
  const me = (): TestPerson => {
    if (!owner) throw new Error("setup has not run");
    return owner;
  };
  const member = (role: "operator" | "auditor") => addTestMember(db, orgId, role);
  return {
    "POST /api/v1/setup": async () => {
      const setupToken = await issueSetupToken(db, SYSTEM_CONTEXT);
      return {
        as: null,
        url: "/api/v1/setup",
        body: {
          setupToken,
          organizationName: "Walked Ltd",
          name: "Walker",
          email: "walker@example.test",
          password: TEST_PASSWORD,
        },
      };
    },
    "POST /api/v1/auth/sign-in": async () => {
      // Setup ran first in route order and created the organisation.
      const row = await db.systemReader
        .selectFrom("users")
        .select("id")
        .where("email", "=", "walker@example.test")
        .executeTakeFirstOrThrow();
      const org = await db.systemReader
        .selectFrom("memberships")
        .select("organization_id")
        .where("user_id", "=", row.id)
        .executeTakeFirstOrThrow();
      orgId = org.organization_id;
      owner = { userId: row.id, email: "walker@example.test", ...(await freshSession(db, row.id)) };
      return {
        as: null,
        url: "/api/v1/auth/sign-in",
        body: { email: "walker@example.test", password: TEST_PASSWORD },
      };
    },
    "POST /api/v1/auth/sign-out": async () => ({ as: await member("auditor"), url: "/api/v1/auth/sign-out" }),
    "DELETE /api/v1/me/sessions/:sessionId": async () => {
      const other = await freshSession(db, me().userId);
      const row = await db.systemReader
        .selectFrom("sessions")
        .select("id")
        .where("token_hash", "=", hashToken(other.token))
        .executeTakeFirstOrThrow();
      return { as: me(), url: `/api/v1/me/sessions/${row.id}` };
    },
    "POST /api/v1/me/password": async () => ({
      as: await member("operator"),
      url: "/api/v1/me/password",
      body: { currentPassword: TEST_PASSWORD, newPassword: "another long passphrase" },
    }),
    "POST /api/v1/invitations/accept": async () => {
      const created = await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${orgId}/invitations`,
        as: me(),
        body: { email: "accepting@example.test", role: "auditor" },
      });
      return {
        as: null,
        url: "/api/v1/invitations/accept",
        body: { token: created.json().token, name: "Accepting Person", password: TEST_PASSWORD },
      };
    },
    "PATCH /api/v1/orgs/:orgId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}`,
      body: { name: "Renamed Ltd" },
    }),
    "PATCH /api/v1/orgs/:orgId/users/:userId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}/users/${(await member("operator")).userId}`,
      body: { role: "auditor" },
    }),
    "DELETE /api/v1/orgs/:orgId/users/:userId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}/users/${(await member("operator")).userId}`,
    }),
    "POST /api/v1/orgs/:orgId/invitations": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}/invitations`,
      body: { email: "invited@example.test", role: "operator" },
    }),
    "DELETE /api/v1/orgs/:orgId/invitations/:invitationId": async () => {
      const created = await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${orgId}/invitations`,
        as: me(),
        body: { email: "revoked@example.test", role: "operator" },
      });
      return { as: me(), url: `/api/v1/orgs/${orgId}/invitations/${created.json().invitation.id}` };
    },
    ...deviceScenarios(t, () => orgId, me),
    ...vulnerabilityScenarios(t, () => orgId, me),
    ...patchingScenarios(t, () => orgId, me),
    ...identityScenarios(t, () => orgId, me),
    ...complianceScenarios(t, () => orgId, me),
    ...alertScenarios(t, () => orgId, me),
    ...ssoScenarios(t, () => orgId, me),
    "POST /api/v1/orgs/:orgId/planted/rename": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId}/planted/rename`,
    }),
  };
}

/** Happy paths of the compliance routes (retention is an Enterprise Owner's setting). */
function complianceScenarios(t: TestApp, orgId: () => string, me: () => TestPerson): Scenarios {
  return {
    "PUT /api/v1/orgs/:orgId/audit-retention": async () => {
      await t.db.owner.query("UPDATE organizations SET plan = 'enterprise' WHERE id = $1", [orgId()]);
      return { as: me(), url: `/api/v1/orgs/${orgId()}/audit-retention`, body: { days: 400 } };
    },
    "PUT /api/v1/orgs/:orgId/siem": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/siem`,
      body: { host: "127.0.0.1", port: 6514, transport: "tcp", facility: 16, enabled: false },
    }),
    "POST /api/v1/orgs/:orgId/audit-checkpoints": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/audit-checkpoints`,
    }),
  };
}

/** Happy paths of the alert rule routes. */
function alertScenarios(t: TestApp, orgId: () => string, me: () => TestPerson): Scenarios {
  const body = {
    name: "Overdue findings",
    kind: "sla_breach",
    thresholds: { count: 5 },
    emails: ["sec@example.test"],
  };
  const rule = async () =>
    (await call(t.app, { method: "POST", url: `/api/v1/orgs/${orgId()}/alert-rules`, as: me(), body })).json()
      .id as string;
  return {
    "POST /api/v1/orgs/:orgId/alert-rules": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/alert-rules`,
      body,
    }),
    "PUT /api/v1/orgs/:orgId/alert-rules/:ruleId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/alert-rules/${await rule()}`,
      body: { ...body, enabled: false },
    }),
    "DELETE /api/v1/orgs/:orgId/alert-rules/:ruleId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/alert-rules/${await rule()}`,
    }),
  };
}

/** Happy paths of the device routes: operators' through sessions, agents' with bearer tokens. */
function deviceScenarios(t: TestApp, orgId: () => string, me: () => TestPerson): Scenarios {
  const db = t.db;
  const device = () => enrollTestDevice(db, orgId());
  const group = async () =>
    (
      await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${orgId()}/device-groups`,
        as: me(),
        body: { name: `g ${randomUUID()}` },
      })
    ).json().id as string;
  const inventory = sampleInventory(5);
  return {
    "POST /api/v1/agent/enroll": async () => ({
      as: null,
      url: "/api/v1/agent/enroll",
      bearer: (await createTestEnrollmentToken(db, orgId())).token,
      body: { hardwareId: randomUUID(), facts: sampleFacts() },
    }),
    "POST /api/v1/agent/devices/:deviceId/check-in": async () => {
      const d = await device();
      // New facts (a kernel update) are a change, and changes are recorded.
      return {
        as: null,
        url: `/api/v1/agent/devices/${d.deviceId}/check-in`,
        bearer: d.token,
        body: checkInBody(null, { hostname: d.hostname, kernel: "6.1.0-99-amd64" }),
      };
    },
    "PUT /api/v1/agent/devices/:deviceId/inventory": async () => {
      const d = await device();
      return {
        as: null,
        url: `/api/v1/agent/devices/${d.deviceId}/inventory`,
        bearer: d.token,
        body: { reportId: randomUUID(), inventory: toWireInventory(inventory) },
      };
    },
    "POST /api/v1/agent/devices/:deviceId/inventory/changes": async () => {
      const d = await device();
      await callAsAgent(t.app, {
        method: "PUT",
        url: `/api/v1/agent/devices/${d.deviceId}/inventory`,
        token: d.token,
        body: { reportId: randomUUID(), inventory: toWireInventory(inventory) },
      });
      const added = [debPackage("added-pkg", "2.0-1")];
      return {
        as: null,
        url: `/api/v1/agent/devices/${d.deviceId}/inventory/changes`,
        bearer: d.token,
        body: {
          reportId: randomUUID(),
          baseHash: inventoryHash(inventory),
          inventoryHash: inventoryHash({
            packages: [...inventory.packages, ...added],
            updates: inventory.updates,
          }),
          packages: { added: added.map(entryLine), removed: [] },
          updates: { added: [], removed: [] },
        },
      };
    },
    "POST /api/v1/agent/devices/:deviceId/job-results": async () => {
      const d = await device();
      const job = await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${orgId()}/devices/${d.deviceId}/inventory-refresh`,
        as: me(),
      });
      return {
        as: null,
        url: `/api/v1/agent/devices/${d.deviceId}/job-results`,
        bearer: d.token,
        body: {
          reportId: randomUUID(),
          jobId: job.json().jobId,
          outcome: "succeeded",
          startedAt: new Date().toISOString(),
          finishedAt: new Date().toISOString(),
          summary: "sent",
        },
      };
    },
    "POST /api/v1/agent/devices/:deviceId/token": async () => {
      const d = await device();
      return { as: null, url: `/api/v1/agent/devices/${d.deviceId}/token`, bearer: d.token };
    },
    "POST /api/v1/orgs/:orgId/enrollment-tokens": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/enrollment-tokens`,
      body: { name: "walk" },
    }),
    "DELETE /api/v1/orgs/:orgId/enrollment-tokens/:tokenId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/enrollment-tokens/${(await createTestEnrollmentToken(db, orgId())).id}`,
    }),
    "PATCH /api/v1/orgs/:orgId/devices/:deviceId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/devices/${(await device()).deviceId}`,
      body: { tags: ["web"] },
    }),
    "DELETE /api/v1/orgs/:orgId/devices/:deviceId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/devices/${(await device()).deviceId}`,
    }),
    "DELETE /api/v1/orgs/:orgId/devices/:deviceId/token": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/devices/${(await device()).deviceId}/token`,
    }),
    "POST /api/v1/orgs/:orgId/devices/:deviceId/reenrollment": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/devices/${(await device()).deviceId}/reenrollment`,
    }),
    "POST /api/v1/orgs/:orgId/devices/:deviceId/inventory-refresh": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/devices/${(await device()).deviceId}/inventory-refresh`,
    }),
    "POST /api/v1/orgs/:orgId/device-groups": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/device-groups`,
      body: { name: "Walked group" },
    }),
    "PATCH /api/v1/orgs/:orgId/device-groups/:groupId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/device-groups/${await group()}`,
      body: { description: "walked" },
    }),
    "DELETE /api/v1/orgs/:orgId/device-groups/:groupId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/device-groups/${await group()}`,
    }),
    "PUT /api/v1/orgs/:orgId/device-groups/:groupId/devices/:deviceId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/device-groups/${await group()}/devices/${(await device()).deviceId}`,
    }),
    "DELETE /api/v1/orgs/:orgId/device-groups/:groupId/devices/:deviceId": async () => {
      const g = await group();
      const d = await device();
      await call(t.app, {
        method: "PUT",
        url: `/api/v1/orgs/${orgId()}/device-groups/${g}/devices/${d.deviceId}`,
        as: me(),
      });
      return { as: me(), url: `/api/v1/orgs/${orgId()}/device-groups/${g}/devices/${d.deviceId}` };
    },
  };
}

/** Happy paths of people's decisions on findings, on a finding the matcher made. */
function vulnerabilityScenarios(t: TestApp, orgId: () => string, me: () => TestPerson): Scenarios {
  const cve = "CVE-2026-7001";
  const knowledgeBase = () => importTestAdvisories(t.db, [advisory(cve, [{ fixed: "3.0.11-1~deb12u2" }])]);
  const suppression = async () => {
    await knowledgeBase();
    const created = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${orgId()}/suppressions`,
      as: me(),
      body: {
        vulnerabilityId: cve,
        scope: { type: "organization" },
        kind: "false_positive",
        reason: "r",
        owner: "o",
      },
    });
    return created.json().id as string;
  };
  return {
    "POST /api/v1/orgs/:orgId/suppressions": async () => {
      await knowledgeBase();
      return {
        as: me(),
        url: `/api/v1/orgs/${orgId()}/suppressions`,
        body: {
          vulnerabilityId: cve,
          scope: { type: "organization" },
          kind: "accepted_risk",
          reason: "walked",
          owner: "Walker",
          expiresAt: "2099-01-01T00:00:00Z",
        },
      };
    },
    "DELETE /api/v1/orgs/:orgId/suppressions/:suppressionId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/suppressions/${await suppression()}`,
    }),
    "PATCH /api/v1/orgs/:orgId/findings/:findingId": async () => {
      await knowledgeBase();
      const device = await seedFindings(t, orgId(), opensslPackages("3.0.11-1~deb12u1"));
      const [finding] = await t.db.owner.query<{ id: string }>(
        "SELECT id FROM findings WHERE device_id = $1 LIMIT 1",
        [device.deviceId],
      );
      return {
        as: me(),
        url: `/api/v1/orgs/${orgId()}/findings/${finding?.id}`,
        body: { status: "false_positive", reason: "walked", justification: "component_not_present" },
      };
    },
    "PUT /api/v1/orgs/:orgId/vulnerability-settings": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/vulnerability-settings`,
      body: { slaDays: { critical: 7, high: 14, medium: 30, low: 90 } },
    }),
  };
}

/** Happy paths of windows, policies and rollouts, on a group with an enrolled device. */
function patchingScenarios(t: TestApp, orgId: () => string, me: () => TestPerson): Scenarios {
  const db = t.db;
  const groupWithDevice = async () => {
    const group = await db.withOrganization(orgId(), SYSTEM_CONTEXT, async (tx) => {
      const row = await tx.db
        .insertInto("device_groups")
        .values({ name: `pg ${randomUUID()}` })
        .returning("id")
        .executeTakeFirstOrThrow();
      tx.audit({ action: "device_groups.created", target: { type: "device_group", id: row.id } });
      return row.id;
    });
    const enrollment = await createTestEnrollmentToken(db, orgId(), { groupId: group });
    await enrollTestDevice(db, orgId(), { enrollmentToken: enrollment.token });
    return group;
  };
  const rollout = async () => createTestRollout(db, orgId(), await groupWithDevice());
  const windowBody = {
    name: `w ${randomUUID()}`,
    schedule: "0 2 * * 6",
    durationMinutes: 240,
    timeZone: "Europe/London",
  };
  const rolloutAction =
    (name: string, prepare: (id: string) => Promise<void> = async () => {}) =>
    async () => {
      const id = await rollout();
      await prepare(id);
      return { as: me(), url: `/api/v1/orgs/${orgId()}/rollouts/${id}/${name}`, body: { reason: "walked" } };
    };
  return {
    "POST /api/v1/orgs/:orgId/maintenance-windows": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/maintenance-windows`,
      body: windowBody,
    }),
    "PUT /api/v1/orgs/:orgId/maintenance-windows/:windowId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/maintenance-windows/${await createTestWindow(db, orgId())}`,
      body: { ...windowBody, name: `w ${randomUUID()}` },
    }),
    "DELETE /api/v1/orgs/:orgId/maintenance-windows/:windowId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/maintenance-windows/${await createTestWindow(db, orgId())}`,
    }),
    "POST /api/v1/orgs/:orgId/patch-policies": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/patch-policies`,
      body: { name: `p ${randomUUID()}`, groupId: await groupWithDevice(), automatic: "security" },
    }),
    "PUT /api/v1/orgs/:orgId/patch-policies/:policyId": async () => {
      const id = await createTestPolicy(db, orgId());
      const [policy] = await db.owner.query<{ group_id: string }>(
        "SELECT group_id FROM patch_policies WHERE id = $1",
        [id],
      );
      return {
        as: me(),
        url: `/api/v1/orgs/${orgId()}/patch-policies/${id}`,
        body: {
          name: `p ${randomUUID()}`,
          groupId: policy?.group_id ?? "",
          automatic: "all",
          reboot: "never",
        },
      };
    },
    "DELETE /api/v1/orgs/:orgId/patch-policies/:policyId": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/patch-policies/${await createTestPolicy(db, orgId())}`,
    }),
    "POST /api/v1/orgs/:orgId/rollouts": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/rollouts`,
      body: {
        name: "walked",
        mode: "security",
        rings: [{ name: "all", groupIds: [await groupWithDevice()] }],
      },
    }),
    "POST /api/v1/orgs/:orgId/rollouts/:rolloutId/pause": rolloutAction("pause"),
    "POST /api/v1/orgs/:orgId/rollouts/:rolloutId/resume": rolloutAction("resume", async (id) => {
      await db.owner.query("UPDATE rollouts SET state = 'paused' WHERE id = $1", [id]);
    }),
    "POST /api/v1/orgs/:orgId/rollouts/:rolloutId/cancel": rolloutAction("cancel"),
    "POST /api/v1/orgs/:orgId/rollouts/:rolloutId/approve": rolloutAction("approve", async (id) => {
      await db.owner.query("UPDATE rollout_rings SET state = 'awaiting_approval' WHERE rollout_id = $1", [
        id,
      ]);
    }),
  };
}

describe("audit completeness", () => {
  it("every state-changing route writes an audit row when it succeeds", async () => {
    const t = await startTestApp({ db: testDb });
    try {
      const gaps = await findUnauditedRoutes(t.app, t.db, scenarios(t));
      expect(gaps).toEqual([]);
    } finally {
      await t.app.close();
    }
  });

  // A planted route that changes data through raw SQL (which the runtime guard cannot see) and
  // writes no audit row: the walk must report it.
  it("catches a route that changes data without an audit row", async () => {
    const planted: RouteDefinition[] = [
      defineRoute({
        method: "POST",
        url: "/api/v1/orgs/:orgId/planted/rename",
        summary: "planted defect: no audit row",
        tags: ["test"],
        permission: "organization.update",
        schema: { params: Type.Object({ orgId: Type.String() }), response: { 200: Type.Object({}) } },
        handler: async ({ ctx }) => {
          await t.db.withOrganization(ctx.organizationId ?? "", ctx, async (tx) => {
            await sql`UPDATE organizations SET name = name || '!'`.execute(tx.db);
          });
          return {};
        },
      }),
    ];
    const t = await startTestApp({ routes: planted });
    try {
      const gaps = await findUnauditedRoutes(t.app, t.db, scenarios(t));
      expect(gaps).toEqual([
        { route: "POST /api/v1/orgs/:orgId/planted/rename", problem: "succeeded without an audit row" },
      ]);
    } finally {
      await t.close();
    }
  });

  it("reports a state-changing route nobody has shown a happy path for", async () => {
    const t = await startTestApp({ db: testDb });
    try {
      const gaps = await findUnauditedRoutes(t.app, t.db, {});
      expect(gaps.length).toBe(t.app.routeCatalog.filter((r) => r.method !== "GET").length);
      expect(gaps.every((g) => g.problem.startsWith("no happy-path scenario"))).toBe(true);
    } finally {
      await t.app.close();
    }
  });
});
