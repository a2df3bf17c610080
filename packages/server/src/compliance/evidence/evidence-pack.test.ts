import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import yauzl from "yauzl";
import type { OrganizationTransaction } from "../../db/database.js";
import { recordBackupRun, recordRestoreTest } from "../../ops/backup/backup-records.js";
import {
  addTestMember,
  call,
  createTestOrg,
  startTestApp,
  type TestApp,
  type TestOrg,
  type TestPerson,
} from "../../testing/app.js";
import { runCli } from "../../testing/cli.js";
import { SYSTEM_CONTEXT } from "../../testing/database.js";
import { type SeededMsp, seedMsp } from "../../testing/identity-world.js";
import { requirePeer } from "../../testing/peers.js";
import { importFixtureAdvisories, seedFleet } from "../../testing/vulns.js";
import { parsePublicKeyPem } from "./evidence-key.js";
import { verifyEvidencePack } from "./pack-verify.js";

const run = promisify(execFile);

/** RFC 4180 records as objects keyed by the header row (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i++;
    } else field += ch;
  }
  const [header = [], ...rows] = records;
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
}
let t: TestApp;
let org: TestOrg;
let auditor: TestPerson;
let operator: TestPerson;
let other: TestOrg;
let msp: SeededMsp;
let dir: string;
let publicKeyPem: string;
const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
let to: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "pp-evidence-"));
  t = await startTestApp({ backgroundWork: false });
  await importFixtureAdvisories(t.db);
  org = await createTestOrg(t.db, "Evidence & Co =cmd|");
  auditor = await addTestMember(t.db, org.organizationId, "auditor");
  operator = await addTestMember(t.db, org.organizationId, "operator");
  other = await createTestOrg(t.db, "Someone Else Ltd");
  // An MSP manages both: its technician assigned here may act here, the other one may not.
  msp = await seedMsp(t.db, { a: org.organizationId, b: other.organizationId });
  // The owner and another organisation's owner have a second factor; the auditor began enrolling
  // but never confirmed it; the operator has none. The organisation requires it of admins.
  for (const [person, confirmed] of [
    [org.owner, true],
    [other.owner, true],
    [auditor, false],
    [msp.technicianOfA, true],
    [msp.technicianOfB, true],
  ] as const) {
    await t.db.owner.query(
      "INSERT INTO user_totp (user_id, secret_sealed, confirmed_at) VALUES ($1, 'sealed-test-key', $2)",
      [person.userId, confirmed ? new Date(Date.now() - 86_400_000) : null],
    );
  }
  await call(t.app, {
    method: "PUT",
    url: `/api/v1/orgs/${org.organizationId}/security-settings`,
    as: org.owner,
    body: { twoFactorRequired: "admins" },
  });
  // The platform's backups and restore tests: one verified backup, one failed, one passed and one
  // failed restore test. Their file names, errors and details are for the operator only: the
  // details here name another organisation, as a real one may (row counts, chain heads).
  await recordBackupRun(t.db, {
    trigger: "scheduled",
    startedAt: new Date(Date.now() - 2 * 86_400_000),
    durationMs: 4200,
    file: "patchpilot-secret-file-name.ppbk",
    bytes: 123456,
    verified: true,
    details: { organization: other.organizationId },
  });
  await recordBackupRun(t.db, {
    trigger: "manual",
    startedAt: new Date(Date.now() - 86_400_000),
    durationMs: 900,
    file: null,
    verified: false,
    error: `disk full while dumping ${other.organizationId}`,
  });
  await recordRestoreTest(t.db, {
    file: "patchpilot-secret-file-name.ppbk",
    ok: true,
    startedAt: new Date(Date.now() - 86_400_000),
    durationMs: 61_000,
    backupBytes: 123456,
    problems: [],
    error: null,
  });
  await recordRestoreTest(t.db, {
    file: "patchpilot-secret-file-name.ppbk",
    ok: false,
    startedAt: new Date(Date.now() - 86_400_000),
    durationMs: 5_000,
    backupBytes: 123456,
    problems: [`audit chain head of ${other.organizationId} differs`],
    error: null,
  });
  await seedFleet(t, org.organizationId);
  // Some findings have been open for three weeks: critical/high ones are overdue evidence.
  await t.db.owner.query(
    "UPDATE findings SET first_seen_at = now() - interval '21 days' WHERE organization_id = $1",
    [org.organizationId],
  );
  await call(t.app, {
    method: "POST",
    url: `/api/v1/orgs/${org.organizationId}/audit-checkpoints`,
    as: org.owner,
  });
  to = new Date().toISOString();
  publicKeyPem = (
    await call(t.app, { method: "GET", url: "/api/v1/evidence/public-key", as: auditor })
  ).json().publicKeyPem;
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

const packUrl = (framework: string, f = from, tt = to) =>
  `/api/v1/orgs/${org.organizationId}/evidence-pack?framework=${framework}&from=${encodeURIComponent(f)}&to=${encodeURIComponent(tt)}`;

async function pack(framework = "iso27001-2022"): Promise<Buffer> {
  const res = await call(t.app, { method: "GET", url: packUrl(framework), as: auditor });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  expect(res.headers["content-type"]).toBe("application/zip");
  expect(res.headers["content-disposition"]).toMatch(/^attachment; filename="evidence-iso27001-2022-/);
  return res.rawPayload;
}

function entries(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true }, (error, archive) => {
      if (error || !archive) return reject(error);
      const out = new Map<string, Buffer>();
      archive.on("entry", (entry: yauzl.Entry) =>
        archive.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            archive.readEntry();
          });
        }),
      );
      archive.on("end", () => resolve(out));
      archive.readEntry();
    });
  });
}

describe("evidence packs", () => {
  it("builds a signed pack an auditor can verify offline, with a PDF summary that renders and traceable CSV rows", async () => {
    const zip = await pack();
    const key = parsePublicKeyPem(publicKeyPem);
    const verified = await verifyEvidencePack(zip, key);
    expect(verified.problems).toEqual([]);
    expect(verified.valid).toBe(true);

    const files = await entries(zip);
    expect([...files.keys()]).toEqual(
      expect.arrayContaining([
        "summary.pdf",
        "controls/A.8.8.csv",
        "controls/A.5.15.csv",
        "policies.json",
        "checkpoints.json",
        "manifest.json",
        "manifest.sig",
      ]),
    );
    const manifest = JSON.parse(files.get("manifest.json")?.toString() ?? "{}");
    expect(manifest).toMatchObject({
      format: "patchpilot.evidence-pack",
      organization: { id: org.organizationId },
      framework: { id: "iso27001-2022" },
      period: { from, to },
    });
    expect(manifest.controls).toHaveLength(16);
    const vuln = manifest.controls.find((c: { id: string }) => c.id === "A.8.8");
    expect(vuln).toMatchObject({ status: "attention" });
    expect(vuln.evidenceCount).toBeGreaterThan(0);

    // Each row names its source and carries the SHA-256 of the row as read.
    const rows = parseCsv(files.get("controls/A.8.8.csv")?.toString("utf8") ?? "");
    const overdue = rows.filter((r) => r.evidence === "overdue_critical_high");
    expect(overdue.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.row_sha256).toBe(
        createHash("sha256")
          .update(r.row ?? "")
          .digest("hex"),
      );
      expect(r.source_table).toMatch(/^[a-z_]+$/);
      expect(r.source_query).toMatch(/^SELECT /);
    }
    const findingId = overdue[0]?.source_row_id;
    const [finding] = await t.db.owner.query<{ severity: string }>(
      "SELECT severity FROM findings WHERE id = $1",
      [findingId],
    );
    expect(["critical", "high"]).toContain(finding?.severity);
    const checkpoints = JSON.parse(files.get("checkpoints.json")?.toString() ?? "[]");
    expect(checkpoints.map((c: { chain: string }) => c.chain)).toEqual(["audit", "device"]);

    // The summary renders: poppler draws its first page and reads the organisation back.
    if (requirePeer("pdftoppm", "poppler-utils")) {
      const pdf = path.join(dir, "summary.pdf");
      await writeFile(pdf, files.get("summary.pdf") ?? Buffer.alloc(0));
      await run("pdftoppm", ["-png", "-r", "40", "-f", "1", "-l", "1", pdf, path.join(dir, "page")]);
      expect((await stat(path.join(dir, "page-1.png"))).size).toBeGreaterThan(1000);
      const { stdout } = await run("pdftotext", [pdf, "-"]);
      expect(stdout).toContain("Evidence & Co");
      expect(stdout).toContain("A.8.8");
    }
    const audit = await t.db.owner.query<{ actor_id: string; details: Record<string, unknown> }>(
      "SELECT actor_id, details FROM audit_events WHERE organization_id = $1 AND action = 'evidence.pack_generated'",
      [org.organizationId],
    );
    expect(audit.at(-1)).toMatchObject({ actor_id: auditor.userId, details: { framework: "iso27001-2022" } });
  });

  it("fails verification after any byte of the pack is changed, or with another key", async () => {
    const zip = await pack();
    const key = parsePublicKeyPem(publicKeyPem);
    const positions = new Set<number>();
    for (let i = 0; i < zip.length; i += 37) positions.add(i);
    for (let i = 0; i < 200; i++) positions.add(zip.length - 1 - i);
    for (const i of positions) {
      const changed = Buffer.from(zip);
      changed[i] = (changed[i] ?? 0) ^ 0x01;
      const result = await verifyEvidencePack(changed, key);
      expect(result.valid, `byte ${i} of ${zip.length}`).toBe(false);
    }
    const { generateKeyPairSync } = await import("node:crypto");
    expect((await verifyEvidencePack(zip, generateKeyPairSync("ed25519").publicKey)).valid).toBe(false);
  });

  it("gives the same evidence rows for the same period and data", async () => {
    const a = await entries(await pack());
    const b = await entries(await pack());
    for (const [name, data] of a) {
      if (name.startsWith("controls/") || name === "policies.json" || name === "checkpoints.json")
        expect(b.get(name)?.equals(data), name).toBe(true);
    }
  });

  it("evidences MFA coverage for everyone who may act in the organisation, and no one else", async () => {
    const files = await entries(await pack());
    for (const control of ["A.5.17", "A.8.5"]) {
      const rows = parseCsv(files.get(`controls/${control}.csv`)?.toString("utf8") ?? "").filter(
        (r) => r.evidence === "mfa_coverage",
      );
      const byUser = new Map(rows.map((r) => [r.source_row_id, JSON.parse(r.row ?? "{}")]));
      expect([...byUser.keys()].sort(), control).toEqual(
        [org.owner.userId, auditor.userId, operator.userId, msp.technicianOfA.userId].sort(),
      );
      expect(byUser.get(msp.technicianOfA.userId)).toMatchObject({
        role: "msp_tenant_admin",
        second_factor: true,
        required_for_role: true,
      });
      expect(byUser.get(org.owner.userId)).toMatchObject({
        role: "owner",
        second_factor: true,
        second_factor_since: expect.any(String),
        organization_requirement: "admins",
        required_for_role: true,
      });
      // An enrolment not yet confirmed is no second factor.
      expect(byUser.get(auditor.userId)).toMatchObject({
        role: "auditor",
        second_factor: false,
        second_factor_since: null,
        required_for_role: false,
      });
      expect(byUser.get(operator.userId)).toMatchObject({ second_factor: false, required_for_role: false });
      for (const outsider of [other.owner, msp.technicianOfB, msp.owner])
        expect(rows.every((r) => !r.row?.includes(outsider.userId))).toBe(true);
      expect(rows.every((r) => !r.row?.includes("sealed"))).toBe(true);
    }
    const manifest = JSON.parse(files.get("manifest.json")?.toString() ?? "{}");
    // Members without a second factor put the control on attention.
    expect(manifest.controls.find((c: { id: string }) => c.id === "A.8.5").status).toBe("attention");
  });

  it("evidences the platform's backups and restore tests without anything that may name another organisation", async () => {
    const files = await entries(await pack());
    const csv = files.get("controls/A.8.13.csv")?.toString("utf8") ?? "";
    const rows = parseCsv(csv);
    const backups = rows.filter((r) => r.evidence === "backups").map((r) => JSON.parse(r.row ?? "{}"));
    const restores = rows.filter((r) => r.evidence === "restore_tests").map((r) => JSON.parse(r.row ?? "{}"));
    expect(backups.map((b) => [b.trigger, b.state, b.verified, b.duration_ms])).toEqual([
      ["scheduled", "succeeded", true, 4200],
      ["manual", "failed", false, 900],
    ]);
    expect(backups[0]).toMatchObject({
      bytes: 123456,
      finished_at: expect.any(String),
      started_at: expect.any(String),
    });
    expect(restores.map((r) => [r.ok, r.duration_ms])).toEqual([
      [true, 61_000],
      [false, 5_000],
    ]);
    expect(csv).not.toContain(other.organizationId);
    expect(csv).not.toContain("secret-file-name");
    expect(csv).not.toContain("disk full");
    for (const r of rows.filter((x) => x.evidence === "backups" || x.evidence === "restore_tests"))
      expect(Object.keys(JSON.parse(r.row ?? "{}"))).not.toEqual(expect.arrayContaining(["file"]));
    // The same rows for every framework that maps backup controls.
    for (const [framework, control] of [
      ["soc2", "A1.2"],
      ["nis2", "21(2)(c)"],
      ["gdpr-art32", "32(1)(c)"],
    ] as const) {
      const res = await call(t.app, { method: "GET", url: packUrl(framework), as: auditor });
      const mapped = parseCsv(
        (await entries(res.rawPayload))
          .get(`controls/${control.replace(/[^A-Za-z0-9.]+/g, "_")}.csv`)
          ?.toString("utf8") ?? "",
      );
      expect(
        mapped.filter((r) => r.evidence === "backups"),
        framework,
      ).toHaveLength(2);
      expect(
        mapped.filter((r) => r.evidence === "restore_tests"),
        framework,
      ).toHaveLength(2);
    }
  });

  it("lets an organisation's handle read only the descriptive columns of platform records, and only its own people's second factors", async () => {
    // Regression: evidence reads platform tables under the tenant's role; the database, not the
    // query, keeps file names, errors and details (which may name other tenants) and every sealed
    // key out of reach.
    const tenant = <T>(work: (tx: OrganizationTransaction) => Promise<T>) =>
      t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, work);
    for (const column of ["file", "copies", "error", "details"]) {
      await expect(
        tenant((tx) => tx.db.selectFrom("backup_runs").select(sql.ref(column).as("x")).execute()),
        column,
      ).rejects.toThrow(/permission denied/);
    }
    for (const column of ["file", "problems", "error"]) {
      await expect(
        tenant((tx) => tx.db.selectFrom("restore_tests").select(sql.ref(column).as("x")).execute()),
        column,
      ).rejects.toThrow(/permission denied/);
    }
    await expect(
      tenant((tx) => tx.db.selectFrom("user_totp").select("secret_sealed").execute()),
    ).rejects.toThrow(/permission denied/);
    await expect(
      tenant(async (tx) => {
        await tx.db.updateTable("backup_runs").set({ state: "succeeded" }).execute();
        tx.audit({ action: "test.attempt" });
      }),
    ).rejects.toThrow(/permission denied/);
    await expect(
      tenant(async (tx) => {
        await tx.db
          .insertInto("restore_tests")
          .values({ file: "forged", ok: true, started_at: new Date(), duration_ms: 1 })
          .execute();
        tx.audit({ action: "test.attempt" });
      }),
    ).rejects.toThrow(/permission denied/);
    // Second factors: this organisation's people only, never another organisation's owner.
    const seen = await tenant((tx) =>
      tx.db.selectFrom("user_totp").select(["user_id", "confirmed_at"]).execute(),
    );
    expect(seen.map((r) => r.user_id).sort()).toEqual(
      [org.owner.userId, auditor.userId, msp.technicianOfA.userId].sort(),
    );
    const platform = await tenant((tx) => tx.db.selectFrom("backup_runs").select(["id", "state"]).execute());
    expect(platform.length).toBeGreaterThanOrEqual(2);
  });

  it("refuses an unknown framework and an inverted period with 400", async () => {
    const unknown = await call(t.app, { method: "GET", url: packUrl("iso9001"), as: auditor });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: "compliance.unknown_framework", field: "framework" });
    const inverted = await call(t.app, { method: "GET", url: packUrl("soc2", to, from), as: auditor });
    expect(inverted.statusCode).toBe(400);
    expect(inverted.json().error.code).toBe("compliance.invalid_range");
    const frameworks = await call(t.app, {
      method: "GET",
      url: "/api/v1/compliance/frameworks",
      as: auditor,
    });
    expect(frameworks.json().frameworks.map((f: { id: string }) => f.id)).toEqual([
      "iso27001-2022",
      "soc2",
      "nis2",
      "cyber-essentials",
      "cis-v8",
      "gdpr-art32",
    ]);
  });

  it("verifies with the command line, offline, and fails on a changed pack", {
    timeout: 300_000,
  }, async () => {
    const zip = await pack();
    const file = path.join(dir, "pack.zip");
    const keyFile = path.join(dir, "evidence.pem");
    await writeFile(file, zip);
    await writeFile(keyFile, publicKeyPem);
    const ok = await runCli(["evidence", "verify", file, "--public-key", keyFile], {});
    expect(ok.stdout, ok.stderr).toMatch(/^ok: \d+ files verified; iso27001-2022 pack/);
    expect(ok.code).toBe(0);
    const changed = Buffer.from(await readFile(file));
    const middle = Math.floor(changed.length / 2);
    changed[middle] = (changed[middle] ?? 0) ^ 0xff;
    await writeFile(file, changed);
    const bad = await runCli(["evidence", "verify", file, "--public-key", keyFile], {});
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAILED: the archive's signature does not match/);
  });
});
