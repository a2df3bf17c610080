import { createHash } from "node:crypto";
import { type EvidenceQueryId, isRole } from "@patchpilot/domain";
import canonicalizeModule from "canonicalize";
import { sql } from "kysely";
import { verifyChain } from "../../audit/verify.js";
import type { OrganizationTransaction } from "../../db/database.js";
import { requiresSecondFactor } from "../../identity/two-factor/security-settings.js";

const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;
const DAY_MS = 86_400_000;

export interface Period {
  from: Date;
  to: Date;
}

/** One timestamped evidence row and where it came from, so an auditor can check it at the source. */
export interface EvidenceRow {
  evidence: EvidenceQueryId;
  occurredAt: string | null;
  sourceTable: string;
  sourceRowId: string;
  /** The query that selected the row, as run (parameters named). */
  sourceQuery: string;
  /** SHA-256 of the RFC 8785 JSON of the source row's columns as read. */
  rowSha256: string;
  /** The row's columns (RFC 8785 JSON). */
  row: string;
  /** Whether this row is a finding against the control (an overdue finding, a stale device). */
  adverse: boolean;
}

function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString("hex");
  if (typeof value === "bigint") return value.toString();
  return value;
}

function evidenceRow(
  evidence: EvidenceQueryId,
  sourceTable: string,
  sourceQuery: string,
  source: Record<string, unknown>,
  options: { id: string; occurredAt: unknown; adverse?: boolean },
): EvidenceRow {
  const clean = Object.fromEntries(Object.entries(source).map(([k, v]) => [k, plain(v)]));
  const text = canonicalize(clean) ?? "{}";
  const at = plain(options.occurredAt);
  return {
    evidence,
    occurredAt: typeof at === "string" ? at : null,
    sourceTable,
    sourceRowId: options.id,
    sourceQuery,
    rowSha256: createHash("sha256").update(text, "utf8").digest("hex"),
    row: text,
    adverse: options.adverse ?? false,
  };
}

/** Audit events of the period whose action matches one of the LIKE patterns (and, optionally, failed). */
async function auditEvidence(
  tx: OrganizationTransaction,
  evidence: EvidenceQueryId,
  p: Period,
  patterns: string[],
  failuresOnly = false,
): Promise<EvidenceRow[]> {
  let q = tx.db
    .selectFrom("audit_events")
    .select([
      "id",
      "seq",
      "occurred_at",
      "actor_type",
      "actor_id",
      "action",
      "target_type",
      "target_id",
      "result",
      "error_code",
      "details",
      "hash",
    ])
    .where("occurred_at", ">=", p.from)
    .where("occurred_at", "<", p.to)
    .where((eb) => eb.or(patterns.map((pattern) => eb("action", "like", pattern))))
    .orderBy("seq");
  if (failuresOnly) q = q.where("result", "=", "failure");
  const query =
    `SELECT * FROM audit_events WHERE occurred_at >= :from AND occurred_at < :to AND (${patterns.map((x) => `action LIKE '${x}'`).join(" OR ")})` +
    `${failuresOnly ? " AND result = 'failure'" : ""} ORDER BY seq`;
  return (await q.execute()).map((r) =>
    evidenceRow(evidence, "audit_events", query, r, { id: r.id, occurredAt: r.occurred_at }),
  );
}

/**
 * Runs one evidence query over the organisation's records for the period. Rows are ordered by
 * their source's own keys and read only from rows that existed in the period, so the same
 * period and data give the same rows (the pack is reproducible); the few queries that describe
 * the state at generation time (members, policies in force) say so in their description.
 */
