import { createHash } from "node:crypto";
import { evidenceFor, type Framework, frameworkById } from "@patchpilot/domain";
import canonicalizeModule from "canonicalize";
import yazl from "yazl";
import type { Database } from "../../db/database.js";
import { type CsvColumn, csvText } from "../../http/csv.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { listCheckpoints } from "../checkpoints/checkpoints.js";
import type { EvidenceKey, EvidenceKeyStore } from "./evidence-key.js";
import { type EvidenceRow, evidenceRows, type Period } from "./evidence-rows.js";
import { type ControlSummary, renderSummaryPdf } from "./summary-pdf.js";

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** The ZIP comment carries an Ed25519 signature over every byte of the archive before it. */
export const ZIP_SIGNATURE_PREFIX = "ppsig1:";
export const ZIP_SIGNATURE_LENGTH = 88;

export interface EvidencePackRequest {
  framework: string;
  from: string;
  to: string;
}

interface PackFile {
  path: string;
  data: Buffer;
}

const EVIDENCE_COLUMNS: CsvColumn<EvidenceRow & { control: string }>[] = [
  { header: "control", value: (r) => r.control },
  { header: "evidence", value: (r) => r.evidence },
  { header: "occurred_at", value: (r) => r.occurredAt },
  { header: "source_table", value: (r) => r.sourceTable },
  { header: "source_row_id", value: (r) => r.sourceRowId },
  { header: "source_query", value: (r) => r.sourceQuery },
  { header: "row_sha256", value: (r) => r.rowSha256 },
  { header: "row", value: (r) => r.row },
];

export function resolveFramework(id: string): Framework {
  const framework = frameworkById(id);
  if (!framework) {
    throw new AppError("compliance.unknown_framework", {
      field: "framework",
      message: `There is no framework "${id.slice(0, 60)}"; use one of the ids GET /api/v1/compliance/frameworks lists.`,
    });
  }
  return framework;
}

export function resolvePeriod(from: string, to: string): Period {
  const p = { from: new Date(from), to: new Date(to) };
  if (!(p.from.getTime() < p.to.getTime())) throw new AppError("compliance.invalid_range", { field: "to" });
  return p;
}

const fileNameOf = (controlId: string) => `controls/${controlId.replace(/[^A-Za-z0-9.]+/g, "_")}.csv`;

/**
 * An auditor's evidence pack for one framework and period: a PDF summary, one CSV of evidence
 * rows per control (each with its source table, row id, query and row hash), the policies in
 * force, the period's signed checkpoints, and manifest.json (every file's SHA-256) signed with
 * the evidence key. The archive itself is signed in its ZIP comment, so a change to any byte of
 * it fails `patchpilot evidence verify`. Its generation is audited.
 */
export async function generateEvidencePack(
  db: Database,
  ctx: RequestContext,
  keys: EvidenceKeyStore,
  request: EvidencePackRequest,
): Promise<{ zip: Buffer; fileName: string }> {
  const { organizationId } = scopeOf(ctx);
  const framework = resolveFramework(request.framework);
  const period = resolvePeriod(request.from, request.to);
  const key = await keys.current();
  const data = await db.withOrganization(organizationId, ctx, async (tx) => {
    const org = await tx.db
      .selectFrom("organizations")
      .select(["id", "name", "plan", "audit_retention_days"])
      .executeTakeFirstOrThrow();
    const rows = new Map<string, EvidenceRow[]>();
    for (const q of evidenceFor(framework)) rows.set(q, await evidenceRows(tx, q, period));
    const checkpoints = await listCheckpoints(tx, period);
    const sla = await tx.db.selectFrom("vulnerability_settings").selectAll().executeTakeFirst();
    return { org, rows, checkpoints, sla };
  });
  const generatedAt = new Date();
  const files: PackFile[] = [];
  const controls: ControlSummary[] = [];
  for (const control of framework.controls) {
    const rows = control.evidence
      .flatMap((q) => data.rows.get(q) ?? [])
      .map((r) => ({ ...r, control: control.id }));
    const adverse = rows.some((r) => r.adverse);
    controls.push({
      id: control.id,
      title: control.title,
      status: rows.length === 0 ? "no evidence" : adverse ? "attention" : "evidenced",
      evidenceCount: rows.length,
    });
    files.push({ path: fileNameOf(control.id), data: Buffer.from(csvText(EVIDENCE_COLUMNS, rows), "utf8") });
  }
  const policies = {
    plan: data.org.plan,
    auditRetentionDays: data.org.audit_retention_days,
    slaDays: data.sla
      ? {
          critical: data.sla.sla_critical_days,
          high: data.sla.sla_high_days,
          medium: data.sla.sla_medium_days,
          low: data.sla.sla_low_days,
        }
      : null,
    patchPoliciesAndWindows: (data.rows.get("policies_in_force") ?? []).map(
      (r) => JSON.parse(r.row) as unknown,
    ),
  };
  files.push({ path: "policies.json", data: Buffer.from(`${JSON.stringify(policies, null, 2)}\n`) });
  files.push({
    path: "checkpoints.json",
    data: Buffer.from(`${JSON.stringify(data.checkpoints, null, 2)}\n`),
  });
  const summary = {
    organization: { id: data.org.id, name: data.org.name },
    framework: { id: framework.id, name: framework.name },
    period: { from: period.from.toISOString(), to: period.to.toISOString() },
    generatedAt: generatedAt.toISOString(),
    keyId: key.id,
    controls,
  };
  files.unshift({ path: "summary.pdf", data: await renderSummaryPdf(summary) });
  const manifest = {
    format: "patchpilot.evidence-pack",
    v: 1,
    ...summary,
    files: files.map((f) => ({ path: f.path, bytes: f.data.length, sha256: sha256(f.data) })),
  };
  const manifestBytes = Buffer.from(`${canonicalize(manifest)}\n`, "utf8");
  files.push({ path: "manifest.json", data: manifestBytes });
  files.push({ path: "manifest.sig", data: Buffer.from(`${key.sign(manifestBytes).toString("base64")}\n`) });
  const zip = await signedZip(files, generatedAt, key);
  await db.withOrganization(organizationId, ctx, async (tx) => {
    tx.audit({
      action: "evidence.pack_generated",
      details: {
        framework: framework.id,
        from: summary.period.from,
        to: summary.period.to,
        evidenceRows: controls.reduce((n, c) => n + c.evidenceCount, 0),
        manifestSha256: sha256(manifestBytes),
        zipSha256: sha256(zip),
      },
    });
  });
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return { zip, fileName: `evidence-${framework.id}-${day(period.from)}-${day(period.to)}.zip` };
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

async function signedZip(files: PackFile[], mtime: Date, key: EvidenceKey): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addBuffer(f.data, f.path, { mtime, mode: 0o100644, compress: true });
  zip.end({ forceZip64Format: false, comment: `${ZIP_SIGNATURE_PREFIX}${"A".repeat(ZIP_SIGNATURE_LENGTH)}` });
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(Buffer.from(chunk as Buffer));
  const bytes = Buffer.concat(chunks);
  const signed = bytes.subarray(0, bytes.length - ZIP_SIGNATURE_LENGTH);
  const signature = key.sign(signed).toString("base64");
  if (signature.length !== ZIP_SIGNATURE_LENGTH) throw new Error("unexpected Ed25519 signature length");
  return Buffer.concat([signed, Buffer.from(signature, "latin1")]);
}
