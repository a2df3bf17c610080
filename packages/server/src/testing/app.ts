import { Writable } from "node:stream";
import type { Role } from "@patchpilot/domain";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { createApp } from "../capabilities.js";
import { type Config, loadConfig } from "../config/config.js";
import type { Database } from "../db/database.js";
import type { App } from "../http/app.js";
import type { RouteDefinition } from "../http/route.js";
import { hashPassword } from "../identity/passwords.js";
import { csrfTokenFor, openSession } from "../identity/sessions.js";
import { createOrganization, createUser } from "../organizations/create-organization.js";
import { createTestDatabase, SYSTEM_CONTEXT, type TestDatabase } from "./database.js";

export const TEST_PASSWORD = "correct horse battery staple";
let passwordHash: Promise<string> | null = null;

/** The in-process application on a fresh database; requests go through `app.inject`. */
export interface TestApp {
  app: App;
  db: Database;
  config: Config;
  testDb: TestDatabase;
  close(): Promise<void>;
}

export const TEST_SECRET_KEY = Buffer.alloc(32, 42).toString("base64");

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    PATCHPILOT_DATA_DIR: "/nonexistent",
    PATCHPILOT_LOG_LEVEL: "silent",
    // A fixed test key: sealed values in tests are test values.
    PATCHPILOT_SECRET_KEY: TEST_SECRET_KEY,
    ...overrides,
  });
}

export async function startTestApp(
  options: {
    routes?: RouteDefinition[];
    db?: TestDatabase;
    /** Off: no background work (matching, jobs, polling), so the database stands still. */
    backgroundWork?: boolean;
    /** More settings, as environment variables. */
    env?: Record<string, string>;
    /** How the server reaches single sign-on providers (one that trusts a test CA). */
    ssoFetch?: typeof fetch;
  } = {},
): Promise<TestApp> {
  const testDb = options.db ?? (await createTestDatabase());
  // PATCHPILOT_TEST_LOG=error (or another level) shows the server's log while debugging a test.
  const config = testConfig({
    PATCHPILOT_FEED_SYNC: "off",
    ...(options.backgroundWork === false ? { PATCHPILOT_BACKGROUND_WORK: "off" } : {}),
    ...(process.env.PATCHPILOT_TEST_LOG ? { PATCHPILOT_LOG_LEVEL: process.env.PATCHPILOT_TEST_LOG } : {}),
    ...options.env,
  });
  const logStream = process.env.PATCHPILOT_TEST_LOG
    ? process.stderr
    : new Writable({ write: (_chunk, _enc, done) => done() });
  const app = await createApp(
    { db: testDb.db, config, logStream, ...(options.ssoFetch ? { ssoFetch: options.ssoFetch } : {}) },
    options.routes ?? [],
  );
  await app.ready();
  return {
    app,
    db: testDb.db,
    config,
    testDb,
    close: async () => {
      await app.close();
      if (!options.db) await testDb.drop();
    },
  };
}

export interface TestPerson {
  userId: string;
  email: string;
  token: string;
  csrf: string;
}

export interface TestOrg {
  organizationId: string;
  name: string;
  owner: TestPerson;
}

let counter = 0;
function uniqueEmail(label: string): string {
  counter++;
  return `${label}-${counter}-${Math.random().toString(36).slice(2, 8)}@example.test`;
}

async function sharedPasswordHash(): Promise<string> {
  passwordHash ??= hashPassword(TEST_PASSWORD);
  return passwordHash;
}

export async function freshSession(db: Database, userId: string): Promise<{ token: string; csrf: string }> {
  const { token } = await db.system(
    SYSTEM_CONTEXT,
    (tx) => openSession(tx, userId, { ip: "127.0.0.1", userAgent: "test" }),
    { unaudited: "a test fixture's session" },
  );
  return { token, csrf: csrfTokenFor(token) };
}

/** An organisation with its Owner, made through the same functions setup uses. */
export async function createTestOrg(
  db: Database,
  name = `Org ${Math.random().toString(36).slice(2, 8)}`,
): Promise<TestOrg> {
  const email = uniqueEmail("owner");
  const hash = await sharedPasswordHash();
  const { organizationId, userId } = await db.system(SYSTEM_CONTEXT, async (tx) => {
    const userId = await createUser(tx, { email, name: "Owner", passwordHash: hash });
    const organizationId = await createOrganization(tx, { name, ownerUserId: userId });
    return { organizationId, userId };
  });
  return { organizationId, name, owner: { userId, email, ...(await freshSession(db, userId)) } };
}

export async function addTestMember(
  db: Database,
  organizationId: string,
  role: Role,
  label: string = role,
): Promise<TestPerson> {
  const email = uniqueEmail(label);
  const hash = await sharedPasswordHash();
  const userId = await db.system(SYSTEM_CONTEXT, async (tx) => {
    const id = await createUser(tx, { email, name: `${label} person`, passwordHash: hash });
    await tx.db
      .insertInto("memberships")
      .values({ organization_id: organizationId, user_id: id, role })
      .execute();
    tx.audit(organizationId, { action: "users.added", target: { type: "user", id }, details: { role } });
    return id;
  });
  return { userId, email, ...(await freshSession(db, userId)) };
}

/** A request as a signed-in person would send it from the console (cookie, CSRF token, origin). */
export function call(
  app: App,
  request: {
    method: InjectOptions["method"];
    url: string;
    as?: TestPerson | null;
    body?: unknown;
    headers?: Record<string, string>;
  },
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.as) {
    headers.cookie = `__Host-pp_session=${request.as.token}`;
    headers["x-csrf-token"] = request.as.csrf;
  }
  return app.inject({
    method: request.method,
    url: request.url,
    headers,
    ...(request.body !== undefined ? { payload: request.body as InjectOptions["payload"] } : {}),
  });
}