export async function evidenceRows(
  tx: OrganizationTransaction,
  evidence: EvidenceQueryId,
  p: Period,
): Promise<EvidenceRow[]> {
  switch (evidence) {
    case "patch_sla": {
      const rows = await tx.db
        .selectFrom("findings")
        .select([
          "id",
          "device_id",
          "vulnerability_id",
          "package_name",
          "severity",
          "first_seen_at",
          "sla_due_at",
          "closed_at",
        ])
        .where("closed_at", ">=", p.from)
        .where("closed_at", "<", p.to)
        .orderBy("closed_at")
        .orderBy("id")
        .execute();
      const query =
        "SELECT * FROM findings WHERE closed_at >= :from AND closed_at < :to ORDER BY closed_at, id";
      return rows.map((r) =>
        evidenceRow(
          evidence,
          "findings",
          query,
          { ...r, met_sla: r.closed_at !== null && r.closed_at <= r.sla_due_at },
          { id: r.id, occurredAt: r.closed_at, adverse: r.closed_at !== null && r.closed_at > r.sla_due_at },
        ),
      );
    }
    case "overdue_critical_high": {
      const openSince = new Date(p.to.getTime() - 14 * DAY_MS);
      const rows = await tx.db
        .selectFrom("findings")
        .select([
          "id",
          "device_id",
          "vulnerability_id",
          "package_name",
          "severity",
          "first_seen_at",
          "sla_due_at",
          "closed_at",
        ])
        .where("severity", "in", ["critical", "high"])
        .where("first_seen_at", "<=", openSince)
        .where((eb) => eb.or([eb("closed_at", "is", null), eb("closed_at", ">", p.to)]))
        .orderBy("first_seen_at")
        .orderBy("id")
        .execute();
      const query =
        "SELECT * FROM findings WHERE severity IN ('critical','high') AND first_seen_at <= :to - 14 days AND (closed_at IS NULL OR closed_at > :to)";
      return rows.map((r) =>
        evidenceRow(evidence, "findings", query, r, { id: r.id, occurredAt: r.first_seen_at, adverse: true }),
      );
    }
    case "stale_devices": {
      const seenSince = new Date(p.to.getTime() - 7 * DAY_MS);
      const rows = await tx.db
        .selectFrom("devices")
        .leftJoin("device_presence", "device_presence.device_id", "devices.id")
        .select(["devices.id", "devices.hostname", "devices.enrolled_at", "device_presence.last_seen_at"])
        .where("devices.retired_at", "is", null)
        .where("devices.enrolled_at", "<", p.to)
        .where((eb) =>
          eb.or([
            eb("device_presence.last_seen_at", "is", null),
            eb("device_presence.last_seen_at", "<", seenSince),
          ]),
        )
        .orderBy("devices.id")
        .execute();
      const query =
        "SELECT devices.*, device_presence.last_seen_at FROM devices LEFT JOIN device_presence WHERE retired_at IS NULL AND (last_seen_at IS NULL OR last_seen_at < :to - 7 days)";
      return rows.map((r) =>
        evidenceRow(evidence, "devices", query, r, { id: r.id, occurredAt: r.last_seen_at, adverse: true }),
      );
    }
    case "device_inventory": {
      const rows = await tx.db
        .selectFrom("devices")
        .select([
          "id",
          "hostname",
          "os_family",
          "os_name",
          "os_version",
          "agent_version",
          "enrolled_at",
          "retired_at",
        ])
        .where("enrolled_at", "<", p.to)
        .where((eb) => eb.or([eb("retired_at", "is", null), eb("retired_at", ">=", p.from)]))
        .orderBy("id")
        .execute();
      const query =
        "SELECT * FROM devices WHERE enrolled_at < :to AND (retired_at IS NULL OR retired_at >= :from) ORDER BY id";
      return rows.map((r) =>
        evidenceRow(evidence, "devices", query, r, { id: r.id, occurredAt: r.enrolled_at }),
      );
    }
    case "access_review": {
      const rows = await tx.db
        .selectFrom("memberships")
        .select(["user_id", "role", "created_at"])
        .where("created_at", "<", p.to)
        .orderBy("user_id")
        .execute();
      const query =
        "SELECT user_id, role, created_at FROM memberships WHERE created_at < :to ORDER BY user_id";
      return rows.map((r) =>
        evidenceRow(evidence, "memberships", query, r, { id: r.user_id, occurredAt: r.created_at }),
      );
    }
    case "role_changes":
      return auditEvidence(tx, evidence, p, ["users.%", "invitations.%"]);
    case "failed_sign_ins":
      return auditEvidence(tx, evidence, p, ["auth.%"], true);
    case "rollout_changes":
      return auditEvidence(tx, evidence, p, ["rollouts.%"]);
    case "finding_decisions":
      return auditEvidence(tx, evidence, p, ["suppressions.%", "findings.decided%"]);
    case "retention_purges":
      return auditEvidence(tx, evidence, p, ["audit.retention_purged"]);
    case "policies_in_force": {
      const policies = await tx.db
        .selectFrom("patch_policies")
        .select([
          "id",
          "name",
          "group_id",
          "automatic",
          "reboot",
          "window_id",
          "rollback_on_failure",
          "updated_at",
        ])
        .where("created_at", "<", p.to)
        .orderBy("id")
        .execute();
      const windows = await tx.db
        .selectFrom("maintenance_windows")
        .selectAll()
        .where("created_at", "<", p.to)
        .orderBy("id")
        .execute();
      return [
        ...policies.map((r) =>
          evidenceRow(
            evidence,
            "patch_policies",
            "SELECT * FROM patch_policies WHERE created_at < :to ORDER BY id",
            r,
            {
              id: r.id,
              occurredAt: r.updated_at,
            },
          ),
        ),
        ...windows.map((r) =>
          evidenceRow(
            evidence,
            "maintenance_windows",
            "SELECT * FROM maintenance_windows WHERE created_at < :to ORDER BY id",
            { ...r, organization_id: undefined },
            { id: r.id, occurredAt: r.updated_at },
          ),
        ),
      ];
    }
    case "audit_checkpoints": {
      const rows = await tx.db
        .selectFrom("audit_checkpoints")
        .select(["id", "chain", "seq", "head_hash", "signed_at", "key_id", "statement", "signature"])
        .where("signed_at", ">=", p.from)
        .where("signed_at", "<", p.to)
        .orderBy("signed_at")
        .orderBy("chain")
        .execute();
      const query =
        "SELECT * FROM audit_checkpoints WHERE signed_at >= :from AND signed_at < :to ORDER BY signed_at, chain";
      return rows.map((r) =>
        evidenceRow(evidence, "audit_checkpoints", query, r, { id: r.id, occurredAt: r.signed_at }),
      );
    }
    case "audit_chain_verification":
      return chainAtPeriodEnd(tx, p);
    case "mfa_coverage":
      return mfaCoverage(tx, p);
    case "backups": {
      // A platform table: the application role may read these columns only (migration 0010), and
      // the rows name no organisation, so every organisation sees the same platform evidence.
      const rows = await tx.db
        .selectFrom("backup_runs")
        .select([
          "id",
          "trigger",
          "state",
          "started_at",
          "finished_at",
          "duration_ms",
          "bytes",
          "verified_at",
          "removed_at",
        ])
        .where("finished_at", ">=", p.from)
        .where("finished_at", "<", p.to)
        .orderBy("finished_at")
        .orderBy("id")
        .execute();
      const query =
        "SELECT id, trigger, state, started_at, finished_at, duration_ms, bytes, verified_at, removed_at FROM backup_runs WHERE finished_at >= :from AND finished_at < :to ORDER BY finished_at, id";
      return rows.map((r) =>
        evidenceRow(
          evidence,
          "backup_runs",
          query,
          {
            ...r,
            id: Number(r.id),
            bytes: r.bytes === null ? null : Number(r.bytes),
            verified: r.verified_at !== null,
          },
          {
            id: String(r.id),
            occurredAt: r.finished_at,
            adverse: r.state !== "succeeded" || r.verified_at === null,
          },
        ),
      );
    }
    case "restore_tests": {
      const rows = await tx.db
        .selectFrom("restore_tests")
        .select(["id", "ok", "started_at", "finished_at", "duration_ms", "backup_bytes"])
        .where("finished_at", ">=", p.from)
        .where("finished_at", "<", p.to)
        .orderBy("finished_at")
        .orderBy("id")
        .execute();
      const query =
        "SELECT id, ok, started_at, finished_at, duration_ms, backup_bytes FROM restore_tests WHERE finished_at >= :from AND finished_at < :to ORDER BY finished_at, id";
      return rows.map((r) =>
        evidenceRow(
          evidence,
          "restore_tests",
          query,
          {
            ...r,
            id: Number(r.id),
            backup_bytes: r.backup_bytes === null ? null : Number(r.backup_bytes),
          },
          { id: String(r.id), occurredAt: r.finished_at, adverse: !r.ok },
        ),
      );
    }
  }
}

