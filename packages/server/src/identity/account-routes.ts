import Type from "typebox";
import type { Database } from "../db/database.js";
import { AppError } from "../http/errors.js";
import { defineRoute, type RouteDefinition } from "../http/route.js";
import { NoContent, Password, PersonName, SignInEmail, Uuid } from "../http/schemas.js";
import {
  changePassword,
  describePerson,
  listMySessions,
  revokeMySession,
  signOut,
} from "./account-service.js";
import { acceptInvitation } from "./invitations-service.js";
import { clearSessionCookie, setSessionCookie } from "./session-cookie.js";
import { csrfTokenFor, SESSION_COOKIE } from "./sessions.js";
import { signIn } from "./sign-in.js";

const User = Type.Object({ id: Type.String(), email: Type.String(), name: Type.String() });
const Membership = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  permissions: Type.Array(Type.String()),
});
export const Me = Type.Object({
  user: User,
  organizations: Type.Array(Membership),
  csrfToken: Type.String({ description: "Send as X-CSRF-Token on every state-changing request." }),
});
/** The answer to a right password on an account with a second factor: send the code next. */
export const SecondFactorRequired = Type.Object({
  secondFactorRequired: Type.Literal(true),
  challenge: Type.String({ description: "Send with the code to POST /api/v1/auth/second-factor." }),
  expiresAt: Type.String(),
});
const Session = Type.Object({
  id: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  expiresAt: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

export function accountRoutes(db: Database): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      url: "/api/v1/auth/sign-in",
      summary: "Sign in with email and password",
      tags: ["auth"],
      permission: "public",
      schema: {
        body: Type.Object({ email: SignInEmail, password: Password }, { additionalProperties: false }),
        response: { 200: Type.Union([Me, SecondFactorRequired]) },
      },
      example: { email: "ada@example.com", password: "correct horse battery staple" },
      async handler({ body, ctx, reply }) {
        const signedIn = await signIn(db, body, ctx);
        if (signedIn.kind === "second_factor") {
          return {
            secondFactorRequired: true,
            challenge: signedIn.challenge,
            expiresAt: signedIn.expiresAt.toISOString(),
          };
        }
        setSessionCookie(reply, signedIn.token);
        return { ...(await describePerson(db, signedIn.userId)), csrfToken: csrfTokenFor(signedIn.token) };
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/auth/sign-out",
      summary: "Sign out (ends this session)",
      tags: ["auth"],
      permission: "authenticated",
      successStatus: 204,
      schema: { response: { 204: NoContent } },
      async handler({ ctx, reply }) {
        await signOut(db, ctx);
        clearSessionCookie(reply);
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/me",
      summary: "The signed-in person, their organisations, roles and permissions",
      tags: ["auth"],
      permission: "authenticated",
      schema: { response: { 200: Me } },
      async handler({ ctx, request }) {
        const token = request.cookies[SESSION_COOKIE];
        if (!token || !ctx.user) throw new AppError("auth.required");
        return { ...(await describePerson(db, ctx.user.id)), csrfToken: csrfTokenFor(token) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/me/sessions",
      summary: "My active sessions",
      tags: ["auth"],
      permission: "authenticated",
      schema: { response: { 200: Type.Object({ items: Type.Array(Session) }) } },
      async handler({ ctx }) {
        return { items: await listMySessions(db, ctx) };
      },
    }),
    defineRoute({
      method: "DELETE",
      url: "/api/v1/me/sessions/:sessionId",
      summary: "Revoke one of my sessions",
      tags: ["auth"],
      permission: "authenticated",
      successStatus: 204,
      schema: {
        params: Type.Object({ sessionId: Uuid }, { additionalProperties: false }),
        response: { 204: NoContent },
      },
      async handler({ ctx, params }) {
        await revokeMySession(db, ctx, params.sessionId);
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/me/password",
      summary: "Change my password; every other session of mine is signed out",
      tags: ["auth"],
      permission: "authenticated",
      schema: {
        body: Type.Object(
          { currentPassword: Password, newPassword: Password },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ revokedSessions: Type.Integer() }) },
      },
      example: {
        currentPassword: "correct horse battery staple",
        newPassword: "a new and longer passphrase",
      },
      async handler({ ctx, body }) {
        return changePassword(db, ctx, body);
      },
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/invitations/accept",
      summary: "Accept an invitation (a new person sets name and password; an existing one signs in first)",
      tags: ["users"],
      permission: "public",
      successStatus: 201,
      schema: {
        body: Type.Object(
          {
            token: Type.String({ minLength: 1, maxLength: 100 }),
            name: Type.Optional(PersonName),
            password: Type.Optional(Password),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ organizationId: Type.String(), userId: Type.String() }) },
      },
      example: { token: "ppi_…", name: "Grace Hopper", password: "a long enough passphrase" },
      async handler({ ctx, body }) {
        return acceptInvitation(db, body, ctx.user?.id ?? null, ctx);
      },
    }),
  ];
}
