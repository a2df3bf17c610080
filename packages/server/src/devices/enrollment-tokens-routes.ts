import Type from "typebox";
import type { Database } from "../db/database.js";
import { CursorQuery, pageOf } from "../http/pagination.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { NoContent, OrgParams, Timestamp, Uuid } from "../http/schemas.js";
import {
  createEnrollmentToken,
  listEnrollmentTokens,
  revokeEnrollmentToken,
} from "./enrollment-tokens-service.js";

const Nullable = <T extends import("typebox").TSchema>(t: T) => Type.Union([t, Type.Null()]);

const EnrollmentToken = Type.Object({
  id: Type.String(),
  name: Type.String(),
  hint: Type.String(),
  groupId: Nullable(Type.String()),
  status: Type.String(),
  uses: Type.Integer(),
  maxUses: Nullable(Type.Integer()),
  createdBy: Nullable(Type.String()),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  lastUsedAt: Nullable(Type.String()),
});

export function enrollmentTokenRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/enrollment-tokens",
      summary: "Create an enrolment token (ppk_…); the secret is shown in this answer only",
      tags: ["devices"],
      permission: "enrollment_tokens.manage",
      successStatus: 201,
      schema: {
        params: OrgParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            expiresAt: Type.Optional(Timestamp),
            maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
            groupId: Type.Optional(Uuid),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ token: Type.String(), enrollmentToken: EnrollmentToken }) },
      },
      example: { name: "Berlin office laptops", maxUses: 50 },
      handler: ({ ctx, body }) => createEnrollmentToken(db, ctx, body),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/enrollment-tokens",
      summary: "Enrolment tokens, newest first (never their secrets)",
      tags: ["devices"],
      permission: "enrollment_tokens.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(CursorQuery, { additionalProperties: false }),
        response: { 200: pageOf(EnrollmentToken) },
      },
      handler: ({ ctx, query }) => listEnrollmentTokens(db, ctx, query),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/enrollment-tokens/:tokenId",
      summary: "Revoke an enrolment token (devices it enrolled keep their own tokens)",
      tags: ["devices"],
      permission: "enrollment_tokens.manage",
      successStatus: 204,
      schema: {
        params: Type.Object({ orgId: Uuid, tokenId: Uuid }, { additionalProperties: false }),
        response: { 204: NoContent },
      },
      handler: ({ ctx, params }) => revokeEnrollmentToken(db, ctx, params.tokenId),
    }),
  ];
}
