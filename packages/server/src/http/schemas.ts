import Type from "typebox";

/** Shared request-field schemas: every string has a length limit. */
export const Uuid = Type.String({ format: "uuid", maxLength: 36 });
export const Email = Type.String({ format: "email", minLength: 3, maxLength: 254 });
/** Signing in matches an existing address after trimming, so it need not look like one. */
export const SignInEmail = Type.String({ minLength: 1, maxLength: 254 });
export const PersonName = Type.String({ minLength: 1, maxLength: 200 });
// Long enough for passphrases; the 72-byte bcrypt limit is checked with its own message.
export const Password = Type.String({ minLength: 1, maxLength: 256 });
export const Timestamp = Type.String({ format: "date-time", maxLength: 40 });
export const AssignableRoleSchema = Type.Union([
  Type.Literal("owner"),
  Type.Literal("admin"),
  Type.Literal("operator"),
  Type.Literal("auditor"),
]);
export const OrgParams = Type.Object({ orgId: Uuid }, { additionalProperties: false });
export const Empty = Type.Object({}, { additionalProperties: false });
export const NoContent = Type.Null({ description: "No content" });
