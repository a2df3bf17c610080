import { randomUUID } from "node:crypto";
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import { sql } from "kysely";
import type { Database } from "../../db/database.js";
import { deviceSoftwareIds } from "../../devices/inventory-queries.js";
import { AppError } from "../../http/errors.js";
import { type RequestContext, scopeOf } from "../../http/route.js";
import { purlOf } from "./purl.js";

export const CYCLONEDX_MEDIA_TYPE = "application/vnd.cyclonedx+json; charset=utf-8";

interface SoftwareEntry {
  id: number;
  kind: string;
  ecosystem: string;
  release: string;
  name: string;
  version: string;
  arch: string;
  source_name: string | null;
  source_version: string | null;
  vendor: string | null;
}

function component(s: SoftwareEntry): Models.Component {
  const purl = purlOf(s);
  const properties = new Models.PropertyRepository([
    new Models.Property("patchpilot:ecosystem", s.ecosystem),
    ...(s.release ? [new Models.Property("patchpilot:release", s.release)] : []),
    ...(s.source_name ? [new Models.Property("patchpilot:source_name", s.source_name)] : []),
    ...(s.source_version ? [new Models.Property("patchpilot:source_version", s.source_version)] : []),
  ]);
  return new Models.Component(
    s.kind === "application" ? Enums.ComponentType.Application : Enums.ComponentType.Library,
    s.name,
    {
      // Catalogue ids are unique within the document, whatever the entry's name.
      bomRef: `software-${s.id}`,
      version: s.version,
      ...(purl ? { purl } : {}),
      ...(s.vendor ? { publisher: s.vendor } : {}),
      properties,
    },
  );
}

/**
 * A CycloneDX 1.5 SBOM (JSON) of a device's installed software as the server holds it, with the
 * device as the document's subject and a package URL per component where its ecosystem has one.
 */
export async function deviceSbom(db: Database, ctx: RequestContext, deviceId: string): Promise<string> {
  const { organizationId } = scopeOf(ctx);
  const { device, software } = await db.withOrganization(organizationId, ctx, async (tx) => {
    const device = await tx.db
      .selectFrom("devices")
      .select(["id", "hostname", "os_name", "os_version", "os_release", "arch"])
      .where("id", "=", deviceId)
      .executeTakeFirst();
    if (!device) throw new AppError("devices.not_found");
    const software = await sql<SoftwareEntry>`
      SELECT s.id, s.kind, s.ecosystem, s.release, s.name, s.version, s.arch, s.source_name, s.source_version, s.vendor
        FROM software s
       WHERE s.id IN ${deviceSoftwareIds(deviceId)}
       ORDER BY s.name, s.id`.execute(tx.db);
    return { device, software: software.rows };
  });
  const bom = new Models.Bom({ serialNumber: `urn:uuid:${randomUUID()}` });
  bom.metadata.timestamp = new Date();
  bom.metadata.tools.components.add(
    new Models.Component(Enums.ComponentType.Application, "PatchPilot", { publisher: "PatchPilot" }),
  );
  bom.metadata.component = new Models.Component(Enums.ComponentType.Device, device.hostname, {
    bomRef: `device-${device.id}`,
    description: `${device.os_name} ${device.os_version} (${device.arch})`,
    properties: new Models.PropertyRepository([
      new Models.Property("patchpilot:device_id", device.id),
      new Models.Property("patchpilot:os_release", device.os_release),
    ]),
  });
  for (const s of software) {
    const c = component(s);
    bom.components.add(c);
    bom.metadata.component.dependencies.add(c.bomRef);
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot5));
  return serializer.serialize(bom, { sortLists: true });
}
