import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import Type from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config/config.js";
import { openDatabase } from "./db/open.js";
import { UnsafeDatabaseRoleError } from "./db/tenant-isolation.js";
import { defineRoute } from "./http/route.js";
import { type RunningServer, startServer } from "./server.js";
import { startTestApp, TEST_PASSWORD } from "./testing/app.js";
import { createTestDatabase, type TestDatabase } from "./testing/database.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTPS request that trusts only the server's own root CA, as an agent does. */
function https(
  url: string,
  ca: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        ca,
        headers: { ...(payload ? { "content-type": "application/json" } : {}), ...options.headers },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

let dataDir: string;
let pgDb: TestDatabase | null = null;
let server: RunningServer;
let ca: string;
const logs = new PassThrough();
let logText = "";
logs.on("data", (chunk: Buffer) => {
  logText += chunk.toString("utf8");
});

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "pp-server-"));
  const env: Record<string, string> = {
    PATCHPILOT_DATA_DIR: dataDir,
    PATCHPILOT_PORT: "0",
    PATCHPILOT_LOG_LEVEL: "info",
    PATCHPILOT_FEED_SYNC: "off",
  };
  if (process.env.DATABASE_URL) {
    pgDb = await createTestDatabase();
    env.DATABASE_URL = pgDb.url ?? "";
  }
  server = await startServer(loadConfig(env), logs);
  ca = await readFile(path.join(dataDir, "tls", "ca.crt"), "utf8");
});
afterAll(async () => {
  await server?.stop();
  await pgDb?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("a started server", () => {
  it("serves the setup page over TLS from its own root CA, with HSTS", async () => {
    expect(server.url).toMatch(/^https:\/\/localhost:\d+$/);
    expect(server.caSpkiSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const page = await https(`${server.url}/setup`, ca);
    expect(page.status).toBe(200);
    expect(page.body).toContain("Set up PatchPilot");
    expect(page.headers["strict-transport-security"]).toBe("max-age=31536000");
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect((await https(`${server.url}/readyz`, ca)).body).toBe('{"status":"ready"}');
  });

  it("creates the first organisation from the one-time setup link, then refuses the link", async () => {
    expect(server.setupUrl).toMatch(new RegExp(`^${server.url}/setup#ppsu_[0-9A-Za-z]{39}$`));
    const setupToken = server.setupUrl?.split("#")[1] ?? "";
    const body = {
      setupToken,
      organizationName: "Started Ltd",
      name: "Ada",
      email: "ada@example.test",
      password: TEST_PASSWORD,
    };
    const created = await https(`${server.url}/api/v1/setup`, ca, { method: "POST", body });
    expect(created.status, created.body).toBe(201);
    const cookie = String(created.headers["set-cookie"]);
    expect(cookie).toMatch(/^__Host-pp_session=pps_.*HttpOnly.*Secure.*SameSite=Lax/);
    const again = await https(`${server.url}/api/v1/setup`, ca, { method: "POST", body });
    expect(again.status).toBe(409);

    const signIn = await https(`${server.url}/api/v1/auth/sign-in`, ca, {
      method: "POST",
      body: { email: "ada@example.test", password: TEST_PASSWORD },
    });
    expect(signIn.status).toBe(200);

    // Structured logs carry request ids but never a password, token or session id.
    await new Promise((r) => setTimeout(r, 50));
    expect(logText).toContain('"reqId"');
    const sessionToken = /__Host-pp_session=([^;]+)/.exec(cookie)?.[1] ?? "";
    for (const secret of [TEST_PASSWORD, setupToken, sessionToken, JSON.parse(created.body).csrfToken]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(logText).not.toContain(secret);
    }
  });

  it("answers the security.txt and the OpenAPI 3.1 document", async () => {
    const txt = await https(`${server.url}/.well-known/security.txt`, ca);
    expect(txt.status).toBe(200);
    expect(txt.body).toMatch(/^Contact: mailto:/m);
    const expires = Date.parse(/^Expires: (.*)$/m.exec(txt.body)?.[1] ?? "");
    expect(expires).toBeGreaterThan(Date.now());
    expect(expires).toBeLessThan(Date.now() + 365 * 24 * 3600 * 1000);
    const doc = JSON.parse((await https(`${server.url}/api/v1/openapi.json`, ca)).body);
    expect(doc.openapi).toBe("3.1.0");
    for (const route of server.app.routeCatalog) {
      const openapiPath = route.url.replace(/:(\w+)/g, "{$1}");
      expect(
        doc.paths[openapiPath]?.[route.method.toLowerCase()],
        `${route.method} ${route.url}`,
      ).toBeDefined();
    }
    expect(
      doc.paths["/api/v1/orgs/{orgId}/users/{userId}"].patch.requestBody.content["application/json"].schema
        .additionalProperties,
    ).toBe(false);
    // Automation finds how to send an API token: a scheme, offered beside the session on organisation routes.
    expect(doc.components.securitySchemes.apiToken).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/api/v1/orgs/{orgId}/devices"].get.security).toContainEqual({ apiToken: [] });
    expect(doc.paths["/api/v1/me"].get.security).not.toContainEqual({ apiToken: [] });
  });
});

describe("start-up safety", () => {
  it("refuses to serve when the application role could bypass row-level security", async () => {
    // The embedded database is the test's own, so changing a role here touches no other test.
    const dir = await mkdtemp(path.join(tmpdir(), "pp-unsafe-"));
    try {
      const db = await openDatabase({ databaseUrl: null, pgliteDir: path.join(dir, "pgdata") });
      await db.owner.exec("ALTER ROLE patchpilot_app BYPASSRLS");
      await db.close();
      await expect(
        startServer(
          loadConfig({
            PATCHPILOT_DATA_DIR: dir,
            PATCHPILOT_PORT: "0",
            PATCHPILOT_LOG_LEVEL: "silent",
            PATCHPILOT_FEED_SYNC: "off",
          }),
        ),
      ).rejects.toBeInstanceOf(UnsafeDatabaseRoleError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("finishes requests in flight when it shuts down", async () => {
    let release: () => void = () => {};
    const slow = defineRoute({
      method: "GET",
      url: "/slow",
      summary: "a slow answer",
      tags: ["test"],
      permission: "public",
      isolationExempt: "test route",
      schema: { response: { 200: Type.Object({ done: Type.Boolean() }) } },
      handler: () =>
        new Promise((resolve) => {
          release = () => resolve({ done: true });
        }),
    });
    const t = await startTestApp({ routes: [slow] });
    const address = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const inFlight = fetch(`${address}/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await new Promise((r) => setTimeout(r, 100));
    const closing = t.close();
    await new Promise((r) => setTimeout(r, 100));
    release();
    expect(await inFlight).toEqual({ status: 200, body: { done: true } });
    await closing;
  });
});
