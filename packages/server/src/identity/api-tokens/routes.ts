import Type from "typebox";
import type { Database } from "../../db/database.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { AssignableRoleSchema, NoContent, OrgParams, Timestamp, Uuid } from "../../http/schemas.js";
import { createApiToken, listApiTokens, revokeApiToken } from "./api-tokens-service.js";

const ApiToken = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  hint: Type.String({ description: "The token's first characters, to tell tokens apart; never the secret." }),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

export function apiTokenRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/api-tokens",
      summary: "The organisation's API tokens (never their secrets)",
      tags: ["api-tokens"],
      permission: "api_tokens.read",
      schema: { params: OrgParams, response: { 200: Type.Object({ items: Type.Array(ApiToken) }) } },
      handler: async ({ ctx }) => ({ items: await listApiTokens(db, ctx) }),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/api-tokens",
      summary: "Create an API token (shown once; its role is at most yours)",
      tags: ["api-tokens"],
      permission: "api_tokens.manage",
      successStatus: 201,
      schema: {
        params: OrgParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100, pattern: "^[^\\u0000-\\u001f]+$" }),
            role: AssignableRoleSchema,
            expiresAt: Type.Optional(Timestamp),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            token: Type.String({ description: "Send as Authorization: Bearer; shown only now." }),
            apiToken: ApiToken,
          }),
        },
      },
      example: { name: "nightly report", role: "auditor" },
      handler: async ({ ctx, body }) => createApiToken(db, ctx, body),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/api-tokens/:apiTokenId",
      summary: "Revoke an API token (it stops working at once)",
      tags: ["api-tokens"],
      permission: "api_tokens.manage",
      successStatus: 204,
      schema: {
        params: Type.Object({ orgId: Uuid, apiTokenId: Uuid }, { additionalProperties: false }),
        response: { 204: NoContent },
      },
      handler: async ({ ctx, params }) => revokeApiToken(db, ctx, params.apiTokenId),
    }),
  ];
}
