import Type from "typebox";
import type { Database } from "../../db/database.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { OrgParams, Uuid } from "../../http/schemas.js";
import { CYCLONEDX_MEDIA_TYPE, deviceSbom } from "./sbom.js";
import { organizationVex } from "./vex.js";

const DeviceParams = Type.Object({ orgId: Uuid, deviceId: Uuid }, { additionalProperties: false });

const CycloneDx = Type.Object(
  {
    bomFormat: Type.Literal("CycloneDX"),
    specVersion: Type.Literal("1.5"),
    serialNumber: Type.String(),
    metadata: Type.Object({}, { additionalProperties: true }),
    components: Type.Array(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: true, description: "A CycloneDX 1.5 JSON document" },
);
const VexStatement = Type.Object({
  vulnerability: Type.Object({ name: Type.String() }),
  products: Type.Array(
    Type.Object({ "@id": Type.String(), identifiers: Type.Object({ purl: Type.String() }) }),
  ),
  status: Type.Enum(["not_affected", "affected", "fixed", "under_investigation"]),
  justification: Type.Optional(Type.String()),
  impact_statement: Type.Optional(Type.String()),
  action_statement: Type.Optional(Type.String()),
  status_notes: Type.Optional(Type.String()),
});
const OpenVex = Type.Object({
  "@context": Type.Literal("https://openvex.dev/ns/v0.2.0"),
  "@id": Type.String(),
  author: Type.String(),
  role: Type.String(),
  timestamp: Type.String(),
  version: Type.Integer(),
  tooling: Type.String(),
  statements: Type.Array(VexStatement),
});

/** Documents for other tools: a device's SBOM (CycloneDX) and the organisation's VEX (OpenVEX). */
export function documentRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/devices/:deviceId/sbom",
      summary: "The device's installed software as a CycloneDX 1.5 SBOM (JSON), with package URLs",
      tags: ["vulnerabilities"],
      permission: "devices.read",
      // The library serialises the document; it is sent as written.
      contentType: CYCLONEDX_MEDIA_TYPE,
      schema: { params: DeviceParams, response: { 200: CycloneDx } },
      handler: ({ ctx, params }) => deviceSbom(db, ctx, params.deviceId),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/vex",
      summary:
        "The organisation's analysis as an OpenVEX v0.2.0 document: affected, not affected, fixed, under investigation",
      tags: ["vulnerabilities"],
      permission: "vulnerabilities.read",
      schema: { params: OrgParams, response: { 200: OpenVex } },
      handler: ({ ctx }) => organizationVex(db, ctx),
    }),
  ];
}
