import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  call,
  createTestOrg,
  startTestApp,
  TEST_PASSWORD,
  type TestApp,
  type TestOrg,
} from "../testing/app.js";
import { findNulString } from "./validation.js";

let t: TestApp;
let org: TestOrg;
let invitationsUrl: string;
let orgUrl: string;

beforeAll(async () => {
  t = await startTestApp({ backgroundWork: false });
  org = await createTestOrg(t.db, "Validation Org");
  invitationsUrl = `/api/v1/orgs/${org.organizationId}/invitations`;
  orgUrl = `/api/v1/orgs/${org.organizationId}`;
});
afterAll(() => t.close());

interface Snapshot {
  name: string;
  invitations: number;
  audit: number;
  sessions: number;
}

/** What a refused request must leave as it was. */
async function snapshot(): Promise<Snapshot> {
  const rows = await t.db.owner.query<Snapshot>(
    `SELECT (SELECT name FROM organizations WHERE id = $1) AS name,
            (SELECT count(*)::int FROM invitations WHERE organization_id = $1) AS invitations,
            (SELECT count(*)::int FROM audit_events WHERE organization_id = $1) AS audit,
            (SELECT count(*)::int FROM sessions) AS sessions`,
    [org.organizationId],
  );
  const row = rows[0];
  if (!row) throw new Error("no snapshot");
  return row;
}

const STACK_TRACE = /\bat .+\.(?:js|ts):\d+|"stack"|node_modules/i;
const SQL_TEXT =
  /\b(?:SELECT|INSERT|UPDATE|DELETE)\b[^"]*\b(?:FROM|INTO|SET|WHERE)\b|syntax error at|relation "/;

/** Every error answer has one shape, the request id, and nothing from inside the server. */
function expectError(res: LightMyRequestResponse, status: number, code: string, field?: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  const body = res.json<Record<string, unknown>>();
  expect(Object.keys(body)).toEqual(["error"]);
  const error = body.error as Record<string, unknown>;
  const keys = Object.keys(error).sort();
  expect(keys).toEqual(
    field === undefined && !("field" in error)
      ? ["code", "message", "requestId"]
      : ["code", "field", "message", "requestId"],
  );
  expect(error.code).toBe(code);
  if (field !== undefined) expect(error.field).toBe(field);
  expect(typeof error.message).toBe("string");
  expect(error.requestId).toBe(res.headers["x-request-id"]);
  expect(res.body).not.toMatch(STACK_TRACE);
  expect(res.body).not.toMatch(SQL_TEXT);
}

function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return call(t.app, { method: "POST", url, as: org.owner, body, headers });
}

function patch(url: string, body: unknown, headers: Record<string, string> = {}) {
  return call(t.app, { method: "PATCH", url, as: org.owner, body, headers });
}

const JSON_TYPE = { "content-type": "application/json" };

