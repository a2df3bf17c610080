import Type from "typebox";
import type { Config } from "../config/config.js";
import type { Database } from "../db/database.js";
import { CursorQuery, pageOf } from "../http/pagination.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { AssignableRoleSchema, Email, NoContent, OrgParams, Uuid } from "../http/schemas.js";
import { createInvitation, listInvitations, revokeInvitation } from "./invitations-service.js";
import { changeRole, getMember, listMembers, removeMember } from "./users-service.js";

const Member = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: Type.String(),
  joinedAt: Type.String(),
  lastLoginAt: Type.Union([Type.String(), Type.Null()]),
});
const Invitation = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: Type.String(),
  status: Type.String(),
  invitedBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  expiresAt: Type.String(),
});
const UserParams = Type.Object({ orgId: Uuid, userId: Uuid }, { additionalProperties: false });

export function usersRoutes(db: Database, config: Config): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/users",
      summary: "Members of the organisation, a page at a time",
      tags: ["users"],
      permission: "users.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(
          { ...CursorQuery, role: Type.Optional(AssignableRoleSchema) },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(Member) },
      },
      handler: ({ ctx, query }) => listMembers(db, ctx, query),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/users/:userId",
      summary: "One member",
      tags: ["users"],
      permission: "users.read",
      schema: { params: UserParams, response: { 200: Member } },
      handler: ({ ctx, params }) => getMember(db, ctx, params.userId),
    }),
    defineRoute({
      method: "PATCH",
      url: "/api/v1/orgs/:orgId/users/:userId",
      summary: "Change a member's role (only Owners grant or remove Owner; the last Owner stays)",
      tags: ["users"],
      permission: "users.update_role",
      schema: {
        params: UserParams,
        body: Type.Object({ role: AssignableRoleSchema }, { additionalProperties: false }),
        response: { 200: Member },
      },
      example: { role: "operator" },
      handler: ({ ctx, params, body }) => changeRole(db, ctx, params.userId, body.role),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/users/:userId",
      summary: "Remove a member from the organisation",
      tags: ["users"],
      permission: "users.remove",
      successStatus: 204,
      schema: { params: UserParams, response: { 204: NoContent } },
      handler: ({ ctx, params }) => removeMember(db, ctx, params.userId),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/invitations",
      summary: "Invite someone; the answer holds the accept link, shown this once",
      tags: ["users"],
      permission: "users.invite",
      successStatus: 201,
      schema: {
        params: OrgParams,
        body: Type.Object({ email: Email, role: AssignableRoleSchema }, { additionalProperties: false }),
        response: {
          201: Type.Object({ invitation: Invitation, token: Type.String(), acceptUrl: Type.String() }),
        },
      },
      example: { email: "grace@example.com", role: "operator" },
      async handler({ ctx, body }) {
        const { invitation, token } = await createInvitation(db, ctx, body);
        // In the fragment, so the token never reaches a server or proxy log.
        const acceptUrl = new URL(`/invitations/accept#${token}`, config.publicUrl).toString();
        return { invitation, token, acceptUrl };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/invitations",
      summary: "Invitations of the organisation, newest first",
      tags: ["users"],
      permission: "users.read",
      schema: {
        params: OrgParams,
        querystring: Type.Object(CursorQuery, { additionalProperties: false }),
        response: { 200: pageOf(Invitation) },
      },
      handler: ({ ctx, query }) => listInvitations(db, ctx, query),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/invitations/:invitationId",
      summary: "Revoke a pending invitation",
      tags: ["users"],
      permission: "users.invite",
      successStatus: 204,
      schema: {
        params: Type.Object({ orgId: Uuid, invitationId: Uuid }, { additionalProperties: false }),
        response: { 204: NoContent },
      },
      handler: ({ ctx, params }) => revokeInvitation(db, ctx, params.invitationId),
    }),
  ];
}
