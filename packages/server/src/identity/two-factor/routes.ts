import Type from "typebox";
import type { Database } from "../../db/database.js";
import { defineRoute, type RouteDefinition } from "../../http/route.js";
import { NoContent, OrgParams, Password } from "../../http/schemas.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { Me } from "../account-routes.js";
import { describePerson } from "../account-service.js";
import { setSessionCookie } from "../session-cookie.js";
import { csrfTokenFor } from "../sessions.js";
import { completeSignIn } from "./complete-sign-in.js";
import { readSecuritySettings, updateSecuritySettings } from "./security-settings.js";
import {
  confirmEnrollment,
  disableTwoFactor,
  regenerateRecoveryCodes,
  startEnrollment,
  twoFactorStatus,
} from "./two-factor-service.js";

/** A six-digit TOTP code, or a recovery code (`xxxxx-xxxxx`). */
const Code = Type.String({ minLength: 6, maxLength: 20, pattern: "^[0-9A-Za-z -]+$" });
const TotpCode = Type.String({ minLength: 6, maxLength: 6, pattern: "^[0-9]{6}$" });
const RecoveryCodes = Type.Object({
  recoveryCodes: Type.Array(Type.String(), { description: "Shown once; each works once." }),
});
const Status = Type.Object({
  enabled: Type.Boolean(),
  enrollmentPending: Type.Boolean(),
  enabledAt: Type.Union([Type.String(), Type.Null()]),
  recoveryCodesLeft: Type.Integer(),
});
const TwoFactorRequirement = Type.Union([Type.Literal("off"), Type.Literal("admins"), Type.Literal("all")], {
  description:
    "Who must have a second factor to reach the organisation: nobody, Owners and Admins, or everyone.",
});
const SecuritySettings = Type.Object({ twoFactorRequired: TwoFactorRequirement });

export function twoFactorRoutes(db: Database, secrets: SecretBox): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      url: "/api/v1/auth/second-factor",
      summary: "Second step of a sign-in: the challenge and a TOTP or recovery code",
      tags: ["auth"],
      permission: "public",
      schema: {
        body: Type.Object(
          { challenge: Type.String({ minLength: 1, maxLength: 100 }), code: Code },
          { additionalProperties: false },
        ),
        response: { 200: Me },
      },
      example: { challenge: "ppsc_…", code: "123456" },
      async handler({ body, ctx, reply }) {
        const signedIn = await completeSignIn(db, secrets, body, ctx);
        setSessionCookie(reply, signedIn.token);
        return { ...(await describePerson(db, signedIn.userId)), csrfToken: csrfTokenFor(signedIn.token) };
      },
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/me/two-factor",
      summary: "Whether my second factor is on, and how many recovery codes are left",
      tags: ["auth"],
      permission: "authenticated",
      schema: { response: { 200: Status } },
      handler: async ({ ctx }) => twoFactorStatus(db, ctx),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/me/two-factor/enrollment",
      summary: "Start enrolling an authenticator app: a QR code and the key to type",
      tags: ["auth"],
      permission: "authenticated",
      schema: {
        response: {
          200: Type.Object({
            secret: Type.String({ description: "The key in base32, for typing into the app." }),
            otpauthUri: Type.String(),
            qrCode: Type.String({ description: "A PNG data URL of the otpauth URI." }),
          }),
        },
      },
      handler: async ({ ctx }) => startEnrollment(db, secrets, ctx),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/me/two-factor/confirmation",
      summary: "Turn the second factor on with a code from the new authenticator; returns recovery codes",
      tags: ["auth"],
      permission: "authenticated",
      schema: {
        body: Type.Object({ code: TotpCode }, { additionalProperties: false }),
        response: { 200: RecoveryCodes },
      },
      example: { code: "123456" },
      handler: async ({ ctx, body }) => confirmEnrollment(db, secrets, ctx, body.code),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/me/two-factor/recovery-codes",
      summary: "Replace my recovery codes (needs a current code)",
      tags: ["auth"],
      permission: "authenticated",
      schema: {
        body: Type.Object({ code: Code }, { additionalProperties: false }),
        response: { 200: RecoveryCodes },
      },
      example: { code: "123456" },
      handler: async ({ ctx, body }) => regenerateRecoveryCodes(db, secrets, ctx, body),
    }),
    defineRoute({
      method: "POST",
      url: "/api/v1/me/two-factor/disable",
      summary: "Turn my second factor off (needs my password and a code)",
      tags: ["auth"],
      permission: "authenticated",
      successStatus: 204,
      schema: {
        body: Type.Object({ password: Password, code: Code }, { additionalProperties: false }),
        response: { 204: NoContent },
      },
      example: { password: "correct horse battery staple", code: "123456" },
      handler: async ({ ctx, body }) => disableTwoFactor(db, secrets, ctx, body),
    }),
    defineRoute({
      method: "GET",
      url: "/api/v1/orgs/:orgId/security-settings",
      summary: "The organisation's sign-in requirements",
      tags: ["organizations"],
      permission: "organization.read",
      schema: { params: OrgParams, response: { 200: SecuritySettings } },
      handler: async ({ ctx }) => readSecuritySettings(db, ctx),
    }),
    defineRoute({
      method: "PUT",
      url: "/api/v1/orgs/:orgId/security-settings",
      summary: "Require a second factor of every member, or of Owners and Admins",
      tags: ["organizations"],
      permission: "organization.update",
      schema: {
        params: OrgParams,
        body: Type.Object({ twoFactorRequired: TwoFactorRequirement }, { additionalProperties: false }),
        response: { 200: SecuritySettings },
      },
      example: { twoFactorRequired: "off" },
      handler: async ({ ctx, body }) => updateSecuritySettings(db, ctx, body.twoFactorRequired),
    }),
  ];
}
