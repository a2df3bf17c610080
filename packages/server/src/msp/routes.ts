import Type from "typebox";
import type { Database } from "../db/database.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { Email, NoContent, OrgParams, Uuid } from "../http/schemas.js";
import {
  assignTechnician,
  clientTechnicians,
  createClient,
  listClients,
  myClients,
  parsePlan,
  unassignTechnician,
} from "./msp-service.js";

const Person = Type.Object({ userId: Type.String(), name: Type.String(), email: Type.String() });
const Client = Type.Object({
  id: Type.String(),
  name: Type.String(),
  plan: Type.String(),
  createdAt: Type.String(),
  technicians: Type.Array(Person),
});
const AssignmentParams = Type.Object(
  { orgId: Uuid, clientId: Uuid, userId: Uuid },
  { additionalProperties: false },
);

export function mspRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/msp/clients",
      summary: "The MSP's client organisations and who is assigned to each",
      tags: ["msp"],
      permission: "msp.read",
      schema: { params: OrgParams, response: { 200: Type.Object({ items: Type.Array(Client) }) } },
      handler: async ({ ctx }) => ({ items: await listClients(db, ctx) }),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/orgs/:orgId/msp/clients",
      summary: "Create a client organisation managed by this MSP (MSP plan); optionally invite its Owner",
      tags: ["msp"],
      permission: "msp.manage",
      successStatus: 201,
      schema: {
        params: OrgParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            plan: Type.Optional(
              Type.Union(
                ["free", "starter", "professional", "business", "enterprise"].map((p) => Type.Literal(p)),
              ),
            ),
            ownerEmail: Type.Optional(Email),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            client: Client,
            ownerInvitationToken: Type.Union([Type.String(), Type.Null()], {
              description: "The Owner's invitation token, shown once.",
            }),
          }),
        },
      },
      example: { name: "Client Ltd", ownerEmail: "owner@client.example" },
      handler: async ({ ctx, body }) =>
        createClient(db, ctx, {
          name: body.name,
          ...(body.plan !== undefined ? { plan: parsePlan(body.plan) } : {}),
          ...(body.ownerEmail !== undefined ? { ownerEmail: body.ownerEmail } : {}),
        }),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/msp/clients/:clientId/technicians/:userId",
      summary: "Assign a member of the MSP to a client (MSP Tenant Admin there)",
      tags: ["msp"],
      permission: "msp.manage",
      successStatus: 204,
      schema: { params: AssignmentParams, response: { 204: NoContent } },
      handler: async ({ ctx, params }) => assignTechnician(db, ctx, params.clientId, params.userId),
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/orgs/:orgId/msp/clients/:clientId/technicians/:userId",
      summary: "End a technician's assignment to a client (effective on their next request)",
      tags: ["msp"],
      permission: "msp.manage",
      successStatus: 204,
      schema: { params: AssignmentParams, response: { 204: NoContent } },
      handler: async ({ ctx, params }) => unassignTechnician(db, ctx, params.clientId, params.userId),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/msp/technicians",
      summary: "For a client: which MSP staff may act in this organisation",
      tags: ["msp"],
      permission: "msp.read",
      schema: {
        params: OrgParams,
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                userId: Type.String(),
                name: Type.String(),
                email: Type.String(),
                msp: Type.Object({ id: Type.String(), name: Type.String() }),
                assignedAt: Type.String(),
              }),
            ),
          }),
        },
      },
      handler: async ({ ctx }) => ({ items: await clientTechnicians(db, ctx) }),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/me/msp/clients",
      summary: "The client organisations I am assigned to; each request then names one of them",
      tags: ["msp"],
      permission: "authenticated",
      schema: {
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.String(),
                msp: Type.Object({ id: Type.String(), name: Type.String() }),
              }),
            ),
          }),
        },
      },
      handler: async ({ ctx }) => ({ items: await myClients(db, ctx) }),
    }),
  ];
}
