import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/config.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
} from "../testing/app.js";
import { type Fleet, importFixtureAdvisories, seedFleet } from "../testing/vulns.js";
import { ensureTlsMaterial } from "../tls/certificate-authority.js";
import { agentEnrollment } from "./agent-enrollment.js";
import { loadConsoleFiles } from "./console-files.js";

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
let fleet: Fleet;

beforeAll(async () => {
  t = await startTestApp();
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db);
  other = await createTestOrg(t.db);
  fleet = await seedFleet(t, org.organizationId, "dash");
});
afterAll(async () => {
  await t?.close();
});

describe("GET /api/v1/orgs/:orgId/dashboard", () => {
  it("counts the fleet's devices by presence and patch compliance", async () => {
    // The web server was last seen ten days ago; the other two have just reported.
    await t.db.owner.query(
      "UPDATE device_presence SET last_seen_at = now() - interval '10 days' WHERE device_id = $1",
      [fleet.web.deviceId],
    );
    const res = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/dashboard`,
      as: org.owner,
    });
    expect(res.statusCode, res.body).toBe(200);
    // No finding is past its SLA yet: every device is compliant.
    expect(res.json()).toEqual({
      devices: { total: 3, online: 2, offline: 1, notSeen7Days: 1, compliant: 3 },
      compliancePercent: 100,
    });
  });

  it("counts a device with an open finding past its SLA as not compliant", async () => {
    await t.db.owner.query(
      "UPDATE findings SET sla_due_at = now() - interval '1 day' WHERE device_id = $1 AND status = 'open'",
      [fleet.lab.deviceId],
    );
    const res = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/dashboard`,
      as: org.owner,
    });
    expect(res.json()).toMatchObject({ devices: { total: 3, compliant: 2 }, compliancePercent: 66.7 });
  });

  it("answers an Auditor, and another organisation's people as if the organisation did not exist", async () => {
    const auditor = await addTestMember(t.db, org.organizationId, "auditor");
    const url = `/api/v1/orgs/${org.organizationId}/dashboard`;
    expect((await call(t.app, { method: "GET", url, as: auditor })).statusCode).toBe(200);
    expect((await call(t.app, { method: "GET", url, as: other.owner })).statusCode).toBe(404);
    expect((await call(t.app, { method: "GET", url })).statusCode).toBe(401);
    const empty = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${other.organizationId}/dashboard`,
      as: other.owner,
    });
    expect(empty.json()).toEqual({
      devices: { total: 0, online: 0, offline: 0, notSeen7Days: 0, compliant: 0 },
      compliancePercent: null,
    });
  });
});

describe("GET /api/v1/orgs/:orgId/agent-enrollment", () => {
  it("answers the server's address for the install commands", async () => {
    const res = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/agent-enrollment`,
      as: org.owner,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ serverUrl: t.config.publicUrl.origin, caPin: null });
  });

  it("gives the same root CA pin the server prints at start", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "pp-pin-"));
    try {
      const material = await ensureTlsMaterial({
        tlsDir: path.join(dataDir, "tls"),
        hostnames: ["localhost"],
      });
      const config = loadConfig({ PATCHPILOT_DATA_DIR: dataDir, PATCHPILOT_PORT: "8443" });
      expect(await agentEnrollment(config, 8443)).toEqual({
        serverUrl: "https://localhost:8443",
        caPin: `sha256/${material.caSpkiSha256}`,
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("the console's files", () => {
  it("serves the single page for each client address, with the CSP and no inline script", async () => {
    for (const url of [
      "/",
      "/setup",
      "/invitations/accept",
      "/account",
      `/orgs/${org.organizationId}/devices`,
    ]) {
      const res = await t.app.inject({ method: "GET", url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(res.body).toMatch(
        /<script type="module" crossorigin src="\/assets\/[A-Za-z0-9_-]+\.js"><\/script>/,
      );
      expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
    expect((await t.app.inject({ method: "GET", url: "/setup" })).body).toContain(
      "<title>Set up PatchPilot</title>",
    );
  });

  it("serves the built scripts compressed and cacheable for good, and nothing else", async () => {
    const page = (await t.app.inject({ method: "GET", url: "/" })).body;
    const script = /src="\/assets\/([^"]+)"/.exec(page)?.[1] ?? "";
    const files = await loadConsoleFiles();
    const res = await t.app.inject({
      method: "GET",
      url: `/assets/${script}`,
      headers: { "accept-encoding": "gzip, br" },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(res.rawPayload).toEqual(files.asset(script)?.gzipped);
    const plain = await t.app.inject({ method: "GET", url: `/assets/${script}` });
    expect(plain.headers["content-encoding"]).toBeUndefined();
    for (const url of ["/assets/missing.js", "/assets/..%2Fpackage.json", "/assets/index.html"]) {
      const missing = await t.app.inject({ method: "GET", url });
      expect(missing.statusCode, url).toBe(404);
      expect(missing.json()).toMatchObject({ error: { code: "route.not_found" } });
    }
    // The API keeps answering JSON for unknown addresses; only client addresses get the page.
    expect((await t.app.inject({ method: "GET", url: "/api/v1/nothing-here" })).statusCode).toBe(404);
  });
});
