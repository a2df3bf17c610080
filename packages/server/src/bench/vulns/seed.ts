/**
 * Bulk seeding for the vulnerabilities suite, written as the database owner (as a restore would):
 * catalogue entries drawn from the corpus's package universe, and an organisation of devices with
 * findings. Enrolling 100,000 devices through the API would take longer than the measurements.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Database } from "../../db/database.js";
import { random } from "../common/random.js";
import { type CorpusEcosystem, ECOSYSTEMS, packageName } from "./corpus.js";

const CHUNK = 20_000;

/**
 * An installed version: nine in ten are current (a major above every fix the corpus names, as on
 * a patched fleet), one in ten lags behind, anywhere among the corpus's fixed versions.
 */
function versionFor(eco: CorpusEcosystem, rand: () => number): string {
  const current = rand() < 0.9;
  return eco.version(
    current ? 6 + Math.floor(rand() * 3) : 1 + Math.floor(rand() * 5),
    Math.floor(rand() * 10),
    Math.floor(rand() * 20),
    1 + Math.floor(rand() * 4),
  );
}

/**
 * `count` distinct installed (ecosystem, release, name, version) tuples in one organisation's
 * catalogue: what a fleet's inventories collapse to. Names follow the corpus's skew, so popular
 * packages (with many advisories) are installed in many versions. Returns the entries' ids.
 */
export async function seedSoftware(
  db: Database,
  organizationId: string,
  count: number,
  seed = 7,
): Promise<number[]> {
  const rand = random(seed);
  const seen = new Set<string>();
  const rows: { eco: CorpusEcosystem; name: string; version: string }[] = [];
  while (rows.length < count) {
    let r = rand();
    let eco = ECOSYSTEMS[0] as CorpusEcosystem;
    for (const e of ECOSYSTEMS) {
      r -= e.weight;
      eco = e;
      if (r < 0) break;
    }
    const name = packageName(eco, Math.min(eco.names - 1, Math.floor(eco.names * rand() ** 2.2)));
    const version = versionFor(eco, rand);
    const key = `${eco.ecosystem}\t${eco.release}\t${name}\t${version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push({ eco, name, version });
  }
  const ids: number[] = [];
  for (let start = 0; start < rows.length; start += CHUNK) {
    const chunk = rows.slice(start, start + CHUNK);
    const inserted = await db.owner.query<{ id: number }>(
      `INSERT INTO software (organization_id, entry_hash, kind, ecosystem, release, name, version, arch, source_name)
       SELECT $1, e.h, 'package', e.eco, e.rel, e.n, e.v, 'amd64', CASE WHEN e.eco IN ('dpkg', 'apk') THEN e.n END
         FROM unnest($2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[]) AS e(h, eco, rel, n, v)
       RETURNING id`,
      [
        organizationId,
        chunk.map((c) =>
          createHash("sha256")
            .update(`${c.eco.ecosystem}\t${c.eco.release}\t${c.name}\t${c.version}`)
            .digest(),
        ),
        chunk.map((c) => c.eco.ecosystem),
        chunk.map((c) => c.eco.release),
        chunk.map((c) => c.name),
        chunk.map((c) => c.version),
      ],
    );
    ids.push(...inserted.map((r) => r.id));
  }
  return ids;
}

export interface AffectedFleet {
  devices: number;
  affected: number;
  findings: number;
}

/**
 * `devices` devices in the organisation, each with `perDevice` open findings spread over the
 * knowledge base's vulnerabilities, and `vulnerabilityId` found on `share` of them: the
 * "which devices have CVE-X" question asked of a realistically full findings table.
 */
export async function seedAffectedFleet(
  db: Database,
  organizationId: string,
  options: { devices: number; perDevice: number; vulnerabilityId: string; share: number },
): Promise<AffectedFleet> {
  const rand = random(11);
  const vulnerabilities = (
    await db.owner.query<{ id: string }>("SELECT id FROM vulnerabilities ORDER BY id LIMIT 5000")
  ).map((r) => r.id);
  const [software] = await db.owner.query<{ id: number }>(
    `INSERT INTO software (organization_id, entry_hash, kind, ecosystem, release, name, version, arch, source_name)
     VALUES ($1, $2, 'package', 'dpkg', 'debian:12', 'libbench1', '1.0.0-1', 'amd64', 'bench') RETURNING id`,
    [organizationId, randomBytes(32)],
  );
  const softwareId = software?.id as number;
  let affected = 0;
  let findings = 0;
  for (let start = 0; start < options.devices; start += CHUNK) {
    const count = Math.min(CHUNK, options.devices - start);
    const ids = Array.from({ length: count }, () => randomUUID());
    await db.owner.query(
      `INSERT INTO devices (id, organization_id, hardware_id, hostname, os_family, os_name, os_version, os_build,
                            os_release, kernel, arch, agent_version, facts_hash)
       SELECT d.id, $1, d.hw, d.host, 'linux', 'Debian GNU/Linux', '12', '12.5', 'debian:12', '6.1.0-18-amd64',
              'amd64', '0.1.0', d.fh
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bytea[]) AS d(id, hw, host, fh)`,
      [
        organizationId,
        ids,
        ids.map(() => randomBytes(16).toString("hex")),
        ids.map((_, i) => `host-${start + i}.bench.example`),
        ids.map(() => randomBytes(32)),
      ],
    );
    const device: string[] = [];
    const vulnerability: string[] = [];
    const firstSeen: string[] = [];
    for (const id of ids) {
      const picked = new Set<string>();
      if (rand() < options.share) {
        picked.add(options.vulnerabilityId);
        affected++;
      }
      while (picked.size < options.perDevice) {
        const v = vulnerabilities[Math.floor(rand() * vulnerabilities.length)] as string;
        if (v !== options.vulnerabilityId) picked.add(v);
      }
      for (const v of picked) {
        device.push(id);
        vulnerability.push(v);
        firstSeen.push(new Date(Date.UTC(2026, 0, 1) + Math.floor(rand() * 300 * 86_400_000)).toISOString());
      }
    }
    await db.owner.query(
      `INSERT INTO findings (organization_id, device_id, vulnerability_id, package_name, software_id, installed_version,
                             fixed_version, range_status, severity, risk, first_seen_at, last_changed_at, sla_due_at)
       SELECT $1, f.d, f.v, 'libbench1', $2, '1.0.0-1', '1.0.0-2', 'fixed', 'high', 42.0, f.s, f.s, f.s + interval '14 days'
         FROM unnest($3::uuid[], $4::text[], $5::timestamptz[]) AS f(d, v, s)`,
      [organizationId, softwareId, device, vulnerability, firstSeen],
    );
    findings += device.length;
  }
  await db.owner.exec("ANALYZE devices; ANALYZE findings");
  return { devices: options.devices, affected, findings };
}
