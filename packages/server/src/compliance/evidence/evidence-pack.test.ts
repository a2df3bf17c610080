import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import yauzl from "yauzl";
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
