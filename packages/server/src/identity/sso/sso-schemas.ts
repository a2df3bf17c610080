import Type from "typebox";
import { Uuid } from "../../http/schemas.js";

/** The organisation a public sign-in route is for (its id, as shown with its SSO settings). */
export const SsoParams = Type.Object({ organizationId: Uuid }, { additionalProperties: false });

export const AllowedDomains = Type.Array(Type.String({ minLength: 3, maxLength: 253 }), {
  minItems: 1,
  maxItems: 50,
  description: "Email domains the provider may sign in (and provision) people for.",
});

export const DefaultRole = Type.Union(
  [Type.Literal("admin"), Type.Literal("operator"), Type.Literal("auditor")],
  {
    description: "The role of people provisioned at their first sign-in; never Owner.",
  },
);
