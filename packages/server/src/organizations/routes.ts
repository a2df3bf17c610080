import Type from "typebox";
import type { Database } from "../db/database.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { Email, OrgParams, Password, PersonName } from "../http/schemas.js";
import { setSessionCookie } from "../identity/session-cookie.js";
import { csrfTokenFor } from "../identity/sessions.js";
import { getOrganization, renameOrganization } from "./organization-service.js";
import { createFirstOrganization, isSetUp } from "./setup.js";

const OrgName = Type.String({ minLength: 1, maxLength: 200 });
const Organization = Type.Object({
  id: Type.String(),
  name: Type.String(),
  plan: Type.String(),
  createdAt: Type.String(),
});

export function organizationRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/setup",
      summary: "Whether the first organisation exists yet",
      tags: ["setup"],
      permission: "public",
      isolationExempt: "answers only whether any organisation exists, never which",
      schema: { response: { 200: Type.Object({ setUp: Type.Boolean() }) } },
      handler: async () => ({ setUp: await isSetUp(db) }),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/setup",
      summary: "Create the first organisation and its Owner with the one-time setup link",
      tags: ["setup"],
      permission: "public",
      successStatus: 201,
      schema: {
        body: Type.Object(
          {
            setupToken: Type.String({ minLength: 1, maxLength: 100 }),
            organizationName: OrgName,
            name: PersonName,
            email: Email,
            password: Password,
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            organizationId: Type.String(),
            userId: Type.String(),
            csrfToken: Type.String(),
          }),
        },
      },
      example: {
        setupToken: "ppsu_…",
        organizationName: "Example Ltd",
        name: "Ada Lovelace",
        email: "ada@example.com",
        password: "correct horse battery staple",
      },
      async handler({ body, ctx, reply }) {
        const result = await createFirstOrganization(db, body, ctx, { openSession: true });
        if (!result.session) throw new Error("setup opened no session");
        setSessionCookie(reply, result.session.token);
        return {
          organizationId: result.organizationId,
          userId: result.userId,
          csrfToken: csrfTokenFor(result.session.token),
        };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId",
      summary: "The organisation",
      tags: ["organizations"],
      permission: "organization.read",
      schema: { params: OrgParams, response: { 200: Organization } },
      handler: ({ ctx }) => getOrganization(db, ctx),
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/v1/orgs/:orgId",
      summary: "Rename the organisation",
      tags: ["organizations"],
      permission: "organization.update",
      schema: {
        params: OrgParams,
        body: Type.Object({ name: OrgName }, { additionalProperties: false }),
        response: { 200: Organization },
      },
      example: { name: "Example Holdings Ltd" },
      handler: ({ ctx, body }) => renameOrganization(db, ctx, body.name),
    }),
  ];
}