/**
 * Everyone who may act in the organisation when the pack is made (members, and MSP technicians
 * assigned to it), whether each has a confirmed second factor and since when, and what the
 * organisation requires. A person without a second factor is adverse whatever the requirement:
 * the controls ask for multi-factor authentication, the requirement is shown beside it. Only
 * `user_id` and `confirmed_at` of user_totp are readable by the application role, for these
 * people only (migration 0010).
 */
async function mfaCoverage(tx: OrganizationTransaction, p: Period): Promise<EvidenceRow[]> {
  const settings = await tx.db
    .selectFrom("organization_security_settings")
    .select("two_factor_required")
    .executeTakeFirst();
  const requirement = settings?.two_factor_required ?? "off";
  const members = await tx.db
    .selectFrom("memberships as m")
    .leftJoin("user_totp as t", "t.user_id", "m.user_id")
    .select(["m.user_id", "m.role", "m.created_at", "t.confirmed_at"])
    .where("m.created_at", "<", p.to)
    .orderBy("m.user_id")
    .execute();
  const technicians = await tx.db
    .selectFrom("msp_assignments as a")
    .leftJoin("user_totp as t", "t.user_id", "a.user_id")
    .select(["a.user_id", "a.created_at", "t.confirmed_at"])
    .where("a.created_at", "<", p.to)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb.selectFrom("memberships as m").select("m.user_id").whereRef("m.user_id", "=", "a.user_id"),
        ),
      ),
    )
    .orderBy("a.user_id")
    .execute();
  const people = [
    ...members.map((m) => ({ ...m, role: m.role })),
    ...technicians.map((a) => ({ ...a, role: "msp_tenant_admin" })),
  ];
  const query =
    "SELECT m.user_id, m.role, t.confirmed_at FROM memberships m LEFT JOIN user_totp t USING (user_id) WHERE m.created_at < :to" +
    " UNION msp_assignments (role msp_tenant_admin); organization_security_settings.two_factor_required";
  return people.map((person) => {
    const on = person.confirmed_at !== null;
    return evidenceRow(
      "mfa_coverage",
      "memberships",
      query,
      {
        user_id: person.user_id,
        role: person.role,
        second_factor: on,
        second_factor_since: person.confirmed_at,
        organization_requirement: requirement,
        required_for_role: isRole(person.role) && requiresSecondFactor(requirement, person.role),
      },
      { id: person.user_id, occurredAt: person.confirmed_at, adverse: !on },
    );
  });
}

