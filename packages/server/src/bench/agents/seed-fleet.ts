import { randomBytes, randomUUID } from "node:crypto";
import {
  type DeviceFacts,
  entryLine,
  generateToken,
  hashToken,
  type Inventory,
  inventoryHash,
  lineDigest,
} from "@patchpilot/protocol";
import type { Database } from "../../db/database.js";
import { factsFingerprint } from "../../devices/device-facts.js";
import { toIdSet } from "../../devices/package-sets.js";
import { createOrganization, createUser } from "../../organizations/create-organization.js";
import type { SimulatedDevice } from "./simulator.js";

export const BENCH_CONTEXT = {
  actor: { type: "system", id: null },
  requestId: null,
  ip: null,
  userAgent: null,
} as const;

export interface FleetOrg {
  organizationId: string;
  release: string;
}

export interface Fleet {
  organizations: FleetOrg[];
  devices: SimulatedDevice[];
}

function facts(hostname: string, release: string): DeviceFacts {
  const ubuntu = release.startsWith("ubuntu");
  return {
    hostname,
    os: ubuntu
      ? { family: "linux", name: "Ubuntu", version: "22.04", build: "22.04.4 LTS", release }
      : { family: "linux", name: "Debian GNU/Linux", version: "12", build: "12.5", release },
    kernel: ubuntu ? "5.15.0-101-generic" : "6.1.0-18-amd64",
    arch: "amd64",
    uptimeSeconds: 0,
    rebootRequired: false,
    agentVersion: "0.1.0",
    patchSources: [{ mechanism: "unattended-upgrades", automaticInstall: false }],
  };
}

const CHUNK = 5000;

/**
 * Organisations and their devices, written in bulk as the database owner (as a restore would):
 * enrolling 100,000 devices one request at a time would take longer than the benchmark itself.
 * Organisations are made by the real `createOrganization`; each organisation's devices share one
 * installed image, stored as one package set, so every device starts with an inventory.
 */
export async function seedFleet(
  db: Database,
  options: {
    organizations: number;
    devicesPerOrganization: number;
    images: Map<string, Inventory>;
    /** False: devices that have not sent an inventory yet (for the ingest runs). */
    withInventory?: boolean;
  },
): Promise<Fleet> {
  const releases = [...options.images.keys()];
  const organizations: FleetOrg[] = [];
  const devices: SimulatedDevice[] = [];
  const bootedAt = Date.now() - 86_400_000;
  for (let o = 0; o < options.organizations; o++) {
    const release = releases[o % releases.length] as string;
    const image = options.images.get(release) as Inventory;
    const organizationId = await db.system(BENCH_CONTEXT, async (tx) => {
      const owner = await createUser(tx, {
        email: `fleet-owner-${randomBytes(4).toString("hex")}@bench.example`,
        name: "Fleet Owner",
        passwordHash: "!",
      });
      return createOrganization(tx, { name: `Fleet ${o}`, ownerUserId: owner });
    });
    organizations.push({ organizationId, release });
    const withInventory = options.withInventory ?? true;
    const setId = withInventory ? await storeImage(db, organizationId, release, image) : null;
    const hash = withInventory ? inventoryHash(image) : "0".repeat(64);
    for (let start = 0; start < options.devicesPerOrganization; start += CHUNK) {
      const count = Math.min(CHUNK, options.devicesPerOrganization - start);
      const rows = Array.from({ length: count }, (_, i) => {
        const hostname = `host-${o}-${start + i}.fleet.example`;
        const f = facts(hostname, release);
        const token = generateToken("device");
        const deviceId = randomUUID();
        devices.push({ deviceId, token, bootedAt, body: JSON.stringify({ facts: f, inventoryHash: hash }) });
        return { deviceId, token, hostname, f };
      });
      await db.owner.query(
        `INSERT INTO devices (id, organization_id, hardware_id, hostname, os_family, os_name, os_version, os_build,
                              os_release, kernel, arch, agent_version, patch_sources, facts_hash)
         SELECT d.id, $1, d.hw, d.host, 'linux', $2, $3, $4, $5, $6, 'amd64', '0.1.0', $7::jsonb, d.fh
           FROM unnest($8::uuid[], $9::text[], $10::text[], $11::bytea[]) AS d(id, hw, host, fh)`,
        [
          organizationId,
          rows[0]?.f.os.name,
          rows[0]?.f.os.version,
          rows[0]?.f.os.build,
          release,
          rows[0]?.f.kernel,
          JSON.stringify(rows[0]?.f.patchSources),
          rows.map((r) => r.deviceId),
          rows.map(() => randomBytes(16).toString("hex")),
          rows.map((r) => r.hostname),
          rows.map((r) => factsFingerprint(r.f)),
        ],
      );
      await db.owner.query(
        `INSERT INTO device_tokens (organization_id, device_id, token_hash, first_used_at)
         SELECT $1, t.id, t.hash, now() FROM unnest($2::uuid[], $3::bytea[]) AS t(id, hash)`,
        [organizationId, rows.map((r) => r.deviceId), rows.map((r) => hashToken(r.token))],
      );
      await db.owner.query(
        `INSERT INTO device_presence (device_id, organization_id, last_seen_at, booted_at)
         SELECT id, $1, now(), $2 FROM unnest($3::uuid[]) AS t(id)`,
        [organizationId, new Date(bootedAt), rows.map((r) => r.deviceId)],
      );
      if (setId === null) continue;
      await db.owner.query(
        `INSERT INTO device_inventories (device_id, organization_id, base_set_id, package_count, inventory_hash)
         SELECT id, $1, $2, $3, $4 FROM unnest($5::uuid[]) AS t(id)`,
        [organizationId, setId, image.packages.length, hash, rows.map((r) => r.deviceId)],
      );
    }
  }
  return { organizations, devices };
}

async function storeImage(
  db: Database,
  organizationId: string,
  release: string,
  image: Inventory,
): Promise<number> {
  const digests = image.packages.map((p) => lineDigest(entryLine(p)));
  const rows = await db.owner.query<{ id: number }>(
    `INSERT INTO software (organization_id, entry_hash, kind, ecosystem, release, name, version, arch, source_name, source_version)
     SELECT $1, e.h, 'package', 'dpkg', $2, e.n, e.v, e.a, e.sn, e.sv
       FROM unnest($3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS e(h, n, v, a, sn, sv)
     RETURNING id`,
    [
      organizationId,
      release,
      digests,
      image.packages.map((p) => p.name),
      image.packages.map((p) => p.version),
      image.packages.map((p) => p.arch ?? ""),
      image.packages.map((p) => p.sourceName ?? null),
      image.packages.map((p) => p.sourceVersion ?? null),
    ],
  );
  const ids = toIdSet(rows.map((r) => r.id));
  const set = await db.owner.query<{ id: number }>(
    `INSERT INTO package_sets (organization_id, release, content_hash, software_ids, size)
     VALUES ($1, $2, $3, $4::integer[], $5) RETURNING id`,
    [organizationId, release, randomBytes(32), `{${ids.join(",")}}`, ids.length],
  );
  return set[0]?.id as number;
}
