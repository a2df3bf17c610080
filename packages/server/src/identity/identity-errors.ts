/** Errors of second factors, API tokens, MSP tenancy and single sign-on (merged in http/errors.ts). */
export const IDENTITY_ERRORS = {
  "two_factor.already_enabled": {
    status: 409,
    message: "Two-factor authentication is already on; turn it off first to enrol a new authenticator.",
  },
  "two_factor.not_enrolled": {
    status: 409,
    message: "There is no authenticator to confirm: start the enrolment first.",
  },
  "two_factor.not_enabled": { status: 409, message: "Two-factor authentication is not on for this account." },
  "two_factor.invalid_code": {
    status: 401,
    message: "The code is not correct, has expired, or was already used.",
  },
  "two_factor.code_incorrect": {
    status: 403,
    message: "The code is not correct, has expired, or was already used.",
  },
  "two_factor.invalid_challenge": {
    status: 401,
    message: "This sign-in has expired or was already completed: sign in again with your password.",
  },
  "two_factor.required_by_organization": {
    status: 403,
    message:
      "This organisation requires two-factor authentication for your role: turn it on under your account first.",
  },
  "api_tokens.not_found": { status: 404, message: "There is no such API token." },
  "api_tokens.name_taken": { status: 409, message: "An API token with this name already exists." },
  "api_tokens.role_too_high": {
    status: 403,
    message: "An API token's role may not be higher than your own.",
  },
  "api_tokens.invalid": {
    status: 401,
    message: "The API token is not valid, was revoked, or has expired.",
  },
  "api_tokens.not_for_this_route": {
    status: 403,
    message: "API tokens act in one organisation only; this route needs a signed-in person.",
  },
  "msp.not_found": { status: 404, message: "There is no such client organisation." },
  "msp.not_staff": {
    status: 409,
    message: "Only members of the MSP organisation can be assigned to its clients.",
  },
  "msp.already_managed": { status: 409, message: "This organisation already has an MSP." },
  "msp.not_assigned": { status: 404, message: "This person is not assigned to the client organisation." },
  "gdpr.owner_only": {
    status: 403,
    message: "Only an Owner may export or erase another person's personal data.",
  },
  "gdpr.other_memberships": {
    status: 409,
    message:
      "This person also belongs to other organisations: remove them here instead, or ask those organisations too.",
  },
  "gdpr.not_self": { status: 409, message: "You cannot erase yourself; another Owner must do it." },
  "sso.not_configured": {
    status: 404,
    message: "Single sign-on of this kind is not set up (or is turned off) for this organisation.",
  },
  "sso.provider_unavailable": {
    status: 502,
    message: "The organisation's identity provider could not be reached or answered with something unusable.",
  },
  "sso.flow_invalid": {
    status: 401,
    message:
      "This single sign-on attempt has expired, was already used, or began in another browser: start again.",
  },
  "sso.response_invalid": {
    status: 401,
    message: "The identity provider's answer could not be verified, so nobody was signed in.",
  },
  "sso.email_not_verified": {
    status: 403,
    message: "The identity provider did not vouch for this email address (it is not verified).",
  },
  "sso.domain_not_allowed": {
    status: 403,
    message: "This organisation does not sign in people with this email domain through single sign-on.",
  },
  "sso.not_member": {
    status: 403,
    message:
      "An account with this email address exists but is not a member of this organisation: ask an Admin to invite it.",
  },
  "sso.owner_uses_password": {
    status: 403,
    message: "Owners sign in with their password (and second factor), not through the identity provider.",
  },
  "sso.required": {
    status: 403,
    message:
      "Your organisation signs its members in through its identity provider: use single sign-on instead of a password.",
  },
} as const satisfies Record<string, { status: number; message: string }>;