/**
 * The chains as they stood at the period's end: the last row written before it, its hash, and
 * whether every row from the chain's anchor up to it still links (recomputed now). A later
 * change anywhere before that row changes its hash, so the row is reproducible evidence.
 */
async function chainAtPeriodEnd(tx: OrganizationTransaction, p: Period): Promise<EvidenceRow[]> {
  const out: EvidenceRow[] = [];
  for (const chain of ["audit", "device"] as const) {
    const table = chain === "audit" ? "audit_events" : "device_events";
    const last = await sql<{ seq: number; hash: Buffer; occurred_at: Date }>`
      SELECT seq, hash, occurred_at FROM ${sql.table(table)}
       WHERE organization_id = ${tx.organizationId} AND occurred_at < ${p.to}
       ORDER BY seq DESC LIMIT 1`.execute(tx.db);
    const row = last.rows[0];
    const report = await verifyChain(tx.db, tx.organizationId, chain);
    const linked =
      report.valid || (report.firstBroken !== null && row !== undefined && report.firstBroken.seq > row.seq);
    out.push(
      evidenceRow(
        "audit_chain_verification",
        table,
        `SELECT seq, hash FROM ${table} WHERE occurred_at < :to ORDER BY seq DESC LIMIT 1; chain recomputed from its anchor`,
        {
          chain,
          seq_at_period_end: row?.seq ?? 0,
          hash_at_period_end: row?.hash ?? null,
          chain_links: linked,
        },
        { id: `${chain}:${row?.seq ?? 0}`, occurredAt: row?.occurred_at ?? null, adverse: !linked },
      ),
    );
  }
  return out;
}
