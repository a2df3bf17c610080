import { generateToken } from "@patchpilot/protocol";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLATFORM_ORGANIZATION_ID } from "../../audit/chain.js";
import { verifyChain } from "../../audit/verify.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from "../../testing/app.js";

let t: TestApp;
let org: TestOrg;
beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  org = await createTestOrg(t.db, "Token Works");
});
afterAll(() => t.close());

function withToken(
  token: string,
  request: { method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"; url: string; body?: unknown },
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: request.method,
    url: request.url,
    headers: { authorization: `Bearer ${token}` },
    ...(request.body !== undefined ? { payload: request.body as Record<string, unknown> } : {}),
  });
}

async function create(body: Record<string, unknown>, as = org.owner): Promise<LightMyRequestResponse> {
  return call(t.app, { method: "POST", url: `/api/v1/orgs/${org.organizationId}/api-tokens`, as, body });
}

async function auditCount(organizationId: string, action: string): Promise<number> {
  const rows = await t.db.owner.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1 AND action = $2",
    [organizationId, action],
  );
  return rows[0]?.n ?? 0;
}

describe("API tokens", () => {
  it("are shown once, stored hashed, and act with their role, audited under their name", async () => {
    const created = await create({ name: "inventory export", role: "auditor" });
    expect(created.statusCode, created.body).toBe(201);
    const { token, apiToken } = created.json<{ token: string; apiToken: { id: string; hint: string } }>();
    expect(token).toMatch(/^ppat_[0-9A-Za-z]{39}$/);
    expect(token.startsWith(apiToken.hint.replace("…", ""))).toBe(true);
    const stored = await t.db.owner.query<Record<string, unknown>>("SELECT * FROM api_tokens WHERE id = $1", [
      apiToken.id,
    ]);
    expect(JSON.stringify(stored)).not.toContain(token.slice(5));

    const list = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/api-tokens`,
      as: org.owner,
    });
    expect(list.body).not.toContain(token);

    const devices = await withToken(token, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices`,
    });
    expect(devices.statusCode, devices.body).toBe(200);
    // An Auditor's token reads but changes nothing.
    const rename = await withToken(token, {
      method: "PATCH",
      url: `/api/v1/orgs/${org.organizationId}`,
      body: { name: "Renamed by a token" },
    });
    expect(rename.statusCode).toBe(403);

    const used = await t.db.owner.query<{
      actor_type: string;
      actor_id: string;
      details: Record<string, unknown>;
    }>(
      "SELECT actor_type, actor_id, details FROM audit_events WHERE organization_id = $1 AND action = 'api_tokens.used' ORDER BY seq",
      [org.organizationId],
    );
    expect(used).toHaveLength(2);
    expect(used[0]).toMatchObject({
      actor_type: "api_token",
      actor_id: apiToken.id,
      details: {
        actor: { type: "api_token", name: "inventory export" },
        method: "GET",
        route: "/api/v1/orgs/:orgId/devices",
      },
    });
    const refused = await t.db.owner.query<{ actor_type: string; result: string }>(
      "SELECT actor_type, result FROM audit_events WHERE organization_id = $1 AND action = 'organization.update'",
      [org.organizationId],
    );
    expect(refused).toEqual([{ actor_type: "api_token", result: "failure" }]);
    const row = await t.db.owner.query<{ last_used_at: Date | null }>(
      "SELECT last_used_at FROM api_tokens WHERE id = $1",
      [apiToken.id],
    );
    expect(row[0]?.last_used_at).not.toBeNull();
  });

  it("changes data as the token, with the audit row naming it", async () => {
    const { token } = (await create({ name: "automation admin", role: "admin" })).json<{ token: string }>();
    const res = await withToken(token, {
      method: "POST",
      url: `/api/v1/orgs/${org.organizationId}/device-groups`,
      body: { name: "made by automation" },
    });
    expect(res.statusCode, res.body).toBe(201);
    const rows = await t.db.owner.query<{ actor_type: string; details: { actor?: unknown } }>(
      "SELECT actor_type, details FROM audit_events WHERE organization_id = $1 AND action = 'device_groups.created' ORDER BY seq DESC LIMIT 1",
      [org.organizationId],
    );
    expect(rows[0]).toMatchObject({
      actor_type: "api_token",
      details: { actor: { type: "api_token", name: "automation admin" } },
    });
    expect((await verifyChain(t.db.systemReader, org.organizationId, "audit")).valid).toBe(true);
  });

  it("never carry a role above their creator's", async () => {
    const admin = await addTestMember(t.db, org.organizationId, "admin");
    const tooHigh = await create({ name: "escalation", role: "owner" }, admin);
    expect(tooHigh.statusCode).toBe(403);
    expect(tooHigh.json().error.code).toBe("api_tokens.role_too_high");
    expect((await create({ name: "admin level", role: "admin" }, admin)).statusCode).toBe(201);
    const operator = await addTestMember(t.db, org.organizationId, "operator");
    expect((await create({ name: "operator's", role: "auditor" }, operator)).statusCode).toBe(403);
    const { token } = (await create({ name: "a token's token", role: "admin" })).json<{ token: string }>();
    const minted = await withToken(token, {
      method: "POST",
      url: `/api/v1/orgs/${org.organizationId}/api-tokens`,
      body: { name: "minted", role: "auditor" },
    });
    expect(minted.statusCode).toBe(403);
  });

  it("stop working when revoked or expired", async () => {
    const { token, apiToken } = (await create({ name: "short lived", role: "operator" })).json<{
      token: string;
      apiToken: { id: string };
    }>();
    const url = `/api/v1/orgs/${org.organizationId}/devices`;
    expect((await withToken(token, { method: "GET", url })).statusCode).toBe(200);
    const revoked = await call(t.app, {
      method: "DELETE",
      url: `/api/v1/orgs/${org.organizationId}/api-tokens/${apiToken.id}`,
      as: org.owner,
    });
    expect(revoked.statusCode).toBe(204);
    const after = await withToken(token, { method: "GET", url });
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe("api_tokens.invalid");
    const twice = await call(t.app, {
      method: "DELETE",
      url: `/api/v1/orgs/${org.organizationId}/api-tokens/${apiToken.id}`,
      as: org.owner,
    });
    expect(twice.statusCode).toBe(404);

    const expiring = (
      await create({
        name: "expiring",
        role: "auditor",
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      })
    ).json<{ token: string; apiToken: { id: string } }>();
    expect((await withToken(expiring.token, { method: "GET", url })).statusCode).toBe(200);
    await t.db.owner.query("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [
      expiring.apiToken.id,
    ]);
    expect((await withToken(expiring.token, { method: "GET", url })).statusCode).toBe(401);
    const past = await create({ name: "born expired", role: "auditor", expiresAt: "2020-01-01T00:00:00Z" });
    expect(past.statusCode).toBe(400);
  });

  it("refuse a token with a good prefix and a bad checksum without looking it up, and record it", async () => {
    const valid = generateToken("apiToken");
    const last = valid.at(-1) === "A" ? "B" : "A";
    const forged = `${valid.slice(0, -1)}${last}`;
    const before = await auditCount(PLATFORM_ORGANIZATION_ID, "api_tokens.rejected");
    const res = await withToken(forged, { method: "GET", url: `/api/v1/orgs/${org.organizationId}/devices` });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe("api_tokens.invalid");
    expect(await auditCount(PLATFORM_ORGANIZATION_ID, "api_tokens.rejected")).toBe(before + 1);
    const junk = await t.app.inject({
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices`,
      headers: { authorization: "Basic dXNlcjpwYXNz" },
    });
    expect(junk.statusCode).toBe(401);
  });

  it("act only in their own organisation, and not on a person's own routes", async () => {
    const other = await createTestOrg(t.db, "Other Works");
    const { token } = (await create({ name: "home only", role: "admin" })).json<{ token: string }>();
    const elsewhere = await withToken(token, {
      method: "GET",
      url: `/api/v1/orgs/${other.organizationId}/devices`,
    });
    expect(elsewhere.statusCode).toBe(404);
    const me = await withToken(token, { method: "GET", url: "/api/v1/me" });
    expect(me.statusCode).toBe(401);
  });

  it("refuse bad input and change nothing", async () => {
    const before = await t.db.owner.query("SELECT id FROM api_tokens");
    for (const body of [
      { name: "", role: "auditor" },
      { name: "x", role: "superuser" },
      { name: "x", role: "auditor", extra: true },
      { name: "x".repeat(101), role: "auditor" },
      { name: "x", role: "auditor", expiresAt: "tomorrow" },
    ]) {
      expect((await create(body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    await create({ name: "unique name", role: "auditor" });
    expect((await create({ name: "unique name", role: "auditor" })).statusCode).toBe(409);
    expect((await t.db.owner.query("SELECT id FROM api_tokens")).length).toBe(before.length + 1);
  });

  // Stops a flood of made-up tokens from growing the platform chain, which no retention trims.
  it("record refusals of tokens nobody holds at most once a minute per client address", async () => {
    const before = await auditCount(PLATFORM_ORGANIZATION_ID, "api_tokens.rejected");
    const flood = (remoteAddress: string) =>
      t.app.inject({
        method: "GET",
        url: `/api/v1/orgs/${org.organizationId}/devices`,
        remoteAddress,
        headers: { authorization: `Bearer ${generateToken("apiToken")}` },
      });
    for (let i = 0; i < 20; i++) expect((await flood("203.0.113.7")).statusCode).toBe(401);
    expect(await auditCount(PLATFORM_ORGANIZATION_ID, "api_tokens.rejected")).toBe(before + 1);
    expect((await flood("203.0.113.8")).statusCode).toBe(401);
    expect(await auditCount(PLATFORM_ORGANIZATION_ID, "api_tokens.rejected")).toBe(before + 2);
    // A minute later the address is recorded again.
    await t.db.owner.query(
      "UPDATE rate_limit_buckets SET window_started_at = now() - interval '61 seconds' WHERE key LIKE 'platform-refusal:api_token:%'",
    );
    expect((await flood("203.0.113.7")).statusCode).toBe(401);
    expect(await auditCount(PLATFORM_ORGANIZATION_ID, "api_tokens.rejected")).toBe(before + 3);
  });
});
