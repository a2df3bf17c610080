import { X509Certificate } from "node:crypto";
import type { Database } from "../../db/database.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { requirePlanFeature } from "../../organizations/plan-gate.js";
import type { SecretBox } from "../../secrets/secret-box.js";

export interface SiemSettingsInput {
  host: string;
  port: number;
  transport: "udp" | "tcp" | "tls";
  /** RFC 5424 with structured data (the default), or an ArcSight CEF line in the message. */
  format?: "rfc5424" | "cef";
  facility: number;
  caPem?: string | null;
  enabled: boolean;
}

export interface SiemSettingsView {
  host: string;
  port: number;
  transport: string;
  format: string;
  facility: number;
  hasCa: boolean;
  enabled: boolean;
  queued: number;
  failures: number;
  lastError: string | null;
  nextAttemptAt: string;
  lastDeliveredSeq: number;
}

export async function getSiemSettings(db: Database, ctx: RequestContext): Promise<SiemSettingsView> {
  const { organizationId } = scopeOf(ctx);
  return db.withOrganization(organizationId, ctx, async (tx) => {
    const row = await tx.db.selectFrom("siem_configs").selectAll().executeTakeFirst();
    if (!row) throw new AppError("compliance.siem_not_configured");
    const queued = await tx.db
      .selectFrom("siem_outbox")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return {
      host: row.host,
      port: row.port,
      transport: row.transport,
      format: row.format,
      facility: row.facility,
      hasCa: row.sealed_ca_pem !== null,
      enabled: row.enabled,
      queued: Number(queued.n),
      failures: row.failures,
      lastError: row.last_error,
      nextAttemptAt: row.next_attempt_at.toISOString(),
      lastDeliveredSeq: row.last_delivered_seq,
    };
  });
}

/** Sets the organisation's SIEM destination (Business and up). The CA certificate is stored sealed. */
export async function putSiemSettings(
  db: Database,
  ctx: RequestContext,
  secrets: SecretBox,
  input: SiemSettingsInput,
): Promise<SiemSettingsView> {
  const { organizationId } = scopeOf(ctx);
  if (input.caPem) {
    try {
      new X509Certificate(input.caPem);
    } catch {
      throw new AppError("request.invalid", { field: "caPem", message: "caPem is not a PEM certificate." });
    }
  }
  if (input.caPem && input.transport !== "tls") {
    throw new AppError("request.invalid", {
      field: "caPem",
      message: "A CA certificate is used only with transport tls.",
    });
  }
  await db.withOrganization(organizationId, ctx, async (tx) => {
    await requirePlanFeature(tx, "siem_forwarding");
    const sealed = input.caPem ? secrets.seal(input.caPem, `siem-ca:${organizationId}`) : null;
    const values = {
      host: input.host,
      port: input.port,
      transport: input.transport,
      format: input.format ?? "rfc5424",
      facility: input.facility,
      sealed_ca_pem: sealed,
      enabled: input.enabled,
      failures: 0,
      last_error: null,
      next_attempt_at: new Date(),
      updated_at: new Date(),
    };
    await tx.db
      .insertInto("siem_configs")
      .values(values)
      .onConflict((oc) => oc.column("organization_id").doUpdateSet(values))
      .execute();
    tx.audit({
      action: "siem.configured",
      details: {
        host: input.host,
        port: input.port,
        transport: input.transport,
        format: input.format ?? "rfc5424",
        facility: input.facility,
        ca: input.caPem ? "set" : "none",
        enabled: input.enabled,
      },
    });
  });
  return getSiemSettings(db, ctx);
}
