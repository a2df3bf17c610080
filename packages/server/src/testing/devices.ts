import { randomBytes } from "node:crypto";
import {
  type DeviceFacts,
  generateToken,
  hashToken,
  type Inventory,
  type InventoryEntry,
  inventoryHash,
} from "@patchpilot/protocol";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import type { Database } from "../db/database.js";
import { enroll } from "../devices/enrollment.js";
import type { App } from "../http/app.js";
import { SYSTEM_CONTEXT } from "./database.js";

export interface TestDevice {
  deviceId: string;
  organizationId: string;
  token: string;
  hardwareId: string;
  hostname: string;
}

export function sampleFacts(overrides: Partial<DeviceFacts> = {}): DeviceFacts {
  return {
    hostname: "web-01.example.test",
    os: { family: "linux", name: "Debian GNU/Linux", version: "12", build: "12.5", release: "debian:12" },
    kernel: "6.1.0-18-amd64",
    arch: "amd64",
    uptimeSeconds: 3600,
    rebootRequired: false,
    agentVersion: "0.1.0",
    patchSources: [{ mechanism: "unattended-upgrades", automaticInstall: false }],
    ...overrides,
  };
}

export function debPackage(
  name: string,
  version: string,
  extra: Partial<InventoryEntry> = {},
): InventoryEntry {
  return { kind: "package", ecosystem: "dpkg", release: "debian:12", name, version, arch: "amd64", ...extra };
}

/** A Debian-like inventory: `count` packages, deterministic for a given seed name. */
export function sampleInventory(count = 20, prefix = "pkg"): Inventory {
  const packages = Array.from({ length: count }, (_, i) =>
    debPackage(`${prefix}-${String(i).padStart(4, "0")}`, `1.${i}.0-1`, {
      sourceName: `${prefix}-src-${i % 7}`,
    }),
  );
  return {
    packages,
    updates: [
      {
        ecosystem: "dpkg",
        name: `${prefix}-0001`,
        arch: "amd64",
        currentVersion: "1.1.0-1",
        availableVersion: "1.1.0-1+deb12u1",
        origin: "Debian-Security:12/stable-security",
        security: true,
      },
    ],
  };
}

/** An organisation enrolment token made directly, for tests that do not exercise its API. */
export async function createTestEnrollmentToken(
  db: Database,
  organizationId: string,
  options: { maxUses?: number; expiresAt?: Date; groupId?: string } = {},
): Promise<{ token: string; id: string }> {
  const token = generateToken("enrollment");
  const id = await db.withOrganization(organizationId, SYSTEM_CONTEXT, async (tx) => {
    const row = await tx.db
      .insertInto("enrollment_tokens")
      .values({
        name: "test token",
        token_hash: hashToken(token),
        token_hint: token.slice(0, 8),
        max_uses: options.maxUses ?? null,
        expires_at: options.expiresAt ?? null,
        group_id: options.groupId ?? null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    tx.audit({ action: "enrollment_tokens.created", target: { type: "enrollment_token", id: row.id } });
    return row.id;
  });
  return { token, id };
}

/** A device enrolled through the enrolment service, as an agent would be. */
export async function enrollTestDevice(
  db: Database,
  organizationId: string,
  options: { hostname?: string; hardwareId?: string; enrollmentToken?: string } = {},
): Promise<TestDevice> {
  const enrollment = options.enrollmentToken ?? (await createTestEnrollmentToken(db, organizationId)).token;
  const hardwareId = options.hardwareId ?? randomBytes(16).toString("hex");
  const hostname = options.hostname ?? `host-${hardwareId.slice(0, 6)}.example.test`;
  const enrolled = await enroll(
    db,
    { checkInIntervalSeconds: 60 },
    enrollment,
    { hardwareId, facts: sampleFacts({ hostname }) },
    { requestId: null, ip: "127.0.0.1", userAgent: "test" },
  );
  return { deviceId: enrolled.deviceId, organizationId, token: enrolled.deviceToken, hardwareId, hostname };
}

/** A request as an agent sends it: the device token as a bearer token. */
export function callAsAgent(
  app: App,
  request: { method: InjectOptions["method"]; url: string; token: string | null; body?: unknown },
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: request.method,
    url: request.url,
    headers: request.token === null ? {} : { authorization: `Bearer ${request.token}` },
    ...(request.body !== undefined ? { payload: request.body as InjectOptions["payload"] } : {}),
  });
}

export function checkInBody(inventory: Inventory | null, facts: Partial<DeviceFacts> = {}) {
  return {
    facts: sampleFacts(facts),
    inventoryHash: inventory ? inventoryHash(inventory) : "0".repeat(64),
  };
}
