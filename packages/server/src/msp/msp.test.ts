import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChain } from "../audit/verify.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../testing/app.js";

let t: TestApp;
let msp: TestOrg;
let clientA: string;
let clientB: string;
let techA: TestPerson;
let unassigned: TestPerson;

beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  msp = await createTestOrg(t.db, "Northwind MSP");
  await t.db.owner.query("UPDATE organizations SET plan = 'msp' WHERE id = $1", [msp.organizationId]);
  techA = await addTestMember(t.db, msp.organizationId, "operator", "tech-a");
  unassigned = await addTestMember(t.db, msp.organizationId, "operator", "tech-none");
  clientA = await createClient("Client Alpha");
  clientB = await createClient("Client Bravo");
  const assigned = await call(t.app, {
    method: "PUT",
    url: `/api/v1/orgs/${msp.organizationId}/msp/clients/${clientA}/technicians/${techA.userId}`,
    as: msp.owner,
  });
  expect(assigned.statusCode, assigned.body).toBe(204);
});
afterAll(() => t.close());

async function createClient(name: string, ownerEmail?: string): Promise<string> {
  const res = await call(t.app, {
    method: "POST",
    url: `/api/v1/orgs/${msp.organizationId}/msp/clients`,
    as: msp.owner,
    body: { name, ...(ownerEmail ? { ownerEmail } : {}) },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().client.id;
}

const devices = (orgId: string) => `/api/v1/orgs/${orgId}/devices`;

describe("MSP tenancy", () => {
  it("is refused to an organisation without the MSP plan, naming the plan", async () => {
    const plain = await createTestOrg(t.db, "Plain Ltd");
    const res = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${plain.organizationId}/msp/clients`,
      as: plain.owner,
      body: { name: "Would-be client" },
    });
    expect(res.statusCode).toBe(402);
    expect(res.json().error.message).toMatch(/MSP plan/);
  });

  it("creates a client with its Owner's invitation, the creator assigned, recorded in both chains", async () => {
    const res = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${msp.organizationId}/msp/clients`,
      as: msp.owner,
      body: { name: "Client Charlie", ownerEmail: "owner@charlie.example", plan: "business" },
    });
    expect(res.statusCode).toBe(201);
    const { client, ownerInvitationToken } = res.json();
    expect(client).toMatchObject({ name: "Client Charlie", plan: "business" });
    expect(ownerInvitationToken).toMatch(/^ppi_/);
    const accepted = await t.app.inject({
      method: "POST",
      url: "/api/v1/invitations/accept",
      payload: { token: ownerInvitationToken, name: "Charlie Owner", password: "charlie's long passphrase" },
    });
    expect(accepted.statusCode, accepted.body).toBe(201);
    // The MSP's Owner acts in the new client straight away, as MSP Tenant Admin.
    expect((await call(t.app, { method: "GET", url: devices(client.id), as: msp.owner })).statusCode).toBe(
      200,
    );
    const rows = await t.db.owner.query<{
      action: string;
      actor_id: string;
      details: Record<string, unknown>;
    }>("SELECT action, actor_id, details FROM audit_events WHERE organization_id = $1 ORDER BY seq", [
      client.id,
    ]);
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(["organization.created", "msp.technician_assigned", "invitations.created"]),
    );
    expect(rows.find((r) => r.action === "organization.created")).toMatchObject({
      actor_id: msp.owner.userId,
      details: { actor: { type: "msp_technician", msp: msp.organizationId, mspName: "Northwind MSP" } },
    });
    for (const org of [client.id, msp.organizationId]) {
      expect((await verifyChain(t.db.systemReader, org, "audit")).valid).toBe(true);
    }
  });

  it("lets a technician act only in the clients assigned to them, one tenant per request", async () => {
    expect((await call(t.app, { method: "GET", url: devices(clientA), as: techA })).statusCode).toBe(200);
    // Another client of the same MSP, the MSP itself's other clients, and a stranger: all look absent.
    const other = await call(t.app, { method: "GET", url: devices(clientB), as: techA });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe("organization.not_found");
    for (const orgId of [clientA, clientB]) {
      expect((await call(t.app, { method: "GET", url: devices(orgId), as: unassigned })).statusCode).toBe(
        404,
      );
    }
    const mine = await call(t.app, { method: "GET", url: "/api/v1/me/msp/clients", as: techA });
    expect(mine.json().items).toEqual([
      { id: clientA, name: "Client Alpha", msp: { id: msp.organizationId, name: "Northwind MSP" } },
    ]);
    expect(
      (await call(t.app, { method: "GET", url: "/api/v1/me/msp/clients", as: unassigned })).json().items,
    ).toEqual([]);
  });

  it("shows the client's own Owner which MSP staff acted, by name and MSP", async () => {
    const made = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${clientA}/device-groups`,
      as: techA,
      body: { name: "patched by the MSP" },
    });
    expect(made.statusCode, made.body).toBe(201);
    const [row] = await t.db.owner.query<{
      actor_type: string;
      actor_id: string;
      details: Record<string, unknown>;
    }>(
      "SELECT actor_type, actor_id, details FROM audit_events WHERE organization_id = $1 AND action = 'device_groups.created'",
      [clientA],
    );
    expect(row).toMatchObject({
      actor_type: "user",
      actor_id: techA.userId,
      details: { actor: { type: "msp_technician", msp: msp.organizationId, mspName: "Northwind MSP" } },
    });
    // The client's Owner (someone the client invited) reads who may act there.
    const clientOwner = await addTestMember(t.db, clientA, "owner", "client-a-owner");
    const staff = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${clientA}/msp/technicians`,
      as: clientOwner,
    });
    expect(staff.statusCode).toBe(200);
    expect(
      staff.json().items.map((i: { userId: string; msp: { name: string } }) => [i.userId, i.msp.name]),
    ).toEqual(expect.arrayContaining([[techA.userId, "Northwind MSP"]]));
  });

  it("keeps technicians from minting API tokens in a client", async () => {
    const res = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${clientA}/api-tokens`,
      as: techA,
      body: { name: "left behind", role: "auditor" },
    });
    expect(res.statusCode).toBe(403);
  });

  it("assigns only the MSP's own staff to its own clients", async () => {
    const outsider = await createTestOrg(t.db, "Outsider Ltd");
    const notStaff = await call(t.app, {
      method: "PUT",
      url: `/api/v1/orgs/${msp.organizationId}/msp/clients/${clientA}/technicians/${outsider.owner.userId}`,
      as: msp.owner,
    });
    expect(notStaff.statusCode).toBe(409);
    expect(notStaff.json().error.code).toBe("msp.not_staff");
    const otherMsp = await createTestOrg(t.db, "Rival MSP");
    await t.db.owner.query("UPDATE organizations SET plan = 'msp' WHERE id = $1", [otherMsp.organizationId]);
    const foreignClient = await call(t.app, {
      method: "PUT",
      url: `/api/v1/orgs/${otherMsp.organizationId}/msp/clients/${clientA}/technicians/${otherMsp.owner.userId}`,
      as: otherMsp.owner,
    });
    expect(foreignClient.statusCode).toBe(404);
    expect((await call(t.app, { method: "GET", url: devices(clientA), as: otherMsp.owner })).statusCode).toBe(
      404,
    );
    const list = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${otherMsp.organizationId}/msp/clients`,
      as: otherMsp.owner,
    });
    expect(list.json().items).toEqual([]);
    const operatorAssigns = await call(t.app, {
      method: "PUT",
      url: `/api/v1/orgs/${msp.organizationId}/msp/clients/${clientB}/technicians/${unassigned.userId}`,
      as: techA,
    });
    expect(operatorAssigns.statusCode).toBe(403);
  });

  it("ends access when the assignment ends or the technician leaves the MSP", async () => {
    const tech = await addTestMember(t.db, msp.organizationId, "operator", "tech-temp");
    const url = `/api/v1/orgs/${msp.organizationId}/msp/clients/${clientB}/technicians/${tech.userId}`;
    expect((await call(t.app, { method: "PUT", url, as: msp.owner })).statusCode).toBe(204);
    expect((await call(t.app, { method: "GET", url: devices(clientB), as: tech })).statusCode).toBe(200);
    expect((await call(t.app, { method: "DELETE", url, as: msp.owner })).statusCode).toBe(204);
    expect((await call(t.app, { method: "GET", url: devices(clientB), as: tech })).statusCode).toBe(404);
    expect((await call(t.app, { method: "DELETE", url, as: msp.owner })).statusCode).toBe(404);

    expect((await call(t.app, { method: "PUT", url, as: msp.owner })).statusCode).toBe(204);
    const removed = await call(t.app, {
      method: "DELETE",
      url: `/api/v1/orgs/${msp.organizationId}/users/${tech.userId}`,
      as: msp.owner,
    });
    expect(removed.statusCode).toBe(204);
    expect((await call(t.app, { method: "GET", url: devices(clientB), as: tech })).statusCode).toBe(404);
  });

  it("lists the MSP's clients with their technicians, and refuses bad input", async () => {
    const list = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${msp.organizationId}/msp/clients`,
      as: msp.owner,
    });
    const names = list.json().items.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(["Client Alpha", "Client Bravo"]));
    for (const body of [
      { name: "" },
      { name: "x", plan: "msp" },
      { name: "x", ownerEmail: "not an email" },
      { name: "x", extra: 1 },
    ]) {
      const res = await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${msp.organizationId}/msp/clients`,
        as: msp.owner,
        body,
      });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    const badId = await call(t.app, {
      method: "PUT",
      url: `/api/v1/orgs/${msp.organizationId}/msp/clients/not-a-uuid/technicians/${techA.userId}`,
      as: msp.owner,
    });
    expect(badId.statusCode).toBe(400);
  });
});
