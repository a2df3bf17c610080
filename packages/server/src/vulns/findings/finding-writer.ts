import { sql } from "kysely";
import { anyOf } from "../../db/any-of.js";
import type { OrganizationTransaction } from "../../db/database.js";
import {
  activeSuppressions,
  coveringSuppression,
  deviceCriticality,
  dueDate,
  findingRisk,
  findingSeverity,
  groupsOf,
  slaSettings,
  vulnerabilityFacts,
} from "./finding-facts.js";

/** A device that has (now) these catalogue entries. */
export interface Presence {
  deviceId: string;
  softwareId: number;
}

export interface FindingChanges {
  /** Per device: vulnerabilities newly found (or found again) and closed. */
  opened: Map<string, string[]>;
  closed: Map<string, string[]>;
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Opens (or keeps open) a finding for every recorded vulnerability of every (device, entry) pair.
 * A finding is one vulnerability in one package on one device: when the package's version changes
 * but stays vulnerable, the finding carries on with the new version and keeps its first-seen date
 * and due date; a finding that had been fixed and comes back is reopened.
 */
export async function openFindings(
  tx: OrganizationTransaction,
  present: readonly Presence[],
  changes: FindingChanges,
): Promise<void> {
  if (present.length === 0) return;
  const softwareIds = [...new Set(present.map((p) => p.softwareId))];
  const vulnerable = await tx.db
    .selectFrom("software_vulnerabilities as sv")
    .innerJoin("software as s", "s.id", "sv.software_id")
    .select([
      "sv.software_id",
      "sv.vulnerability_id",
      "sv.fixed_version",
      "sv.range_status",
      "sv.vendor_severity",
      "s.name",
      "s.arch",
      "s.version",
      "s.source_name",
    ])
    .where(anyOf("sv.software_id", softwareIds, "integer"))
    .execute();
  if (vulnerable.length === 0) return;
  const bySoftware = new Map<number, typeof vulnerable>();
  for (const v of vulnerable) {
    const list = bySoftware.get(v.software_id);
    if (list) list.push(v);
    else bySoftware.set(v.software_id, [v]);
  }
  const deviceIds = [...new Set(present.map((p) => p.deviceId))];
  const vulnerabilityIds = [...new Set(vulnerable.map((v) => v.vulnerability_id))];
  const [facts, criticality, settings, suppressions, groups] = await Promise.all([
    vulnerabilityFacts(tx, vulnerabilityIds),
    deviceCriticality(tx, deviceIds),
    slaSettings(tx),
    activeSuppressions(tx, vulnerabilityIds),
    groupsOf(tx, deviceIds),
  ]);
  const now = new Date();
  const rows = {
    device: [] as string[],
    vulnerability: [] as string[],
    packageName: [] as string[],
    arch: [] as string[],
    software: [] as number[],
    version: [] as string[],
    fixed: [] as (string | null)[],
    rangeStatus: [] as string[],
    status: [] as string[],
    severity: [] as string[],
    risk: [] as number[],
    due: [] as string[],
    suppression: [] as (string | null)[],
  };
  const seen = new Set<string>();
  for (const p of present) {
    for (const v of bySoftware.get(p.softwareId) ?? []) {
      // Binary packages built from one source share its advisories: one finding per binary.
      const key = `${p.deviceId}\t${v.vulnerability_id}\t${v.name}\t${v.arch}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const vf = facts.get(v.vulnerability_id);
      const severity = findingSeverity(v.vendor_severity, vf);
      const rule = coveringSuppression(
        suppressions,
        { vulnerabilityId: v.vulnerability_id, packageName: v.name, deviceId: p.deviceId },
        groups.get(p.deviceId),
      );
      rows.device.push(p.deviceId);
      rows.vulnerability.push(v.vulnerability_id);
      rows.packageName.push(v.name);
      rows.arch.push(v.arch);
      rows.software.push(p.softwareId);
      rows.version.push(v.version);
      rows.fixed.push(v.fixed_version);
      rows.rangeStatus.push(v.range_status);
      rows.status.push(rule?.kind ?? "open");
      rows.severity.push(severity);
      rows.risk.push(findingRisk(severity, vf, criticality.get(p.deviceId) ?? "medium"));
      rows.due.push(dueDate(now, severity, settings).toISOString());
      rows.suppression.push(rule?.id ?? null);
    }
  }
  // A finding inserted, or reopened, by this transaction has it as its first-seen time.
  const result = await sql<{ device_id: string; vulnerability_id: string; opened: boolean }>`
    INSERT INTO findings AS f (device_id, vulnerability_id, package_name, package_arch, software_id, installed_version,
                               fixed_version, range_status, status, severity, risk, sla_due_at, suppression_id)
    SELECT * FROM unnest(${rows.device}::uuid[], ${rows.vulnerability}::text[], ${rows.packageName}::text[],
                         ${rows.arch}::text[], ${rows.software}::integer[], ${rows.version}::text[], ${rows.fixed}::text[],
                         ${rows.rangeStatus}::text[], ${rows.status}::text[], ${rows.severity}::text[],
                         ${rows.risk}::numeric[], ${rows.due}::timestamptz[], ${rows.suppression}::uuid[])
    ON CONFLICT (device_id, vulnerability_id, package_name, package_arch) DO UPDATE SET
      software_id = excluded.software_id,
      installed_version = excluded.installed_version,
      fixed_version = excluded.fixed_version,
      range_status = excluded.range_status,
      severity = excluded.severity,
      risk = excluded.risk,
      status = CASE WHEN f.status = 'fixed' THEN excluded.status ELSE f.status END,
      suppression_id = CASE WHEN f.status = 'fixed' THEN excluded.suppression_id ELSE f.suppression_id END,
      first_seen_at = CASE WHEN f.status = 'fixed' THEN now() ELSE f.first_seen_at END,
      sla_due_at = CASE WHEN f.status = 'fixed' THEN excluded.sla_due_at ELSE f.sla_due_at END,
      closed_at = NULL,
      last_changed_at = CASE WHEN f.software_id = excluded.software_id AND f.status <> 'fixed'
                             THEN f.last_changed_at ELSE now() END
    RETURNING device_id, vulnerability_id, first_seen_at = now() AS opened`.execute(tx.db);
  for (const r of result.rows) if (r.opened) push(changes.opened, r.device_id, r.vulnerability_id);
}

/**
 * Closes the findings that rest on entries a device no longer has. Findings whose package was
 * replaced by a still-vulnerable version were moved to that version by `openFindings` first, so
 * what remains here is really gone: fixed.
 */
export async function closeFindings(
  tx: OrganizationTransaction,
  gone: readonly Presence[],
  changes: FindingChanges,
): Promise<void> {
  if (gone.length === 0) return;
  const result = await sql<{ device_id: string; vulnerability_id: string }>`
    UPDATE findings f SET status = 'fixed', closed_at = now(), last_changed_at = now()
      FROM unnest(${gone.map((g) => g.deviceId)}::uuid[], ${gone.map((g) => g.softwareId)}::integer[]) AS g(device_id, software_id)
     WHERE f.device_id = g.device_id AND f.software_id = g.software_id AND f.status <> 'fixed'
    RETURNING f.device_id, f.vulnerability_id`.execute(tx.db);
  for (const r of result.rows) push(changes.closed, r.device_id, r.vulnerability_id);
}

/** One device event per device whose findings changed, naming the first of them. */
export function recordFindingEvents(
  tx: OrganizationTransaction,
  changes: FindingChanges,
  reason: string,
): void {
  const devices = new Set([...changes.opened.keys(), ...changes.closed.keys()]);
  for (const deviceId of devices) {
    const opened = [...new Set(changes.opened.get(deviceId) ?? [])];
    const closed = [...new Set(changes.closed.get(deviceId) ?? [])];
    tx.deviceEvent({
      eventType: "findings.changed",
      deviceId,
      details: {
        reason,
        openedCount: opened.length,
        closedCount: closed.length,
        opened: opened.slice(0, 50),
        closed: closed.slice(0, 50),
      },
    });
  }
}
