import Type from "typebox";
import type { Database } from "../../db/database.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { Uuid } from "../../http/schemas.js";
import { erasePerson, exportMyData, exportPersonalData } from "./gdpr-service.js";

const UserParams = Type.Object({ orgId: Uuid, userId: Uuid }, { additionalProperties: false });
// The export's shape is documented in docs/api.md; it is JSON for the data subject, not for the console.
const PersonalData = Type.Object({}, { additionalProperties: true });

export function gdprRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/users/:userId/personal-data-export",
      summary:
        "Export all personal data the organisation holds about a member, as JSON (Owner, or the person)",
      tags: ["users"],
      permission: "users.export_personal_data",
      schema: { params: UserParams, response: { 200: PersonalData } },
      handler: async ({ ctx, params }) => exportPersonalData(db, ctx, params.userId),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/users/:userId/erasure",
      summary: "Erase a member: pseudonymise in place, delete sessions, tokens and second factors (Owner)",
      tags: ["users"],
      permission: "users.erase",
      schema: {
        params: UserParams,
        response: { 200: Type.Object({ userId: Type.String(), pseudonym: Type.String() }) },
      },
      handler: async ({ ctx, params }) => erasePerson(db, ctx, params.userId),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/me/personal-data",
      summary: "Export my own account data across PatchPilot, as JSON",
      tags: ["auth"],
      permission: "authenticated",
      schema: { response: { 200: PersonalData } },
      handler: async ({ ctx }) => exportMyData(db, ctx),
    }),
  ];
}