describe("request bodies", () => {
  it("refuses malformed or empty JSON with 400 request.malformed_json", async () => {
    const before = await snapshot();
    for (const raw of ['{"email": "a@example.test", "role": ', "{'role': 'admin'}", "", "nul"]) {
      expectError(await post(invitationsUrl, raw, JSON_TYPE), 400, "request.malformed_json");
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a value of the wrong type, naming the field", async () => {
    const before = await snapshot();
    expectError(
      await post(invitationsUrl, { email: "typed@example.test", role: 5 }),
      400,
      "request.invalid",
      "body/role",
    );
    expectError(
      await post(invitationsUrl, { email: ["typed@example.test"], role: "admin" }),
      400,
      "request.invalid",
      "body/email",
    );
    // JSON bodies are taken as sent: a number in a string field is not coerced.
    expectError(await patch(orgUrl, { name: 12345 }), 400, "request.invalid", "body/name");
    expect(await snapshot()).toEqual(before);
  });

  // Unknown fields are refused rather than dropped, so a client cannot believe it set a field
  // (for instance a privilege flag) that the server silently ignored.
  it("refuses an unknown field, naming it", async () => {
    const before = await snapshot();
    expectError(
      await post(invitationsUrl, { email: "extra@example.test", role: "auditor", isAdmin: true }),
      400,
      "request.invalid",
      "body/isAdmin",
    );
    expectError(
      await patch(orgUrl, { name: "Renamed", plan: "enterprise" }),
      400,
      "request.invalid",
      "body/plan",
    );
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a missing required field, naming it", async () => {
    const before = await snapshot();
    expectError(
      await post(invitationsUrl, { email: "missing@example.test" }),
      400,
      "request.invalid",
      "body/role",
    );
    expectError(await post(invitationsUrl, { role: "auditor" }), 400, "request.invalid", "body/email");
    expectError(await patch(orgUrl, {}), 400, "request.invalid", "body/name");
    expect(await snapshot()).toEqual(before);
  });

  it("refuses over-long strings, naming the field", async () => {
    const before = await snapshot();
    expectError(await patch(orgUrl, { name: "n".repeat(201) }), 400, "request.invalid", "body/name");
    const longEmail = `${"e".repeat(300 - "@example.test".length)}@example.test`;
    expect(longEmail).toHaveLength(300);
    expectError(
      await post(invitationsUrl, { email: longEmail, role: "auditor" }),
      400,
      "request.invalid",
      "body/email",
    );
    expect(await snapshot()).toEqual(before);
  });

  it("accepts a name of exactly 200 characters (the limit, not one less)", async () => {
    const other = await createTestOrg(t.db);
    const res = await call(t.app, {
      method: "PATCH",
      url: `/api/v1/orgs/${other.organizationId}`,
      as: other.owner,
      body: { name: "n".repeat(200) },
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  // NUL cannot be stored in PostgreSQL text, and bcrypt would cut a password at it.
  it("refuses a string holding a NUL character, naming the field", async () => {
    const before = await snapshot();
    expectError(await patch(orgUrl, { name: "Evil\u0000Corp" }), 400, "request.invalid", "body/name");
    expect(await snapshot()).toEqual(before);
  });

  it("finds NUL characters anywhere in a value, keys included", () => {
    expect(findNulString({ a: [{ b: "ok" }, { c: "x\u0000" }] })).toBe("/a/1/c");
    expect(findNulString({ "k\u0000": "v" })).toBe("/k\u0000");
    expect(findNulString("\u0000")).toBe("/");
    expect(findNulString({ a: ["fine", 1, null, true] })).toBeNull();
  });

  // A size limit keeps one client from making the server buffer and parse arbitrary amounts.
  it("refuses a body over the limit with 413 request.body_too_large", async () => {
    const before = await snapshot();
    expect(t.config.bodyLimit).toBe(64 * 1024);
    const res = await patch(orgUrl, { name: "a".repeat(100 * 1024) });
    expectError(res, 413, "request.body_too_large");
    expect(await snapshot()).toEqual(before);
  });

  // Prototype pollution: a __proto__ or constructor.prototype key must never reach a handler.
  it("refuses __proto__ and constructor.prototype keys with 400", async () => {
    const before = await snapshot();
    for (const raw of [
      '{"__proto__": {"isAdmin": true}, "name": "Polluted"}',
      '{"name": "Polluted", "constructor": {"prototype": {"isAdmin": true}}}',
    ]) {
      const res = await patch(orgUrl, raw, JSON_TYPE);
      const code = res.json<{ error: { code: string } }>().error.code;
      expect(["request.malformed_json", "request.invalid"], raw).toContain(code);
      expectError(res, 400, code);
    }
    // Nothing leaked into the server's own objects either.
    expect(Object.hasOwn(Object.prototype, "isAdmin")).toBe(false);
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a body that is not JSON with 415", async () => {
    const before = await snapshot();
    const form = await patch(orgUrl, "name=Form", { "content-type": "application/x-www-form-urlencoded" });
    expectError(form, 415, "request.unsupported_media_type");
    const json = JSON.stringify({ name: "Plain" });
    expectError(
      await patch(orgUrl, json, { "content-type": "text/plain" }),
      415,
      "request.unsupported_media_type",
    );
    expect(await snapshot()).toEqual(before);
  });
});

describe("paths and query strings", () => {
  it("answers 404 or 400, never 500, to ids that are not UUIDs", async () => {
    const before = await snapshot();
    expectError(
      await call(t.app, { method: "GET", url: "/api/v1/orgs/not-a-uuid", as: org.owner }),
      404,
      "organization.not_found",
    );
    expectError(
      await call(t.app, {
        method: "PATCH",
        url: "/api/v1/orgs/1%27%20OR%201=1--",
        as: org.owner,
        body: { name: "x" },
      }),
      404,
      "organization.not_found",
    );
    expectError(
      await call(t.app, { method: "GET", url: `${orgUrl}/users/not-a-uuid`, as: org.owner }),
      400,
      "request.invalid",
      "params/userId",
    );
    expectError(
      await call(t.app, { method: "DELETE", url: `${invitationsUrl}/12345`, as: org.owner }),
      400,
      "request.invalid",
      "params/invitationId",
    );
    expect(await snapshot()).toEqual(before);
  });

  // Ids the router itself rejects (longer than its parameter limit, or not decodable) must get
  // the same error shape, request id and headers as every other refusal.
  it("answers over-long and undecodable path ids in the common error shape", async () => {
    for (const url of [`${orgUrl}/users/${"f".repeat(300)}`, `${orgUrl}/users/%E0%A4%A`]) {
      const res = await call(t.app, { method: "GET", url, as: org.owner });
      expect([400, 404], url).toContain(res.statusCode);
      expect(res.headers["x-request-id"], url).toBeDefined();
      expectError(res, res.statusCode, res.json<{ error: { code: string } }>().error?.code ?? "(none)");
    }
  });

  it("refuses query-string junk, naming the parameter", async () => {
    const usersUrl = `${orgUrl}/users`;
    for (const [query, field] of [
      ["limit=abc", "querystring/limit"],
      ["limit=100000", "querystring/limit"],
      ["limit=0", "querystring/limit"],
      ["limit=1.5", "querystring/limit"],
      ["limit=1&limit=2", "querystring/limit"],
      ["role=superuser", "querystring/role"],
      ["sort=email", "querystring/sort"],
    ] as const) {
      const res = await call(t.app, { method: "GET", url: `${usersUrl}?${query}`, as: org.owner });
      expectError(res, 400, "request.invalid", field);
    }
    // A good query is answered, so the refusals above are about the junk.
    expect((await call(t.app, { method: "GET", url: `${usersUrl}?limit=5`, as: org.owner })).statusCode).toBe(
      200,
    );
  });

  it("answers an unknown route with 404 route.not_found", async () => {
    expectError(await t.app.inject({ method: "GET", url: "/api/v1/no-such-thing" }), 404, "route.not_found");
    expectError(
      await call(t.app, { method: "PUT", url: orgUrl, as: org.owner, body: { name: "x" } }),
      404,
      "route.not_found",
    );
  });
});

describe("sign-in bodies", () => {
  function signIn(payload: unknown, headers: Record<string, string> = {}) {
    return t.app.inject({
      method: "POST",
      url: "/api/v1/auth/sign-in",
      payload: payload as string,
      headers,
      remoteAddress: "198.51.100.200",
    });
  }

  it("refuses malformed sign-in requests without opening a session", async () => {
    const before = await snapshot();
    const email = org.owner.email;
    expectError(await signIn({ email }), 400, "request.invalid", "body/password");
    expectError(await signIn({ password: TEST_PASSWORD }), 400, "request.invalid", "body/email");
    expectError(
      await signIn({ email: [email], password: TEST_PASSWORD }),
      400,
      "request.invalid",
      "body/email",
    );
    expectError(
      await signIn({ email, password: TEST_PASSWORD, remember: true }),
      400,
      "request.invalid",
      "body/remember",
    );
    expectError(await signIn({ email, password: "p".repeat(257) }), 400, "request.invalid", "body/password");
    expectError(await signIn(`{"email": "${email}", "password": `, JSON_TYPE), 400, "request.malformed_json");
    expectError(
      await signIn("email=x", { "content-type": "application/x-www-form-urlencoded" }),
      415,
      "request.unsupported_media_type",
    );
    // bcrypt would compare only the part before the NUL. (How the field is named is checked above.)
    const nul = await signIn({ email, password: `${TEST_PASSWORD}\u0000anything` });
    expectError(nul, 400, "request.invalid");
    expect(nul.json<{ error: { field?: string } }>().error.field).toMatch(/password$/);
    expect(await snapshot()).toEqual(before);
  });
});
